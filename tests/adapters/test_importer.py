"""Tests for adapters.importer: reading the hotline system's .xls / .xlsx / .csv ticket exports.

Every fixture file is built in ``tmp_path``; no binary file is committed.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from adapters.importer import (
    DEFAULT_HEADERS,
    INTAKE_KEYS,
    ColumnNotice,
    ImportRow,
    RowError,
    UnreadableFile,
    normalize_header,
    read_tickets,
)

HEADER = ["工单编号", "登记时间", "诉求内容"]


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    """Write ``rows`` to the first sheet of a new workbook; ``[]`` leaves a blank row."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """Write ``rows`` as CSV in ``encoding`` (``utf-8-sig`` adds the BOM)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def read_all(path: Path, **kwargs: Any) -> list[ImportRow | RowError]:
    """Everything ``read_tickets`` yields."""
    return list(read_tickets(path, **kwargs))


# --- xlsx ---------------------------------------------------------------------------------


def test_xlsx_datetime_cells_and_float_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "export.xlsx",
        [
            [
                "工单编号",
                "登记时间",
                "诉求内容",
                "来电人",
                "联系电话",
                "来电人地址",
                "限办时间",
                "标签",
                "工单类型",
            ],
            [
                2026112300001.0,
                datetime(2026, 11, 23, 9, 5),
                "  小区噪音扰民  ",
                "张三",
                13812345678.0,
                "松江区某路1号",
                datetime(2026, 11, 30, 17, 30),
                "扬言，涉稳",
                "投诉",
            ],
        ],
    )
    assert read_all(path) == [
        ImportRow(
            2,
            {
                "number": "2026112300001",
                "received_at": "2026-11-23T09:05:00+08:00",
                "content": "小区噪音扰民",
                "citizen": {"name": "张三", "phone": "13812345678", "address": "松江区某路1号"},
                "deadline": "2026-11-30T17:30:00+08:00",
                "tags": ["扬言", "涉稳"],
                "kind": "投诉",
                "source": "12345",
            },
        )
    ]


def test_xlsx_integer_cells_and_non_integral_floats(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "export.xlsx",
        [[*HEADER, "工单分类"], [12345678, datetime(2026, 11, 23), "内容", 2.5]],
    )
    [row] = read_all(path)
    assert isinstance(row, ImportRow)
    assert row.data["number"] == "12345678"
    assert row.data["received_at"] == "2026-11-23T00:00:00+08:00"
    assert row.data["category"] == "2.5"


def test_xlsx_serial_number_in_time_column(tmp_path: Path) -> None:
    """A time cell that lost its date format arrives as Excel's day number."""
    serial = (datetime(2026, 11, 23, 9, 5) - datetime(1899, 12, 30)) / timedelta(days=1)
    path = write_xlsx(tmp_path / "export.xlsx", [HEADER, ["A1", serial, "内容"]])
    [row] = read_all(path)
    assert isinstance(row, ImportRow)
    assert row.data["received_at"] == "2026-11-23T09:05:00+08:00"


def test_xlsx_string_times_and_date_cells(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "export.xlsx",
        [
            [*HEADER, "限办时间"],
            ["A1", "2026/11/23 9:05", "内容", date(2026, 11, 30)],
            ["A2", "2026年11月23日 09:05", "内容", "2026-11-30"],
        ],
    )
    rows = read_all(path)
    assert [row.data["received_at"] for row in rows] == ["2026-11-23T09:05:00+08:00"] * 2  # type: ignore[union-attr]
    # A 限办时间 given as a day is due at the end of that office day (17:30), not at midnight.
    assert [row.data["deadline"] for row in rows] == ["2026-11-30T17:30:00+08:00"] * 2  # type: ignore[union-attr]


