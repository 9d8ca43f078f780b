"""Reading tickets (工单) from the hotline system's Excel (.xlsx) or CSV export.

A pure reader: no store, no network. :func:`read_tickets` turns each data row into an
:class:`ImportRow` whose ``data`` is shaped like the ticket intake body (``docs/api.md``), or into
one :class:`RowError` per value it cannot parse. It does not check intake semantics (lengths,
allowed keys, required values); the intake schema does that. A bad row never stops the good ones.

>>> DEFAULT_HEADERS["工单编号"]
'number'
>>> normalize_header(" 工单编号（必填） ")
'工单编号'
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from datetime import timezone as fixed_zone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_HEADERS",
    "INTAKE_KEYS",
    "REQUIRED_KEYS",
    "WORKBOOK_SUFFIXES",
    "ColumnNotice",
    "ImportRow",
    "RowError",
    "UnreadableFile",
    "normalize_header",
    "read_tickets",
]

#: Chinese column header -> intake key path (``citizen.name`` is ``{"citizen": {"name": ...}}``).
DEFAULT_HEADERS: dict[str, str] = {
    # number
    "工单编号": "number",
    "工单号": "number",
    "工单编码": "number",
    "编号": "number",
    "单号": "number",
    "诉求编号": "number",
    "受理编号": "number",
    "案件编号": "number",
    "流水号": "number",
    # received_at
    "登记时间": "received_at",
    "受理时间": "received_at",
    "来电时间": "received_at",
    "登记日期": "received_at",
    "受理日期": "received_at",
    "来电日期": "received_at",
    "创建时间": "received_at",
    "提交时间": "received_at",
    "反映时间": "received_at",
    # content
    "诉求内容": "content",
    "诉求原文": "content",
    "诉求描述": "content",
    "来电内容": "content",
    "反映内容": "content",
    "工单内容": "content",
    "问题描述": "content",
    "内容": "content",
    # title
    "诉求标题": "title",
    "工单标题": "title",
    "标题": "title",
    "主题": "title",
    "诉求主题": "title",
    # kind
    "工单类型": "kind",
    "诉求类型": "kind",
    "来电类型": "kind",
    "业务类型": "kind",
    "类型": "kind",
    # category
    "工单分类": "category",
    "工单类别": "category",
    "办理类别": "category",
    "办理类型": "category",
    "分类": "category",
    "类别": "category",
    # channel
    "来源渠道": "channel",
    "渠道": "channel",
    "受理渠道": "channel",
    "来电渠道": "channel",
    "反映渠道": "channel",
    "渠道来源": "channel",
    # tags
    "标签": "tags",
    "工单标签": "tags",
    "标记": "tags",
    "特殊标记": "tags",
    # deadline
    "限办时间": "deadline",
    "限办日期": "deadline",
    "办理时限": "deadline",
    "办理期限": "deadline",
    "办结时限": "deadline",
    "办结期限": "deadline",
    "截止时间": "deadline",
    # unit
    "承办单位": "unit",
    "承办部门": "unit",
    "办理单位": "unit",
    "主办单位": "unit",
    "责任单位": "unit",
    "单位编码": "unit",
    "承办单位编码": "unit",
    # address (where the matter is)
    "诉求地址": "address",
    "事发地址": "address",
    "事发地点": "address",
    "发生地址": "address",
    "问题地址": "address",
    "地址": "address",
    # citizen
    "来电人": "citizen.name",
    "来电人姓名": "citizen.name",
    "诉求人": "citizen.name",
    "诉求人姓名": "citizen.name",
    "反映人": "citizen.name",
    "市民姓名": "citizen.name",
    "姓名": "citizen.name",
    "联系人": "citizen.name",
    "联系电话": "citizen.phone",
    "来电号码": "citizen.phone",
    "来电电话": "citizen.phone",
    "诉求人电话": "citizen.phone",
    "回复电话": "citizen.phone",
    "手机号": "citizen.phone",
    "手机号码": "citizen.phone",
    "电话": "citizen.phone",
    "联系方式": "citizen.phone",
    "来电人地址": "citizen.address",
    "诉求人地址": "citizen.address",
    "联系地址": "citizen.address",
    "通讯地址": "citizen.address",
    "家庭住址": "citizen.address",
    "住址": "citizen.address",
    # source
    "来源": "source",
    "工单来源": "source",
    "来源系统": "source",
}

#: Every key path a header may map to (the intake body's keys, ``docs/api.md``).
INTAKE_KEYS: frozenset[str] = frozenset(
    {
        "source",
        "number",
        "received_at",
        "content",
        "kind",
        "category",
        "channel",
        "tags",
        "title",
        "address",
        "citizen.name",
        "citizen.phone",
        "citizen.address",
        "deadline",
        "unit",
    }
)

#: Columns without which no row can be a ticket, with the header named in the error.
REQUIRED_KEYS: dict[str, str] = {"number": "工单编号", "received_at": "登记时间", "content": "诉求内容"}

#: File name endings read as workbooks (python-calamine) and as delimited text.
WORKBOOK_SUFFIXES: frozenset[str] = frozenset({".xls", ".xlsx", ".xlsm", ".xlsb", ".ods"})
TEXT_SUFFIXES: frozenset[str] = frozenset({".csv", ".tsv", ".txt"})

_MAX_SERIAL = 2_958_466  # Excel's day number of 10000-01-01
_EXCEL_EPOCH = datetime(1899, 12, 30)  # day 0 of the 1900 date system (calamine converts dated cells itself)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_TIME_KEYS = frozenset({"received_at", "deadline"})
_TAG_SPLIT = re.compile(r"[，,、;；/\s]+")
_TRAILING_NOTE = re.compile(r"(?:\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】)$")
_DATETIME = re.compile(
    r"""
    (?P<y>\d{4}) \s* [-/.年] \s* (?P<mo>\d{1,2}) \s* [-/.月] \s* (?P<d>\d{1,2}) \s* 日?
    (?:
        (?:\s*T\s*|\s+|(?<=日))
        (?P<h>\d{1,2}) \s* [:时点] \s* (?P<mi>\d{1,2})
        (?: \s* [:分] \s* (?P<s>\d{1,2}) (?:\.(?P<f>\d{1,6})\d*)? \s* 秒? | \s* 分 )?
    )?
    \s* (?P<tz>Z|[+-]\d{2}:?\d{2})?
    """,
    re.VERBOSE,
)
_COMPACT_DATETIME = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?"
)


#: What a file opener gives: its rows as value tuples, and the workbook's date epoch (workbooks only).
_Source = tuple[Iterator[tuple[Any, ...]], datetime | None]


@dataclass(frozen=True)
class ImportRow:
    """One readable data row: ``line`` as Excel numbers it (header is line 1 in a plain export)."""

    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    """A value that cannot be parsed (or a missing column, then ``line`` is the header's)."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class ColumnNotice:
    """Header cells on ``line`` that name no intake field: their columns are ignored."""

    line: int
    unknown: tuple[str, ...]


class UnreadableFile(ValueError):
    """The file cannot be read as an export (corrupt, wrong type, password, empty); the message
    is one Chinese line for the office."""


def normalize_header(text: object) -> str:
    """Canonical form of a column header, for matching.

    Full-width characters become half-width (NFKC), all whitespace goes, and so do trailing
    notes in brackets (``（必填）``, ``[必填]``, ``【选填】``), required-marks (``*``) and colons.
    ASCII letters are lowered.

    >>> normalize_header("* 联系电话（手机）：")
    '联系电话'
    """
    if text is None:
        return ""
    name = unicodedata.normalize("NFKC", str(text))
    name = "".join(name.split()).lower()
    previous = None
    while name != previous:
        previous = name
        name = name.strip("*:")
        name = _TRAILING_NOTE.sub("", name)
    return name


@dataclass(frozen=True, slots=True)
class _Column:
    """A file column that feeds an intake key; lower ``rank`` wins when several feed one key."""

    index: int
    path: tuple[str, ...]
    rank: tuple[int, int]


def read_tickets(
    path: Path,
    *,
    headers: Mapping[str, str] | None = None,
    default_source: str = "12345",
    timezone: str = "Asia/Shanghai",
    day_end: time = time(17, 30),
    report_unknown: bool = False,
) -> Iterator[ImportRow | RowError | ColumnNotice]:
    """Read tickets from an .xls / .xlsx (first sheet) or .csv export, one result per data row.

    ``headers`` is merged over :data:`DEFAULT_HEADERS` (its columns win when a file has both);
    map a header to ``""`` to ignore a default one. Header matching uses
    :func:`normalize_header`. Where several columns feed one key, the first non-empty one wins.

    Yields, in file order: an :class:`ImportRow` per readable row, or one :class:`RowError` per
    value it cannot parse (that row is then not yielded). Blank rows are skipped. A missing
    required column yields one ``RowError`` per such column on the header line, and nothing else.

    Times (``received_at``, ``deadline``) become ISO 8601 strings with the offset of
    ``timezone``; naive ones are taken to be in that zone, date-only ones at 00:00 — except a
    date-only 限办时间 (``deadline``), which means the end of that office day (``day_end``). ``tags``
    becomes a list. Integral floats (Excel numbers) become integer strings. ``source`` defaults to
    ``default_source``. With ``report_unknown``, a :class:`ColumnNotice` naming the header cells
    that match no field comes first (only when there are such cells).

    Raises :class:`UnreadableFile` (a ``ValueError``) for an unsupported file type, ``ValueError``
    for an unknown time zone or a header mapped
    to a key the intake body does not have; while iterating, :class:`UnreadableFile` for a file
    that is not a readable export and ``OSError`` when the file cannot be read at all.
    """
    path = Path(path)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {timezone!r}") from exc
    lookup = _build_lookup(headers)
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        opener: Callable[[Path], _Source] = _workbook_rows
    elif suffix in TEXT_SUFFIXES:
        opener = _csv_rows
    else:
        raise UnreadableFile(f"不支持的文件类型「{path.suffix or path.name}」：请导入热线系统导出的 .xlsx、.xls 或 .csv 文件。")
    return _read(path, opener, lookup, default_source=default_source, zone=zone, day_end=day_end,
                 report_unknown=report_unknown)


def _build_lookup(headers: Mapping[str, str] | None) -> dict[str, tuple[str, int]]:
    """Normalised header -> (key path, priority); custom mappings get priority 0."""
    lookup: dict[str, tuple[str, int]] = {}
    for priority, mapping in ((1, DEFAULT_HEADERS), (0, headers or {})):
        for header, key in mapping.items():
            name = normalize_header(header)
            if not name:
                continue
            if not key:
                lookup.pop(name, None)
                continue
            if key not in INTAKE_KEYS:
                raise ValueError(f"header {header!r} maps to {key!r}, which is not an intake key")
            lookup[name] = (key, priority)
    return lookup


def _read(
    path: Path,
    opener: Callable[[Path], _Source],
    lookup: Mapping[str, tuple[str, int]],
    *,
    default_source: str,
    zone: tzinfo,
    day_end: time = time(17, 30),
    report_unknown: bool = False,
) -> Iterator[ImportRow | RowError | ColumnNotice]:
    """Open the file on first use, find the header row, then turn each following row into a result."""
    rows, epoch = opener(path)
    row_iter = iter(enumerate(rows, start=1))
    header_line = 1
    columns: list[_Column] | None = None
    for line, row in row_iter:
        if _is_blank(row):
            continue
        header_line = line
        columns = _columns(row, lookup)
        unknown = _unknown_headers(row, lookup)
        if report_unknown and unknown:
            yield ColumnNotice(line, unknown)
        break
    found = {".".join(column.path) for column in columns or ()}
    missing = [key for key in REQUIRED_KEYS if key not in found]
    if columns is None or missing:
        for key in missing:
            yield RowError(header_line, key, f"缺少列：{REQUIRED_KEYS[key]}")
        return

    width = max(column.index for column in columns) + 1
    for line, row in row_iter:
        if len(row) < width:
            row = tuple(row) + (None,) * (width - len(row))
        data: dict[str, Any] = {}
        errors: list[RowError] = []
        for column in columns:
            key = column.path[-1] if len(column.path) == 1 else ".".join(column.path)
            target = data
            for part in column.path[:-1]:
                target = target.setdefault(part, {})
            if column.path[-1] in target:
                continue  # an earlier (better-ranked) column already gave this key
            raw = row[column.index]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                target[column.path[-1]] = _convert(key, raw, zone, epoch, day_end)
            except _ParseError as exc:
                errors.append(RowError(line, key, exc.reason))
        _prune_empty(data)
        if errors:
            yield from errors
            continue
        if not data:
            continue  # blank as far as tickets go
        data.setdefault("source", default_source)
        yield ImportRow(line, data)


def _columns(row: tuple[Any, ...], lookup: Mapping[str, tuple[str, int]]) -> list[_Column]:
    """Columns of the header ``row`` that map to intake keys, best-ranked first."""
    columns = []
    for index, cell in enumerate(row):
        match = lookup.get(normalize_header(cell))
        if match is not None:
            key, priority = match
            columns.append(_Column(index, tuple(key.split(".")), (priority, index)))
    columns.sort(key=lambda column: column.rank)
    return columns


def _unknown_headers(row: tuple[Any, ...], lookup: Mapping[str, tuple[str, int]]) -> tuple[str, ...]:
    """The non-empty header cells of ``row`` that map to no intake key, as written, without repeats."""
    unknown: list[str] = []
    for cell in row:
        name = normalize_header(cell)
        if name and name not in lookup:
            text = _text(cell)
            if text not in unknown:
                unknown.append(text)
    return tuple(unknown)


def _is_blank(row: tuple[Any, ...]) -> bool:
    """True when no cell holds anything but whitespace."""
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def _prune_empty(data: dict[str, Any]) -> None:
    """Drop nested dicts left empty (``citizen`` with no value)."""
    for key in [key for key, value in data.items() if value == {}]:
        del data[key]


class _ParseError(Exception):
    """A cell value that cannot be read; ``reason`` is shown to the office."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _convert(key: str, raw: Any, zone: tzinfo, epoch: datetime | None,
             day_end: time = time(17, 30)) -> Any:
    """The intake value for ``key`` from a non-empty cell value."""
    if key == "deadline" and _date_only(raw):
        # A 限办时间 written as a bare date is due at the end of that office day, not at midnight.
        day = raw.date() if isinstance(raw, datetime) else raw if isinstance(raw, date) else \
            _parse_datetime(_text(raw)).date()
        raw = datetime.combine(day, day_end)
    if key in _TIME_KEYS:
        return _to_iso(raw, zone, epoch)
    if key == "tags":
        return _split_tags(_text(raw))
    return _text(raw)


def _text(raw: Any) -> str:
    """A cell value as a stripped string; integral floats lose their ``.0``."""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float):
        if raw.is_integer():
            return str(int(raw))
        return repr(raw)
    if isinstance(raw, datetime):
        return raw.isoformat(sep=" ", timespec="seconds")
    return str(raw).strip()


def _split_tags(text: str) -> list[str]:
    """Tags from one cell, split on Chinese and ASCII separators, in order, without repeats.

    >>> _split_tags("扬言，涉稳、紧急 扬言")
    ['扬言', '涉稳', '紧急']
    """
    tags: list[str] = []
    for tag in _TAG_SPLIT.split(text):
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _date_only(raw: Any) -> bool:
    """A date cell (or a midnight one), or a text that names a day but no time of day."""
    if isinstance(raw, datetime):
        # Excel hands date cells over as midnight datetimes; a deadline at 00:00 means that day.
        return raw.time() == time(0) and raw.tzinfo is None
    if isinstance(raw, date):
        return True
    if not isinstance(raw, str):
        return False
    normal = unicodedata.normalize("NFKC", raw).strip()
    match = _DATETIME.fullmatch(normal) or _COMPACT_DATETIME.fullmatch(normal)
    return match is not None and not match.group("h")


def _to_iso(raw: Any, zone: tzinfo, epoch: datetime | None) -> str:
    """A time cell as ISO 8601 with the offset of ``zone``."""
    if isinstance(raw, datetime):
        moment = _round_to_second(raw) if epoch is not None else raw
    elif isinstance(raw, date):
        moment = datetime.combine(raw, time())
    elif (
        isinstance(raw, int | float)
        and not isinstance(raw, bool)
        and epoch is not None
        and 1 <= raw < _MAX_SERIAL
    ):
        moment = _from_serial(raw, epoch)  # a date cell without a date format
    else:
        moment = _parse_datetime(_text(raw))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    else:
        moment = moment.astimezone(zone)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def _round_to_second(moment: datetime) -> datetime:
    """Excel stores times as day fractions; undo the float noise (09:04:59.999999)."""
    if moment.microsecond >= 500_000:
        moment += timedelta(seconds=1)
    return moment.replace(microsecond=0)


def _from_serial(value: float, epoch: datetime) -> datetime:
    """An Excel serial day number, read as a date and time."""
    from openpyxl.utils.datetime import from_excel

    moment = from_excel(value, epoch=epoch)
    if not isinstance(moment, datetime):
        raise _ParseError(f"时间格式无法识别：{_text(value)}")
    return _round_to_second(moment)


def _parse_datetime(text: str) -> datetime:
    """Parse the date and time spellings hotline systems export.

    >>> _parse_datetime("2026年11月23日 9:05")
    datetime.datetime(2026, 11, 23, 9, 5)
    """
    normal = unicodedata.normalize("NFKC", text).strip()
    match = _DATETIME.fullmatch(normal) or _COMPACT_DATETIME.fullmatch(normal)
    if match is None:
        raise _ParseError(f"时间格式无法识别：{text}")
    parts = match.groupdict()
    fraction = parts.get("f") or ""
    offset = parts.get("tz")
    try:
        moment = datetime(
            int(parts["y"]),
            int(parts["mo"]),
            int(parts["d"]),
            int(parts["h"] or 0),
            int(parts["mi"] or 0),
            int(parts.get("s") or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
    except ValueError:
        raise _ParseError(f"时间格式无法识别：{text}") from None
    if offset:
        zone = _offset(offset)
        if zone is None:
            raise _ParseError(f"时间格式无法识别：{text}")
        moment = moment.replace(tzinfo=zone)
    return moment


def _offset(text: str) -> tzinfo | None:
    """A fixed zone from ``Z``, ``+08:00`` or ``+0800``; None when out of range."""
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if delta >= timedelta(hours=24):
        return None
    return fixed_zone(-delta if text[0] == "-" else delta)


def _workbook_rows(path: Path) -> _Source:
    """The first sheet's rows as value tuples, read by python-calamine, and the date epoch.

    The format is taken from the bytes, not the name, so an .xlsx saved as .xls still reads.
    Rows start at A1 (leading blank rows and columns kept) so line numbers are Excel's.
    """
    from python_calamine import CalamineError, PasswordError, load_workbook

    name = path.name
    with path.open("rb") as f:
        head = f.read(8)
        if not head:
            raise UnreadableFile(f"文件「{name}」是空的，没有可导入的内容。")
        if head.startswith(_OLE_MAGIC) and _is_encrypted_ooxml(path):
            raise UnreadableFile(f"文件「{name}」设有打开密码，请在 Excel 中取消密码后另存，再导入。")
        if not head.startswith((_OLE_MAGIC, _ZIP_MAGIC)):
            raise UnreadableFile(
                f"文件「{name}」不是 Excel 工作簿（可能是改了扩展名的其他文件），请从热线系统重新导出 .xlsx、.xls 或 .csv。")
        f.seek(0)
        try:
            workbook = load_workbook(f)
            if not workbook.sheet_names:
                raise UnreadableFile(f"文件「{name}」里没有工作表。")
            rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except PasswordError:
            raise UnreadableFile(f"文件「{name}」设有密码，请在 Excel 中取消密码后另存，再导入。") from None
        except CalamineError:
            raise UnreadableFile(f"文件「{name}」已损坏或不是 Excel 工作簿，无法读取，请从热线系统重新导出。") from None
    return (tuple(row) for row in rows), _EXCEL_EPOCH


def _is_encrypted_ooxml(path: Path) -> bool:
    """An .xlsx with an opening password is an OLE file holding an ``EncryptionInfo`` stream."""
    return "EncryptionInfo".encode("utf-16-le") in path.read_bytes()


def _csv_rows(path: Path) -> _Source:
    """Rows of a CSV export: UTF-8 (with or without BOM), else GB18030; comma or tab separated.

    CSV has no date epoch: numbers in time columns are text like any other. A workbook saved
    under a text name is read as the workbook it is; an empty file is :class:`UnreadableFile`.
    """
    payload = path.read_bytes()
    if payload.startswith((_OLE_MAGIC, _ZIP_MAGIC)):
        return _workbook_rows(path)
    text = _decode(payload)
    if not text.strip():
        raise UnreadableFile(f"文件「{path.name}」是空的，没有可导入的内容。")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return (tuple(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)), None


def _decode(payload: bytes) -> str:
    """Text of a CSV file in the encodings city systems use."""
    if payload.startswith(b"\xef\xbb\xbf"):
        return payload[3:].decode("utf-8", errors="replace")
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return payload.decode("utf-16", errors="replace")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("gb18030", errors="replace")
