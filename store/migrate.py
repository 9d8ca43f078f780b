"""Applying Alembic migrations (``hotline-bot db upgrade``; ``serve`` does it on an empty store)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic config pointing at our migrations and ``url``."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade(connection: Connection, url: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


MIGRATION_LOCK = 0x484F544C  # "HOTL": PostgreSQL advisory lock key held while migrating


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the store to the newest revision (idempotent).

    On PostgreSQL a transaction-scoped advisory lock makes instances that start together migrate
    one after the other (the second finds nothing to do).
    """
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        await conn.run_sync(_upgrade, url)


async def is_empty(engine: AsyncEngine) -> bool:
    """True when the store has no tables of ours yet."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
    return "tickets" not in names and "alembic_version" not in names


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the store is at, or None."""
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str:
    """The newest revision among our migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