def test_deadline_with_a_time_is_kept(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "export.xlsx", [
        [*HEADER, "限办时间"],
        ["A1", "2026/11/23 9:05", "内容", "2026-11-30 12:00"],
        ["A2", "2026/11/23 9:05", "内容", datetime(2026, 11, 30, 16, 0)],
    ])
    assert [row.data["deadline"] for row in read_all(path)] == [  # type: ignore[union-attr]
        "2026-11-30T12:00:00+08:00", "2026-11-30T16:00:00+08:00"]


def test_xlsx_only_first_sheet_is_read(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(HEADER)
    workbook.active.append(["A1", "2026-11-23 09:05", "内容"])
    other = workbook.create_sheet("统计")
    other.append(HEADER)
    other.append(["B1", "2026-11-23 09:05", "内容"])
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    assert [row.data["number"] for row in read_all(path)] == ["A1"]  # type: ignore[union-attr]


def test_xlsx_ten_thousand_rows(tmp_path: Path) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([*HEADER, "联系电话", "标签"])
    start = datetime(2026, 1, 1, 8, 0)
    for index in range(10_000):
        sheet.append(
            [
                f"T{index:05d}",
                start + timedelta(minutes=index),
                f"诉求 {index}",
                13800000000.0 + index,
                "紧急",
            ]
        )
    path = tmp_path / "big.xlsx"
    workbook.save(path)

    rows = read_all(path)
    assert len(rows) == 10_000
    assert all(isinstance(row, ImportRow) for row in rows)
    assert rows[0].line == 2 and rows[-1].line == 10_001
    assert rows[-1].data["number"] == "T09999"  # type: ignore[union-attr]
    assert rows[-1].data["citizen"] == {"phone": "13800009999"}  # type: ignore[union-attr]


# --- csv ----------------------------------------------------------------------------------

CSV_ROWS = [
    ["工单编号", "登记时间", "诉求内容", "来电人", "联系电话", "标签", "工单来源"],
    [
        "SJ202611230001",
        "2026-11-23 09:05:00",
        "噪音扰民，夜间施工",
        "李四",
        "13812345678",
        "扬言、重复件",
        "",
    ],
    ["SJ202611230002", "2026/11/23 9:05", "路灯不亮", "", "", "", "962200"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "export.csv", CSV_ROWS, encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    assert read_all(path) == [
        ImportRow(
            2,
            {
                "number": "SJ202611230001",
                "received_at": "2026-11-23T09:05:00+08:00",
                "content": "噪音扰民，夜间施工",
                "citizen": {"name": "李四", "phone": "13812345678"},
                "tags": ["扬言", "重复件"],
                "source": "12345",
            },
        ),
        ImportRow(
            3,
            {
                "number": "SJ202611230002",
                "received_at": "2026-11-23T09:05:00+08:00",
                "content": "路灯不亮",
                "source": "962200",
            },
        ),
    ]


def test_csv_tab_separated_utf16(tmp_path: Path) -> None:
    """Excel's "Unicode text" export: UTF-16 with BOM, tab separated."""
    path = write_csv(tmp_path / "export.csv", CSV_ROWS, "utf-16", delimiter="\t")
    rows = read_all(path)
    assert [row.data["number"] for row in rows] == ["SJ202611230001", "SJ202611230002"]  # type: ignore[union-attr]


def test_csv_multiline_cell_counts_as_one_excel_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [HEADER, ["A1", "2026-11-23 09:05", "第一行\n第二行"], ["A2", "坏时间", "内容"]],
    )
    first, error = read_all(path)
    assert first == ImportRow(
        2,
        {
            "number": "A1",
            "received_at": "2026-11-23T09:05:00+08:00",
            "content": "第一行\n第二行",
            "source": "12345",
        },
    )
    assert error == RowError(3, "received_at", "时间格式无法识别：坏时间")


def test_default_source_parameter(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", [HEADER, ["A1", "2026-11-23 09:05", "内容"]])
    [row] = read_all(path, default_source="xinfang")
    assert row.data["source"] == "xinfang"  # type: ignore[union-attr]


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("工单编号 ", "工单编号"),
        (" 工单 编号", "工单编号"),
        ("工单编号（必填）", "工单编号"),
        ("工单编号(必填)", "工单编号"),
        ("工单编号【必填】", "工单编号"),
        ("*诉求内容：", "诉求内容"),
        ("联系电话（手机）（选填）", "联系电话"),
        ("ＩＤ", "id"),
        (None, ""),
        (12, "12"),
    ],
)
def test_normalize_header(raw: object, expected: str) -> None:
    assert normalize_header(raw) == expected


def test_headers_with_noise_are_recognised(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [
            ["工单编号（必填）", " 登记时间 ", "*诉求内容：", "备注"],
            ["A1", "2026-11-23 09:05", "内容", "忽略"],
        ],
    )
    assert read_all(path) == [
        ImportRow(
            2,
            {
                "number": "A1",
                "received_at": "2026-11-23T09:05:00+08:00",
                "content": "内容",
                "source": "12345",
            },
        )
    ]


def test_default_headers_target_intake_keys() -> None:
    assert set(DEFAULT_HEADERS.values()) <= INTAKE_KEYS
    assert set(DEFAULT_HEADERS.values()) == INTAKE_KEYS
    for header, key in {
        "工单编号": "number",
        "来电人": "citizen.name",
        "联系电话": "citizen.phone",
        "来电人地址": "citizen.address",
        "联系地址": "citizen.address",
        "诉求内容": "content",
        "诉求标题": "title",
        "标题": "title",
        "工单类型": "kind",
        "工单分类": "category",
        "办理类别": "category",
        "来源渠道": "channel",
        "渠道": "channel",
        "标签": "tags",
        "登记时间": "received_at",
        "受理时间": "received_at",
        "限办时间": "deadline",
        "办理时限": "deadline",
        "承办单位": "unit",
        "诉求地址": "address",
        "事发地址": "address",
        "来源": "source",
        "工单来源": "source",
    }.items():
        assert DEFAULT_HEADERS[header] == key


def test_custom_header_mapping(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [
            ["编号", "市热线编号", "发生时间", "描述", "标题", "区域"],
            ["LOCAL-1", "HOT-1", "2026-11-23 09:05", "内容", "不要的标题", "松江"],
        ],
    )
    headers = {
        "市热线编号": "number",
        "发生时间": "received_at",
        "描述": "content",
        "标题": "",
        "区域": "address",
    }
    assert read_all(path, headers=headers) == [
        ImportRow(
            2,
            {
                "number": "HOT-1",  # the custom column wins over the default 编号
                "received_at": "2026-11-23T09:05:00+08:00",
                "content": "内容",
                "address": "松江",
                "source": "12345",
            },
        )
    ]


def test_custom_header_mapping_falls_back_when_custom_cell_empty(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [["编号", "市热线编号", *HEADER[1:]], ["LOCAL-1", "", "2026-11-23 09:05", "内容"]],
    )
    [row] = read_all(path, headers={"市热线编号": "number"})
    assert row.data["number"] == "LOCAL-1"  # type: ignore[union-attr]


def test_custom_header_to_unknown_key_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", [HEADER])
    with pytest.raises(ValueError, match=r"citzen\.name"):
        read_tickets(path, headers={"姓名": "citzen.name"})


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_missing_required_column(tmp_path: Path, suffix: str) -> None:
    rows = [["工单编号", "登记时间", "标题"], ["A1", "2026-11-23 09:05", "标题"]]
    path = (write_csv if suffix == ".csv" else write_xlsx)(tmp_path / f"export{suffix}", rows)
    assert read_all(path) == [RowError(1, "content", "缺少列：诉求内容")]


@pytest.mark.parametrize("name, content", [("empty.csv", b""), ("blank.csv", b"\n \r\n"), ("empty.xlsx", b"")])
def test_empty_file_is_unreadable(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=re.escape(f"「{name}」是空的")):
        read_all(path)


def test_header_only_file_reports_missing_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", [["备注"]])
    assert read_all(path) == [
        RowError(1, "number", "缺少列：工单编号"),
        RowError(1, "received_at", "缺少列：登记时间"),
        RowError(1, "content", "缺少列：诉求内容"),
    ]


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "export.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(UnreadableFile, match=re.escape("不支持的文件类型「.pdf」")):
        read_tickets(path)


def test_unknown_timezone(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", [HEADER])
    with pytest.raises(ValueError, match="time zone"):
        read_tickets(path, timezone="Mars/Olympus")


# --- rows ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_bad_date_among_good_rows(tmp_path: Path, suffix: str) -> None:
    rows = [
        [*HEADER, "限办时间"],
        ["A1", "2026-11-23 09:05:00", "好", ""],
        ["A2", "昨天下午", "坏", "2026-13-01"],
        ["A3", "2026-11-23 10:00:00", "好", "2026-02-30"],
        ["A4", "2026-11-23 11:00:00", "好", "2026-11-30 17:30"],
    ]
    path = (write_csv if suffix == ".csv" else write_xlsx)(tmp_path / f"export{suffix}", rows)
    results = read_all(path)
    assert results == [
        ImportRow(
            2,
            {"number": "A1", "received_at": "2026-11-23T09:05:00+08:00", "content": "好", "source": "12345"},
        ),
        RowError(3, "received_at", "时间格式无法识别：昨天下午"),
        RowError(3, "deadline", "时间格式无法识别：2026-13-01"),
        RowError(4, "deadline", "时间格式无法识别：2026-02-30"),
        ImportRow(
            5,
            {
                "number": "A4",
                "received_at": "2026-11-23T11:00:00+08:00",
                "content": "好",
                "deadline": "2026-11-30T17:30:00+08:00",
                "source": "12345",
            },
        ),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blank_rows_are_skipped_and_lines_kept(tmp_path: Path, suffix: str) -> None:
    rows: list[list[Any]] = [
        [],
        HEADER,
        ["A1", "2026-11-23 09:05", "内容"],
        [],
        ["  ", "", " "],
        [],
        ["A2", "2026-11-23 09:06", "内容"],
        [],
    ]
    path = (write_csv if suffix == ".csv" else write_xlsx)(tmp_path / f"export{suffix}", rows)
    results = read_all(path)
    assert [(row.line, row.data["number"]) for row in results] == [(3, "A1"), (7, "A2")]  # type: ignore[union-attr]


def test_row_with_values_only_in_unknown_columns_is_blank(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [[*HEADER, "备注"], ["A1", "2026-11-23 09:05", "内容", ""], ["", "", "", "合计 1 条"]],
    )
    assert [row.line for row in read_all(path)] == [2]


def test_short_rows_and_empty_cells_leave_keys_absent(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [[*HEADER, "来电人", "联系电话", "标题"], ["A1", "2026-11-23 09:05"], ["A2", "", "", "", "", "  "]],
    )
    assert read_all(path) == [
        ImportRow(2, {"number": "A1", "received_at": "2026-11-23T09:05:00+08:00", "source": "12345"}),
        ImportRow(3, {"number": "A2", "source": "12345"}),
    ]


@pytest.mark.parametrize(
    ("cell", "tags"),
    [
        ("扬言", ["扬言"]),
        ("扬言，涉稳", ["扬言", "涉稳"]),
        ("扬言,涉稳、紧急;市级催办；重复件/复核", ["扬言", "涉稳", "紧急", "市级催办", "重复件", "复核"]),
        ("扬言 涉稳\u3000紧急", ["扬言", "涉稳", "紧急"]),
        ("  扬言 ， ，涉稳 ", ["扬言", "涉稳"]),
        ("扬言、扬言", ["扬言"]),
    ],
)
def test_tag_splitting(tmp_path: Path, cell: str, tags: list[str]) -> None:
    path = write_csv(tmp_path / "export.csv", [[*HEADER, "标签"], ["A1", "2026-11-23 09:05", "内容", cell]])
    [row] = read_all(path)
    assert row.data["tags"] == tags  # type: ignore[union-attr]


# --- times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23 09:05:00", "2026-11-23T09:05:00+08:00"),
        ("2026-11-23 9:05", "2026-11-23T09:05:00+08:00"),
        ("2026/11/23 9:05", "2026-11-23T09:05:00+08:00"),
        ("2026.11.23 09:05:07", "2026-11-23T09:05:07+08:00"),
        ("2026-11-23T09:05:00+08:00", "2026-11-23T09:05:00+08:00"),
        ("2026-11-23T01:05:00Z", "2026-11-23T09:05:00+08:00"),
        ("2026-11-23T09:05:00+0900", "2026-11-23T08:05:00+08:00"),
        ("2026-11-23 09:05:00.250", "2026-11-23T09:05:00.250000+08:00"),
        ("2026年11月23日 09:05", "2026-11-23T09:05:00+08:00"),
        ("2026年11月23日9时5分", "2026-11-23T09:05:00+08:00"),
        ("2026年11月23日 9时05分30秒", "2026-11-23T09:05:30+08:00"),
        ("２０２６－１１－２３　０９：０５", "2026-11-23T09:05:00+08:00"),
        ("2026-11-23", "2026-11-23T00:00:00+08:00"),
        ("2026/1/3", "2026-01-03T00:00:00+08:00"),
        ("2026年11月23日", "2026-11-23T00:00:00+08:00"),
        ("20261123", "2026-11-23T00:00:00+08:00"),
        ("20261123090500", "2026-11-23T09:05:00+08:00"),
    ],
)
def test_time_formats(tmp_path: Path, text: str, expected: str) -> None:
    path = write_csv(tmp_path / "export.csv", [HEADER, ["A1", text, "内容"]])
    [row] = read_all(path)
    assert row == ImportRow(
        2, {"number": "A1", "received_at": expected, "content": "内容", "source": "12345"}
    )


@pytest.mark.parametrize(
    "text",
    ["昨天", "2026-11-23 25:00", "2026-11-31", "11/23/2026", "2026-11-23 09:05 下午", "2026-11-23+25:00"],
)
def test_bad_time_formats(tmp_path: Path, text: str) -> None:
    path = write_csv(tmp_path / "export.csv", [HEADER, ["A1", text, "内容"]])
    assert read_all(path) == [RowError(2, "received_at", f"时间格式无法识别：{text}")]


def test_configured_timezone(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "export.xlsx",
        [[*HEADER, "限办时间"], ["A1", datetime(2026, 11, 23, 9, 5), "内容", "2026-11-23T09:05:00+08:00"]],
    )
    [row] = read_all(path, timezone="UTC")
    assert row.data["received_at"] == "2026-11-23T09:05:00+00:00"  # type: ignore[union-attr]
    assert row.data["deadline"] == "2026-11-23T01:05:00+00:00"  # type: ignore[union-attr]


_STYLES = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日 %H:%M:%S", "%Y-%m-%dT%H:%M:%S+08:00"]


@settings(max_examples=50, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda value: value.replace(microsecond=0)
    ),
    style=st.sampled_from(_STYLES),
)
def test_time_round_trip(tmp_path_factory: pytest.TempPathFactory, moment: datetime, style: str) -> None:
    """Every supported spelling of a time reads back as that time (China has had no DST since 1991)."""
    path = write_csv(
        tmp_path_factory.mktemp("rt") / "export.csv", [HEADER, ["A1", moment.strftime(style), "内容"]]
    )
    [row] = read_all(path)
    assert row.data["received_at"] == moment.isoformat() + "+08:00"  # type: ignore[union-attr]


