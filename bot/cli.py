"""The ``hotline-bot`` command line (DESIGN §4): serve, import, db upgrade, check, deadline,
report and console-link. Errors are one readable line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
from datetime import date, datetime
from pathlib import Path

from bot.config import Config, ConfigError, load_config


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"配置错误 / config error in {path}:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web server, senders and scheduler."""
    from aiohttp import web

    from bot.app import create_app

    config = _load(args.config)
    app = create_app(config)
    app.on_startup.append(_freeze_startup_objects)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    print(f"Hotline Bot on http://{host}:{port}/  (console: http://{host}:{port}/console)", flush=True)
    # The access log costs about a quarter of a webhook's ack time; it is kept for -v only.
    web.run_app(app, host=host, port=port, print=None, shutdown_timeout=10, loop=_event_loop(),
                access_log=logging.getLogger("aiohttp.access") if args.verbose else None)
    return 0


async def _freeze_startup_objects(_app: object) -> None:
    """Move everything built at start (modules, models, config, compiled statements) out of the
    garbage collector's sight: a full collection walked all of it, a ~0.1 s pause in the middle
    of the intake's traffic, for objects that live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (a dependency off Windows): the intake and webhook paths
    spend a third of their time in the event loop and its transports, and uvloop's are faster."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def cmd_db(args: argparse.Namespace) -> int:
    """``db upgrade``: apply migrations."""
    from store.db import create_engine
    from store.migrate import current_revision, upgrade

    config = _load(args.config)

    async def run() -> str | None:
        engine = create_engine(config.store.url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    rev = asyncio.run(run())
    print(f"store at revision {rev}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config and report calendar years the working-day calendar does not know."""
    from bot.app import build_calendar

    config = _load(args.config)
    cal = build_calendar(config)
    today = date.today()
    years = cal.uncovered_years(date(today.year, 1, 1), date(today.year + 1, 12, 31))
    print(f"配置有效 / config OK: {len(config.units)} units, {len(config.people)} people, "
          f"preset {config.procedure.preset}")
    for year in years:
        extra = sum(1 for d in config.calendar.extra_holidays if d.year == year)
        print(f"警告 / warning: calendar year {year} is not covered by chinesecalendar; "
              f"falling back to Monday-Friday plus {extra} extra holiday(s) from the config. "
              f"Add the official holidays to [calendar] extra_holidays / extra_workdays.")
    return 0


def cmd_deadline(args: argparse.Namespace) -> int:
    """Print what the rules give for such a ticket, as one JSON object."""
    from bot.app import build_calendar
    from bot.deadlines import TicketFacts
    from bot.presets import build_rulebook

    config = _load(args.config)
    try:
        received = datetime.fromisoformat(args.received)
    except ValueError:
        print(f"--received: not an ISO 8601 time: {args.received!r}", file=sys.stderr)
        return 2
    if received.tzinfo is None:
        print("--received needs a UTC offset, e.g. 2026-11-23T09:00:00+08:00", file=sys.stderr)
        return 2
    try:
        book = build_rulebook(args.preset or config.procedure.preset, config.procedure.rules)
    except ValueError as exc:
        print(f"--preset: {exc}", file=sys.stderr)
        return 2
    facts = TicketFacts(source=args.source, kind=args.kind, category=args.category, channel=args.channel,
                        tags=frozenset(args.tag or ()))
    cal = build_calendar(config)
    result = book.compute(cal, received, facts)
    print(json.dumps(result.to_json(cal), ensure_ascii=False))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Bulk-register tickets from an .xlsx or .csv export; idempotent."""
    from bot.importing import run_import

    config = _load(args.config)
    path = Path(args.file)
    if not path.exists():
        print(f"file not found: {path}", file=sys.stderr)
        return 2
    summary = asyncio.run(run_import(config, path))
    print(summary.render())
    return 0 if summary.rejected == 0 else 1


def cmd_report(args: argparse.Namespace) -> int:
    """Write the monthly report files."""
    try:
        from scheduler.reports import write_monthly_report
    except ImportError:
        print("the scheduler's reports are not installed", file=sys.stderr)
        return 2
    config = _load(args.config)
    out = Path(args.out)
    files = asyncio.run(write_monthly_report(config, args.month, out, unit=args.unit))
    for f in files:
        print(f)
    return 0


def cmd_console_link(args: argparse.Namespace) -> int:
    """Print a one-time console login link for a person."""
    try:
        from adapters.console_auth import one_time_link
    except ImportError:
        print("the console is not installed", file=sys.stderr)
        return 2
    config = _load(args.config)
    try:
        print(one_time_link(config, args.person))
    except KeyError:
        print(f"no person named {args.person!r} in the config", file=sys.stderr)
        return 2
    return 0


def cmd_password_hash(args: argparse.Namespace) -> int:
    """Read a console password (twice on a terminal, once from a pipe) and print its
    ``password_hash`` for the config: the office never writes a password into the file."""
    import getpass

    from adapters.console_auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("密码 / password: ")
        if getpass.getpass("再输一次 / again: ") != password:
            print("两次输入的密码不一致 / the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("密码至少 8 个字符 / at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    p = argparse.ArgumentParser(prog="hotline-bot", description="12345 热线工单机器人 / Hotline Bot")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("-c", "--config", required=True, help="TOML config file")
        return sp

    sp = with_config(sub.add_parser("serve", help="run the web server, senders and scheduler"))
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.set_defaults(func=cmd_serve)

    sp = with_config(sub.add_parser("import", help="bulk-register tickets from .xlsx/.csv"))
    sp.add_argument("file")
    sp.set_defaults(func=cmd_import)

    db = sub.add_parser("db", help="store maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    with_config(dbsub.add_parser("upgrade", help="apply migrations")).set_defaults(func=cmd_db)

    with_config(sub.add_parser("check", help="validate the config, report calendar gaps")).set_defaults(
        func=cmd_check)

    sp = with_config(sub.add_parser("deadline", help="print the deadlines the rules give, as JSON"))
    sp.add_argument("--received", required=True, help="ISO 8601 with offset")
    sp.add_argument("--source", default="12345")
    sp.add_argument("--kind")
    sp.add_argument("--category")
    sp.add_argument("--channel")
    sp.add_argument("--tag", action="append", help="repeat for several tags")
    sp.add_argument("--preset")
    sp.set_defaults(func=cmd_deadline)

    sp = with_config(sub.add_parser("report", help="write the monthly report files"))
    sp.add_argument("--month", required=True, help="YYYY-MM")
    sp.add_argument("--unit")
    sp.add_argument("--out", default=".")
    sp.set_defaults(func=cmd_report)

    sub.add_parser("password-hash", help="print the password_hash of a console password read from stdin"
                   ).set_defaults(func=cmd_password_hash)

    sp = with_config(sub.add_parser("console-link", help="print a one-time console login link"))
    sp.add_argument("person")
    sp.set_defaults(func=cmd_console_link)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up chatter on import
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
