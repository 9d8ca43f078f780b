"""Mirror the config's units, people and roles into the store (the config is the source of truth)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Person, RoleGrant, Unit


async def mirror_directory(s: AsyncSession, units: list[tuple[str, str, str | None]],
                           people: list[tuple[str, str, dict[str, str], list[tuple[str, str]]]]) -> dict[str, int]:
    """Upsert units and people, replace roles; returns person name → store id.

    People are never deleted (audit rows point at them); their roles are.
    """
    existing_units = {u.code: u for u in (await s.execute(select(Unit))).scalars()}
    for code, name, parent in units:
        row = existing_units.get(code)
        if row is None:
            s.add(Unit(code=code, name=name, parent=parent))
        else:
            row.name, row.parent = name, parent
    await s.flush()
    existing = {p.name: p for p in (await s.execute(select(Person))).scalars()}
    for name, mobile, ids, _roles in people:
        row = existing.get(name)
        if row is None:
            row = Person(name=name, mobile=mobile, ids=ids)
            s.add(row)
            existing[name] = row
        else:
            row.mobile, row.ids = mobile, ids
    await s.flush()
    await s.execute(delete(RoleGrant))
    for name, _mobile, _ids, roles in people:
        for unit, role in set(roles):
            s.add(RoleGrant(person_id=existing[name].id, unit_code=unit, role=role))
    return {name: row.id for name, row in existing.items()}