# --- xls (BIFF8, the old Excel format) and files that cannot be read -------------------------


def write_xls(path: Path, rows: list[list[Any]], *, start_row: int = 0) -> Path:
    """Write ``rows`` to a real BIFF8 .xls with xlwt (date cells get a date format)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("工单")
    dated = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for r, row in enumerate(rows, start=start_row):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write(r, c, value, dated)
            elif value is not None:
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def test_xls_cells_and_line_numbers(tmp_path: Path) -> None:
    content = "小区东门路灯不亮（已一周），请尽快修复；谢谢！"
    path = write_xls(tmp_path / "export.xls", [
        [*HEADER, "联系电话", "承办单位", "限办时间"],
        [2026112300001.0, datetime(2026, 11, 23, 9, 5, 7), content, 13812345678.0, "养老服务科",
         datetime(2026, 11, 30)],
        [],
        ["A-2", "2026年11月24日 10:00", "内容：二", None, None, None],
    ], start_row=1)  # a title row left blank above the header, as some systems export
    assert read_all(path) == [
        ImportRow(3, {"number": "2026112300001", "received_at": "2026-11-23T09:05:07+08:00",
                      "content": content, "citizen": {"phone": "13812345678"}, "unit": "养老服务科",
                      "deadline": "2026-11-30T17:30:00+08:00", "source": "12345"}),
        ImportRow(5, {"number": "A-2", "received_at": "2026-11-24T10:00:00+08:00", "content": "内容：二",
                      "source": "12345"}),
    ]


def test_xls_and_xlsx_give_the_same_rows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [[*HEADER, "标签", "来电人"],
                             ["N-1", datetime(2026, 11, 23, 9, 5), "噪音扰民，夜间施工？", "扬言、涉稳", "张三"],
                             ["N-2", "2026-11-23 10:00", "（无）", "", "李四"]]
    assert read_all(write_xls(tmp_path / "a.xls", rows)) == read_all(write_xlsx(tmp_path / "a.xlsx", rows))


def test_workbook_is_recognised_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    rows: list[list[Any]] = [HEADER, ["N-1", "2026-11-23 09:05", "内容"]]
    xlsx_named_xls = tmp_path / "export.xls"
    xlsx_named_xls.write_bytes(write_xlsx(tmp_path / "real.xlsx", rows).read_bytes())
    xls_named_csv = tmp_path / "export.csv"
    xls_named_csv.write_bytes(write_xls(tmp_path / "real.xls", rows).read_bytes())
    expected = read_all(tmp_path / "real.xlsx")
    assert [row.line for row in expected] == [2]
    assert read_all(xlsx_named_xls) == expected
    assert read_all(xls_named_csv) == expected


@pytest.mark.parametrize("name, content, reason", [
    ("corrupt.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "已损坏"),
    ("cut.xlsx", b"PK\x03\x04 the rest of the zip is missing", "已损坏"),
    ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "不是 Excel 工作簿"),
    ("page.xls", "<html><table><tr><td>工单编号</td></tr></table></html>".encode(), "不是 Excel 工作簿"),
])
def test_unreadable_workbooks(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as caught:
        read_all(path)
    message = str(caught.value)
    assert f"「{name}」" in message and reason in message and "\n" not in message


def test_password_protected_xlsx(tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(tmp_path / "plain.xlsx", [HEADER, ["N-1", "2026-11-23 09:05", "内容"]])
    locked = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, locked.open("wb") as target:
        OOXMLFile(source).encrypt("12345", target)
    with pytest.raises(UnreadableFile, match=re.escape("「locked.xlsx」设有打开密码")):
        read_all(locked)


@pytest.mark.parametrize("suffix", [".csv", ".xls"])
def test_unknown_columns_are_named_once_when_asked(tmp_path: Path, suffix: str) -> None:
    rows: list[list[Any]] = [["序号", *HEADER, "备注", "序号", "办理情况（内部）"], [1, "N-1", "2026-11-23 09:05", "内容", "x", 1, "y"]]
    path = (write_csv if suffix == ".csv" else write_xls)(tmp_path / f"export{suffix}", rows)
    items = list(read_tickets(path, report_unknown=True))
    assert items[0] == ColumnNotice(1, ("序号", "备注", "办理情况（内部）"))
    assert [type(item) for item in items[1:]] == [ImportRow]
    assert not any(isinstance(item, ColumnNotice) for item in read_all(path))  # off by default
