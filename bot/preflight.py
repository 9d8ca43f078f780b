"""Start-up checks shared by ``hotline-bot check``, ``serve`` and the commands that open the store.

Each mistake becomes a :class:`PreflightError` whose message is one line, Chinese first and the
English after it, naming the config key (``store.url``, ``server.port``,
``platforms.wecom.main.aes_key``…) and the fix. The CLI prints that line and exits with 2.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import ipaddress
import os
import socket
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.calendar import PACKAGE_YEARS, WorkCalendar
from bot.platform_config import platform_bots
from bot.platforms import platforms
from store.db import create_engine
from store.migrate import current_revision, head_revision, is_empty, upgrade

if TYPE_CHECKING:
    from bot.config import Config

#: The async driver each supported backend needs, and the module that provides it.
ASYNC_DRIVERS: dict[str, tuple[str, str]] = {
    "sqlite": ("sqlite+aiosqlite", "aiosqlite"),
    "postgresql": ("postgresql+asyncpg", "asyncpg"),
}
#: Values of ``config.example.toml`` that must not reach a server other people can reach.
EXAMPLE_PREFIXES = ("change-me", "demo-")
CALENDAR_HORIZON_DAYS = 60


class PreflightError(Exception):
    """A mistake the person starting the bot must fix; ``str()`` is one line."""

    def __init__(self, *problems: str) -> None:
        self.problems = [p for p in problems if p]
        super().__init__("；".join(" ".join(p.split()) for p in self.problems))


# ---- the store -----------------------------------------------------------------------------------

def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def parse_store_url(raw: str) -> URL:
    """``store.url`` parsed and checked offline: a supported backend with its async driver
    installed and, for SQLite, an existing and writable folder."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise PreflightError(f"store.url：无法识别的数据库地址 {raw!r}，应形如 sqlite+aiosqlite:///hotline.db "
                             "/ store.url is not a database URL") from None
    backend = url.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise PreflightError(f"store.url：不支持的数据库 {url.drivername}，请用 SQLite 或 PostgreSQL "
                             f"/ store.url: only sqlite+aiosqlite:// and postgresql+asyncpg:// are supported")
    wanted, module = ASYNC_DRIVERS[backend]
    if url.drivername != wanted:
        fixed = _shown(url.set(drivername=wanted))
        raise PreflightError(f"store.url：需要异步驱动，请写成 {fixed} "
                             f"/ store.url needs the async driver: write {wanted}:// instead of {url.drivername}://")
    try:
        importlib.import_module(module)
    except ImportError:
        raise PreflightError(f"store.url：未安装数据库驱动 {module}，请执行 pip install {module} "
                             f"/ store.url: the driver {module} is not installed") from None
    if backend == "sqlite":
        _check_sqlite_path(url)
    return url


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (relative paths are relative to the working folder), or None."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _check_sqlite_path(url: URL) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    folder = path.resolve().parent
    if not folder.is_dir():
        raise PreflightError(f"store.url：SQLite 数据库所在文件夹 {folder} 不存在，请先创建 "
                             f"/ store.url: the folder {folder} does not exist")
    # WAL mode keeps -wal and -shm files beside the database: the folder must be writable too.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PreflightError(f"store.url：没有权限写入文件夹 {folder} "
                             f"/ store.url: the folder {folder} is not writable")
    if path.exists():
        if path.is_dir():
            raise PreflightError(f"store.url：{path} 是文件夹，不是数据库文件 / store.url: {path} is a folder")
        if not os.access(path, os.R_OK | os.W_OK):
            raise PreflightError(f"store.url：没有权限读写 {path} / store.url: {path} is not readable and writable")


