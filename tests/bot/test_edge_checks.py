"""The edge's shared checks: the safe JSON loader, the storable-text and event checks, and the
quiet log line for malformed HTTP requests (issue 14, root causes 3, 9, 12 and 14)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from aiohttp.http_exceptions import BadStatusLine

from bot import safe_json
from bot.edge import message_problem, text_problem
from bot.logs import MalformedRequestFilter, PersonalNumberFilter
from bot.messages import ChatKind, IncomingMessage


@pytest.mark.parametrize("data", [b"[" * 100_000 + b"]" * 100_000, b"9" * 5000, b"[1e999]", b'"\\ud800"',
                                  "\"\udcff\"", b"\xff\xfe{}", b"NaN", b""])
def test_hostile_json_is_one_error(data: Any) -> None:
    with pytest.raises(safe_json.BadJson):
        safe_json.loads(data)


def test_ordinary_json_loads() -> None:
    assert safe_json.loads('{"a": [1, "路灯"], "b": null}') == {"a": [1, "路灯"], "b": None}


@pytest.mark.parametrize(("value", "limit", "bad"), [("a\x00b", None, True), ("\ud800", None, True),
                                                     ("x" * 11, 10, True), ("路灯不亮", 10, False)])
def test_text_problem(value: str, limit: int | None, bad: bool) -> None:
    assert (text_problem(value, limit) is not None) is bad


def _message(**changes: Any) -> IncomingMessage:
    fields: dict[str, Any] = {"platform": "wecom", "bot": "b", "chat_id": "wrYLK", "chat_kind": ChatKind.GROUP,
                              "sender_id": "zhangcb", "text": "签收 0001", "event_id": "m1"}
    return IncomingMessage(**{**fields, **changes})


@pytest.mark.parametrize("changes", [{"chat_id": ["wrYLK"]}, {"sender_id": {"a": 1}}, {"event_id": 10 ** 30},
                                     {"event_id": "e" * 201}, {"event_id": ""}, {"text": "a\x00"},
                                     {"text": "\ud800"}, {"message_id": ["x"]}, {"mentions": (["x"],)},
                                     {"action": {"cmd": "同意\x00"}}, {"action": "同意"}])
def test_events_that_could_not_be_processed_are_named(changes: dict[str, Any]) -> None:
    assert message_problem(_message(**changes)) is not None


def test_a_good_event_passes() -> None:
    assert message_problem(_message(action={"cmd": "同意", "ticket": "12345/1"}, mentions=("likz",))) is None


def _record(exc: BaseException | None, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("aiohttp.server", level, __file__, 1, "Error handling request from %s",
                             ("10.0.0.1",), (type(exc), exc, None) if exc else None)


def test_a_malformed_request_is_one_info_line_rate_limited() -> None:
    now = [100.0]
    quiet = MalformedRequestFilter(interval=10.0, now=lambda: now[0])
    first = _record(BadStatusLine("\x16\x03\x01"))
    assert quiet.filter(first)
    assert first.levelno == logging.INFO and first.exc_info is None
    assert "10.0.0.1" in first.getMessage() and "400" in first.getMessage()
    assert not quiet.filter(_record(BadStatusLine("x")))  # within the interval: dropped, counted
    now[0] += 11
    third = _record(BadStatusLine("y"))
    assert quiet.filter(third) and "(1 more not logged)" in third.getMessage()


def test_our_own_errors_keep_their_traceback() -> None:
    quiet = MalformedRequestFilter(now=lambda: 0.0)
    record = _record(RuntimeError("bug"))
    assert quiet.filter(record) and record.levelno == logging.ERROR and record.exc_info is not None


def test_access_log_lines_have_their_numbers_masked() -> None:
    # A URL may carry a phone number (an SMS gateway's push by GET; a provider's send URL).
    quiet = PersonalNumberFilter()
    record = logging.LogRecord("aiohttp.access", logging.INFO, __file__, 1, '%s "%s" %s',
                               ("127.0.0.1", "GET /webhooks/sms/generic?mobile=13812341234&text=1", 200), None)
    assert quiet.filter(record)
    assert "13812341234" not in record.getMessage() and "138****1234" in record.getMessage()


def test_a_traceback_has_its_numbers_masked() -> None:
    # A driver's error may quote the value it refused; the traceback is masked like the message.
    try:
        raise ValueError("duplicate key (mobile)=(13812341234)")
    except ValueError:
        record = logging.LogRecord("hotline.intake", logging.WARNING, __file__, 1, "batch failed", None,
                                   sys.exc_info())
    assert PersonalNumberFilter().filter(record)
    shown = logging.Formatter().format(record)
    assert "Traceback" in shown and "138****1234" in shown and "13812341234" not in shown
