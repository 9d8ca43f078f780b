"""Named leases in the store: one holder at a time, taken over when the holder stops renewing;
and each instance's mark of life (:class:`Presence`), by which its claims are known to be orphaned."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from store.db import is_postgres
from store.models import LeaseRow

try:
    import fcntl
except ImportError:  # Windows: no marks on SQLite there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("hotline.presence")


class StoreLease:
    """The :class:`bot.ports.Lease` protocol over the ``leases`` table."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]) -> None:
        """``now`` tells the current aware UTC time (the bot's injectable clock)."""
        self.sessions = sessions
        self.now = now

    async def acquire(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease if free or expired, or renew it if ours."""
        now = self.now()
        until = now + timedelta(seconds=ttl)
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(LeaseRow).where(LeaseRow.name == name,
                                       (LeaseRow.holder == holder) | (LeaseRow.expires_at < now))
                .values(holder=holder, expires_at=until))
            if result.rowcount:
                return True
        try:
            async with self.sessions.begin() as s:
                s.add(LeaseRow(name=name, holder=holder, expires_at=until))
            return True
        except IntegrityError:
            return False

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up if we hold it."""
        async with self.sessions.begin() as s:
            await s.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))


PRESENCE_LOCK_CLASS = 0x484C
"""First key of the instances' advisory locks on PostgreSQL (the second is ``hashtext(name)``)."""
KEEP_SECONDS = 1.0
"""How often the presence checks its connection on PostgreSQL."""


class Presence:
    """An instance's mark of life in the store, and a test of whether other instances are alive.

    Claims (outbox rows, inbox events, in-flight rate stamps) carry the claiming instance's name;
    a claim whose instance is dead is taken over at once instead of when its time runs out, and a
    claim of a live instance is never taken over early, however slow it is.

    PostgreSQL: a session advisory lock keyed by the name, on a connection of its own; the server
    drops it when that connection closes, which the kernel does the moment the process dies. A
    SQLite file: an ``flock`` on a file beside the database, dropped by the kernel the same way.
    Elsewhere (an in-memory store, no ``fcntl``) there is no mark: claims end only by time.
    """

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.generation = 0
        """Bumped whenever the mark was lost (its connection broke) and taken again: claims made
        before may have been taken over meanwhile."""
        self._held = False
        self._users = 0
        self._conn: AsyncConnection | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._file: int | None = None
        self._dir = _lock_dir(engine)

    @property
    def held(self) -> bool:
        """Whether the mark is held now (always True where the store keeps none)."""
        return self._held or not self.kept

    @property
    def kept(self) -> bool:
        """Whether this store keeps marks of life at all."""
        return is_postgres(self.engine) or self._dir is not None

    async def acquire(self) -> None:
        """Hold the mark (counted: the inbox and the sender of one instance share it)."""
        self._users += 1
        if self._users > 1:
            return
        if is_postgres(self.engine):
            try:
                await self._lock()
            except Exception as exc:  # the store is away: the keeper takes the mark when it is back
                log.warning("presence %s: not taken yet (%s)", self.name, type(exc).__name__)
            self._keeper = asyncio.create_task(self._keep(), name="presence-keeper")
        elif self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._dir / self.name, os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._file, self._held = fd, True

    async def release(self) -> None:
        """Give the mark up once its last user has stopped."""
        self._users = max(0, self._users - 1)
        if self._users:
            return
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        await self._drop_connection()
        if self._file is not None:
            assert self._dir is not None
            (self._dir / self.name).unlink(missing_ok=True)
            os.close(self._file)
            self._file = None
        self._held = False

    async def dead(self, names: Iterable[str]) -> set[str]:
        """Those of ``names`` (instance names) whose instance holds no mark: it is gone. Empty
        where the store keeps no marks (nobody can be known dead then)."""
        wanted = sorted(set(names) - {self.name})
        if not wanted or not self.kept:
            return set()
        if is_postgres(self.engine):
            async with self.engine.connect() as conn:
                rows = await conn.execute(text(
                    "SELECT n FROM unnest(CAST(:names AS text[])) AS n WHERE NOT EXISTS ("
                    " SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
                    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND l.classid = :cls AND l.objid = hashtext(n)::oid AND l.objsubid = 2)"),
                    {"names": wanted, "cls": PRESENCE_LOCK_CLASS})
                return set(rows.scalars())
        assert self._dir is not None
        return {n for n in wanted if _file_is_free(self._dir / n)}

    async def _lock(self) -> None:
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            taken = (await conn.execute(text("SELECT pg_try_advisory_lock(:cls, hashtext(:name))"),
                                        {"cls": PRESENCE_LOCK_CLASS, "name": self.name})).scalar()
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        if not taken:  # another instance's name hashes alike: it then looks alive a while longer
            await conn.invalidate()
            await conn.close()
            raise RuntimeError("presence key taken")
        self._conn, self._held = conn, True

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(KEEP_SECONDS)
            try:
                if self._conn is None:
                    await self._lock()
                    continue
                await asyncio.wait_for(self._conn.execute(text("SELECT 1")), KEEP_SECONDS * 5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._held:
                    self.generation += 1
                    log.warning("presence %s lost (%s): claims made before are checked again",
                                self.name, type(exc).__name__)
                self._held = False
                await self._drop_connection()

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                # Closed for good, not handed back to the pool: the lock goes with the session.
                await conn.invalidate()
                await conn.close()
            except Exception:  # a broken connection: the server has dropped the lock already
                pass


def instance_of(claimer: str) -> str:
    """The instance name in a claim (``instance`` or ``instance:task``)."""
    return claimer.split(":", 1)[0]


_PRESENCES: dict[tuple[int, str], Presence] = {}


def presence_of(engine: AsyncEngine, name: str) -> Presence:
    """The one :class:`Presence` of instance ``name`` on ``engine`` (shared by its inbox and sender)."""
    key = (id(engine), name)
    presence = _PRESENCES.get(key)
    if presence is None or presence.engine is not engine:
        presence = _PRESENCES[key] = Presence(engine, name)
    return presence


def _lock_dir(engine: AsyncEngine) -> Path | None:
    if fcntl is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(os.path.abspath(database + ".instances"))


def _file_is_free(path: Path) -> bool:
    """Whether no live process holds ``path``'s lock (then the dead one's file is removed)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)