def _sqlite_opens(path: Path) -> None:
    """An existing file must be a SQLite database (not, say, the config copied over it)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise PreflightError(f"store.url：无法打开 {path}（{exc}） / store.url: cannot open {path}") from None
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise PreflightError(f"store.url：{path} 不是可用的 SQLite 数据库（{exc}） "
                             f"/ store.url: {path} is not a SQLite database") from None
    finally:
        conn.close()


async def _postgres_answers(url: URL, seconds: float) -> None:
    import asyncpg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    try:
        conn = await asyncpg.connect(dsn, timeout=seconds)
    except asyncpg.InvalidCatalogNameError:
        raise PreflightError(f"store.url：数据库 {url.database} 不存在，请先创建（createdb {url.database}） "
                             f"/ store.url: database {url.database!r} does not exist on {where}") from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        raise PreflightError(f"store.url：数据库用户名或密码不正确（{where}） "
                             f"/ store.url: authentication failed for user {url.username!r}") from None
    except (OSError, TimeoutError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise PreflightError(f"store.url：无法连接数据库服务器 {where}（{reason}） "
                             f"/ store.url: cannot reach the database server at {where}") from None
    except asyncpg.PostgresError as exc:
        raise PreflightError(f"store.url：数据库拒绝连接（{exc}） / store.url: the server refused: {exc}") from None
    await conn.close()


async def check_store(raw: str, *, connect_seconds: float = 5.0) -> URL:
    """:func:`parse_store_url`, then the server answers and the database exists (PostgreSQL) or an
    existing file is a SQLite database. A SQLite file that does not exist yet is fine: it is
    created on first use."""
    url = parse_store_url(raw)
    path = sqlite_path(url)
    if path is not None and path.exists():
        await asyncio.to_thread(_sqlite_opens, path)
    elif url.get_backend_name() == "postgresql":
        await _postgres_answers(url, connect_seconds)
    return url


async def store_state(raw: str) -> tuple[str | None, bool]:
    """(revision, empty) of a store that :func:`check_store` accepted; never creates a SQLite file."""
    url = make_url(raw)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None, True
    engine = create_engine(raw)
    try:
        if await is_empty(engine):
            return None, True
        return await current_revision(engine), False
    finally:
        await engine.dispose()


async def ready_store(config: Config) -> str:
    """Check the store, then bring it to the newest revision as ``serve`` does; the revision.

    Commands that read the store call this, so a fresh folder or a store left behind by an update
    works without ``db upgrade`` first.
    """
    await check_store(config.store.url)
    revision, empty = await store_state(config.store.url)
    if not empty and revision is None:
        raise PreflightError("store.url：数据库里已有数据表但没有迁移版本，不是本机器人的数据库，或请先运行 "
                             "hotline-bot db upgrade / store.url: tables without a migration revision")
    if revision != head_revision():
        engine = create_engine(config.store.url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
    return head_revision()


# ---- credentials ---------------------------------------------------------------------------------

def credential_problems(config: Config) -> list[str]:
    """Credentials a platform's mode needs but the config leaves empty, and wrongly shaped SMS ids.

    The key shapes themselves (WeCom ``aes_key``, integer ``agent_id``…) are checked when the
    config loads; this adds what only makes sense once the mode is known.
    """
    problems: list[str] = []
    for spec in platforms():
        for name, bot in platform_bots(config, spec.name).items():
            problems += spec.credential_problems(name, bot)
    problems += config.sms.preflight()
    return problems


# ---- exposure ------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name (or "" = every address): assume others can reach it


def example_values(config: Config) -> list[str]:
    """Key paths whose value is still one of ``config.example.toml``'s placeholders."""
    def walk(node: Any, path: str) -> Iterator[str]:
        if isinstance(node, str):
            if node.startswith(EXAMPLE_PREFIXES):
                yield path
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{path}[{i}]")

    return list(walk(config.model_dump(mode="json", by_alias=True, exclude={"path"}), ""))


def exposure_problem(config: Config, host: str) -> str | None:
    """Why the bot must not listen on ``host`` with this config, or None."""
    if is_loopback(host):
        return None
    keys: list[str] = []
    console = config.platforms.console
    if console.enabled and not console.require_login:
        keys.append("platforms.console.require_login（改为 true）")
    keys += [f"{k}（仍是示例值）" for k in example_values(config)]
    if not keys:
        return None
    return (f"拒绝在 {host or '所有地址'} 上对外提供服务，请先修改：{'、'.join(keys)} "
            f"/ refusing to listen on a non-loopback [server] host with example or open settings")


# ---- the listening socket ------------------------------------------------------------------------

def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening): taken before the store is touched, so
    a port in use fails at once and leaves nothing half-prepared."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise PreflightError(f"server.host：无法解析主机名 {host!r} / cannot resolve [server] host {host!r}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # as asyncio does: a restart may reuse a port in TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PreflightError(f"server.port：端口 {port} 已被占用，请关闭占用它的程序或换一个端口（--port） "
                                 f"/ port {port} is already in use") from None
        if exc.errno == errno.EACCES:
            raise PreflightError(f"server.port：没有权限监听端口 {port}（1024 以下需要管理员权限） "
                                 f"/ permission denied for port {port}") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise PreflightError(f"server.host：{host} 不是本机的地址 / {host} is not an address of this machine"
                                 ) from None
        raise
    return sock


# ---- the calendar --------------------------------------------------------------------------------

def calendar_notice(calendar: WorkCalendar, today: date, days: int = CALENDAR_HORIZON_DAYS) -> str | None:
    """A short Chinese notice when the next ``days`` days reach a year without official holidays."""
    missing = calendar.uncovered_days(today, days)
    if not missing:
        return None
    gap = missing[0]
    return (f"节假日安排尚未覆盖 {gap.isoformat()} 起的日期（已知 {PACKAGE_YEARS[0]}–{PACKAGE_YEARS[1]} 年）："
            f"时限暂按周一至周五计算。请升级 chinesecalendar，或在 [calendar.years.{gap.year}] "
            f"中填写该年的放假与调休（见 docs/operations.md）。")
