"""The ``hotline-bot`` command line (README, "Command line"): serve, import, db upgrade, check, deadline,
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
from typing import NoReturn

from bot import plugins as plugins  # registers the built-in platforms, SMS providers, commands
from bot.config import Config, ConfigError, load_config
from bot.logs import setup_logging, use_zone
from bot.preflight import PreflightError


def _load(path: str) -> Config:
    """The config, or one line on stderr and exit 2."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        _fail(f"配置错误 / config error in {path}: {_one_line(str(exc))}")
    use_zone(config.calendar.timezone)  # log times in the office's zone, offset shown
    return config


def _one_line(text: str) -> str:
    """Several problems on one line: a person reads them in order, a script greps one line."""
    return "；".join(" ".join(part.split()) for part in text.splitlines() if part.strip())


def _fail(message: str) -> NoReturn:
    print(_one_line(message), file=sys.stderr, flush=True)
    raise SystemExit(2)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web server, senders and scheduler.

    Order matters: the config, then whether it may be exposed on that host, then the listening
    socket (a port in use fails before anything is migrated or seeded), then the store.
    """
    from aiohttp import web

    from bot import preflight
    from bot.app import create_app

    config = _load(args.config)
    host = args.host if args.host is not None else config.server.host
    port = args.port if args.port is not None else config.server.port
    exposed = preflight.exposure_problem(config, host)
    problems = preflight.credential_problems(config)
    if exposed or problems:
        raise PreflightError(*([exposed] if exposed else []), *problems)
    sock = preflight.bind_listener(host, port)
    try:
        asyncio.run(preflight.ready_store(config))
        app = create_app(config)
    except BaseException:
        sock.close()
        raise
    app.on_startup.append(_freeze_startup_objects)
    port = sock.getsockname()[1]
    print(f"Hotline Bot on http://{host}:{port}/  (console: http://{host}:{port}/console)", flush=True)
    # The access log costs about a quarter of a webhook's ack time; it is kept for -v only.
    web.run_app(app, sock=sock, print=None, shutdown_timeout=10, loop=_event_loop(),
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
    from bot.preflight import check_store
    from store.db import create_engine
    from store.migrate import current_revision, upgrade

    config = _load(args.config)

    async def run() -> str | None:
        await check_store(config.store.url)
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
    """Validate the config, the store URL (driver, server, database, folder) and the platform and
    SMS credentials; report calendar years the working-day calendar does not know."""
    from bot import preflight
    from bot.bootstrap import build_calendar
    from store.migrate import head_revision

    config = _load(args.config)
    problems = preflight.credential_problems(config)
    exposed = preflight.exposure_problem(config, config.server.host)
    if exposed or problems:
        raise PreflightError(*([exposed] if exposed else []), *problems)
    url = asyncio.run(preflight.check_store(config.store.url))
    revision, empty = asyncio.run(preflight.store_state(config.store.url))
    cal = build_calendar(config)
    today = date.today()
    years = cal.uncovered_years(date(today.year, 1, 1), date(today.year + 1, 12, 31))
    print(f"配置有效 / config OK: {len(config.units)} units, {len(config.people)} people, "
          f"preset {config.procedure.preset}")
    shown = url.render_as_string(hide_password=True)
    if empty:
        state = "空库，启动时自动建表 / empty, serve creates the tables"
    elif revision == head_revision():
        state = f"版本 {revision}（最新） / at revision {revision}"
    else:
        state = f"版本 {revision}，启动时升级 / at {revision}, serve upgrades it to {head_revision()}"
    print(f"数据库可用 / store OK: {shown}: {state}")
    for year in sorted(set(config.calendar.years) | {today.year, today.year + 1}):
        given = config.calendar.years.get(year)
        if given is not None:
            print(f"日历 / calendar {year}: 已覆盖 / covered by [calendar.years.{year}] "
                  f"({len(given.holidays)} holidays, {len(given.workdays)} workdays)")
        elif year not in years:
            print(f"日历 / calendar {year}: 已覆盖 / covered by chinesecalendar")
    for year in years:
        extra = sum(1 for d in config.calendar.extra_holidays if d.year == year)
        print(f"警告 / warning: calendar year {year} is not covered by chinesecalendar; "
              f"falling back to Monday-Friday plus {extra} extra holiday(s) from the config. "
              f"Add that year's official schedule as [calendar.years.{year}] holidays / workdays "
              f"(see docs/operations.md).")
    return 0


def cmd_deadline(args: argparse.Namespace) -> int:
    """Print what the rules give for such a ticket, as one JSON object."""
    from bot.bootstrap import build_calendar
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
    """Bulk-register tickets from an .xls, .xlsx or .csv export; idempotent."""
    from adapters.importing import ImportFileError, run_import

    config = _load(args.config)
    path = Path(args.file)
    if not path.exists():
        print(f"找不到文件 file not found: {path}", file=sys.stderr)
        return 2
    from bot.preflight import check_store

    asyncio.run(check_store(config.store.url))  # run_import then migrates the store as serve does
    try:
        summary = asyncio.run(run_import(config, path))
    except ImportFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(summary.render())
    return 0 if summary.rejected == 0 else 1


def cmd_report(args: argparse.Namespace) -> int:
    """Write the monthly report files and print the month's figures; ``--unit`` is a code or a name."""
    from bot.bootstrap import build_calendar
    from bot.preflight import ready_store
    from bot.units import resolve_unit
    from scheduler.reports import MonthReport, figures_table, monthly_report_files, parse_month, reports_dir

    config = _load(args.config)
    try:
        parse_month(build_calendar(config), args.month)
    except ValueError:
        _fail(f"--month：月份格式应为 YYYY-MM，例如 2026-11（收到 {args.month!r}） / --month must look like 2026-11")
    unit = None
    if args.unit is not None:
        unit = resolve_unit(config.units, args.unit)
        if unit is None:
            known = "、".join(f"{u.code}（{u.name}）" for u in config.units[:8])
            _fail(f"--unit：配置中没有单位 {args.unit!r}，可用单位代码或名称：{known} / --unit: unknown unit")
    out = Path(args.out) if args.out else reports_dir(config)

    async def run() -> tuple[MonthReport, list[Path]]:
        await ready_store(config)
        return await monthly_report_files(config, args.month, out, unit)

    report, files = asyncio.run(run())
    print(figures_table(report, unit))
    for f in files:
        print(f"已写入 / written: {f}")
    return 0


def cmd_console_link(args: argparse.Namespace) -> int:
    """Print a one-time console login link for a person."""
    try:
        from web.console.auth import one_time_link
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

    from web.console.auth import hash_password

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


def cmd_model(args: argparse.Namespace) -> int:
    """``model evaluate`` (a labelled file, no config) and ``model train`` (the store's history)."""
    from adapters import reading_cli

    if args.model_command == "evaluate":
        try:
            result = reading_cli.model_evaluate(args)
        except reading_cli.ReadingFileError as exc:
            _fail(str(exc))
        reading_cli.print_evaluation(result, args.json)
        return 0
    config = _load(args.config)
    print(asyncio.run(reading_cli.train_from_store(config)))
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    """``topics``: the hot topics of a period of the store, or of an exported file."""
    from adapters import reading_cli

    if args.file:
        if not args.text_columns:
            _fail("请用 --text-columns 指定文本列，如 --text-columns 留言主题,留言详情")
        try:
            found = reading_cli.file_topics(args)
        except reading_cli.ReadingFileError as exc:
            _fail(str(exc))
    else:
        if not (args.config and args.date_from and args.date_to):
            _fail("请写 topics -c 配置文件 --from 2026-11-01 --to 2026-11-30，"
                  "或 topics --file 导出文件 --text-columns 留言主题,留言详情")
        config = _load(args.config)
        found = asyncio.run(reading_cli.store_topics(config, args.date_from, args.date_to, args.top))
    reading_cli.print_topics(found, args.json)
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

    sp = with_config(sub.add_parser("import", help="bulk-register tickets from .xls/.xlsx/.csv"))
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
    sp.add_argument("--unit", help="unit code or name (default: every unit)")
    sp.add_argument("--out", help="folder for the files (default: reports/ beside a SQLite store, "
                                  "else the temp directory)")
    sp.set_defaults(func=cmd_report)

    sub.add_parser("password-hash", help="print the password_hash of a console password read from stdin"
                   ).set_defaults(func=cmd_password_hash)

    model = sub.add_parser("model", help="the category and unit suggestion model")
    msub = model.add_subparsers(dest="model_command", required=True)
    with_config(msub.add_parser("train", help="train from the store's history; keep the better model")
                ).set_defaults(func=cmd_model)
    sp = msub.add_parser("evaluate", help="train on part of a labelled file and score the rest")
    sp.add_argument("--file", required=True, help=".csv (UTF-8/BOM/GB18030), .csv.gz, .xlsx, .xls")
    sp.add_argument("--text-columns", required=True, help="comma-separated, e.g. 留言主题,留言详情")
    sp.add_argument("--label", required=True, help="the label column, e.g. 一级标签")
    sp.add_argument("--train-fraction", type=float, default=0.7)
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--user-dict", help="jieba user dictionary: place and organisation names kept whole")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_model)

    sp = sub.add_parser("topics", help="hot topics of a period (store) or of an exported file")
    sp.add_argument("-c", "--config", help="TOML config file (with --from/--to)")
    sp.add_argument("--from", dest="date_from", type=date.fromisoformat, help="YYYY-MM-DD")
    sp.add_argument("--to", dest="date_to", type=date.fromisoformat, help="YYYY-MM-DD, inclusive")
    sp.add_argument("--file", help=".csv, .csv.gz, .xlsx, .xls export")
    sp.add_argument("--text-columns", help="comma-separated, e.g. 留言主题,留言详情")
    sp.add_argument("--time-column")
    sp.add_argument("--id-column")
    sp.add_argument("--weight-column", help="e.g. 点赞数")
    sp.add_argument("--user-dict", help="jieba user dictionary: the office's place names")
    sp.add_argument("--top", type=int, default=10)
    sp.add_argument("--json", action="store_true", help='print {"topics": [...]}')
    sp.set_defaults(func=cmd_topics)

    sp = with_config(sub.add_parser("console-link", help="print a one-time console login link"))
    sp.add_argument("person")
    sp.set_defaults(func=cmd_console_link)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)  # in the default zone until the config names its own
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ConfigError, PreflightError) as exc:
        _fail(str(exc))
    except OSError as exc:  # EADDRINUSE, EACCES, ENOENT… raised after the checks
        where = f"：{exc.filename}" if exc.filename else ""
        _fail(f"系统错误{where}：{exc.strerror or exc} / {type(exc).__name__}: {exc.strerror or exc}")
    except _store_errors() as exc:
        reason = getattr(exc, "orig", None) or exc
        _fail(f"数据库错误 / store error: {reason}")


def _store_errors() -> tuple[type[BaseException], ...]:
    """The store's connection and operational errors (SQLAlchemy's, asyncpg's)."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    found: list[type[BaseException]] = [OperationalError, DBAPIError]
    try:
        import asyncpg

        found.append(asyncpg.PostgresError)
    except ImportError:
        pass
    return tuple(found)


if __name__ == "__main__":
    raise SystemExit(main())
