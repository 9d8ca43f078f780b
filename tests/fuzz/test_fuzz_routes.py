"""Hypothesis against every route of the real bot (issue 14): hostile bodies validly signed and
not, hostile headers, queries, paths and forms. Every answer is below 500, the server logs no
traceback, and every event it acknowledged is processed without error. The budget is the
``fuzz`` profile (``tests/fuzz/conftest.py``); ``HOTLINE_FUZZ_EXAMPLES=2000`` digs deeper."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import API_TOKEN
from tests.fuzz.cases import spoiled
from tests.fuzz.conftest import FUZZ
from tests.fuzz.server import FuzzServer
from tests.fuzz.strategies import (
    bodies,
    header_text,
    hostile_text,
    mutated,
    query_value,
    ticket_bodies,
)
from tests.fuzz.world import SMS_TOKEN, Shot, intake_headers, signed
from tests.system.world import BOT

WECOM_MESSAGE = {"msgid": "m1", "aibotid": "AIBOTID", "chattype": "group", "chatid": "wrYLK",
                 "from": {"userid": "zhangcb"}, "msgtype": "text", "text": {"content": "@热线助手 帮助"}}
DING_MESSAGE = {"msgtype": "text", "text": {"content": " 帮助"}, "msgId": "d1", "conversationType": "2",
                "conversationId": "cidYLK==", "senderStaffId": "staff-zhang", "chatbotUserId": "$:bot",
                "isInAtList": True, "atUsers": [{"dingtalkId": "$:bot"}]}
FEISHU_EVENT = {"schema": "2.0", "header": {"event_id": "e1", "event_type": "im.message.receive_v1",
                                            "token": "vtoken", "app_id": "cli_test", "create_time": "1"},
                "event": {"sender": {"sender_id": {"open_id": "ou_zhang"}, "sender_type": "user"},
                          "message": {"message_id": "om1", "chat_id": "oc_ylk", "chat_type": "group",
                                      "message_type": "text", "content": "{\"text\":\"帮助\"}"}}}
SMS_PUSH = {"phone": "13812341234", "text": "满意"}


def _check(server: FuzzServer, shot: Shot) -> None:
    before = len(server.trap.tracebacks())
    status = server.send(shot)
    assert 0 < status < 500, (status, shot)
    assert len(server.trap.tracebacks()) == before, server.trap.tracebacks()[before:][:1]


def _both(server: FuzzServer, shot: Shot) -> None:
    _check(server, shot)
    _check(server, spoiled(shot))


@FUZZ
@given(body=ticket_bodies())
def test_intake(fuzz_server: FuzzServer, body: bytes) -> None:
    _both(fuzz_server, signed("intake", body, fuzz_server.now))


@FUZZ
@given(route=st.sampled_from(["intake", "event", "wecom", "wecom_xml", "dingtalk", "feishu", "sms"]), body=bodies)
def test_any_body_on_any_route(fuzz_server: FuzzServer, route: str, body: bytes) -> None:
    _both(fuzz_server, signed(route, body, fuzz_server.now))


@FUZZ
@given(route_body=st.one_of(mutated(WECOM_MESSAGE).map(lambda b: ("wecom", b)),
                            mutated(DING_MESSAGE).map(lambda b: ("dingtalk", b)),
                            mutated(FEISHU_EVENT).map(lambda b: ("feishu", b)),
                            mutated(FEISHU_EVENT["event"]["message"]).map(  # type: ignore[index]
                                lambda b: ("feishu", b.replace(b"{", b'{"schema":"2.0","header":{"event_id":'
                                                               b'"e2","event_type":"im.message.receive_v1",'
                                                               b'"token":"vtoken"},"event":{"sender":{"sender_id"'
                                                               b':{"open_id":"ou_zhang"}},"message":{', 1) + b"}}")),
                            mutated(SMS_PUSH).map(lambda b: ("sms", b))))
def test_platform_shaped_events(fuzz_server: FuzzServer, route_body: tuple[str, bytes]) -> None:
    route, body = route_body
    _check(fuzz_server, signed(route, body, fuzz_server.now))
    assert fuzz_server.failed_events() == 0


@FUZZ
@given(value=header_text, which=st.sampled_from(["ts", "sig", "bearer", "ding-ts", "ding-sign", "lark"]))
def test_hostile_headers(fuzz_server: FuzzServer, value: str, which: str) -> None:
    body = b"{}"
    headers = intake_headers(body, fuzz_server.now)
    if which == "ts":
        shot = Shot("POST", "/api/v1/tickets", {**headers, "X-Hotline-Timestamp": value}, body)
    elif which == "sig":
        shot = Shot("POST", "/api/v1/tickets", {**headers, "X-Hotline-Signature": value}, body)
    elif which == "bearer":
        shot = Shot("GET", "/api/v1/tickets", {"Authorization": "Bearer " + value})
    elif which.startswith("ding"):
        ding = signed("dingtalk", b"{}", fuzz_server.now).headers
        ding["timestamp" if which == "ding-ts" else "sign"] = value
        shot = Shot("POST", f"/webhooks/dingtalk/{BOT}", ding, body)
    else:
        shot = Shot("POST", f"/webhooks/feishu/{BOT}", {"X-Lark-Request-Timestamp": value,
                                                       "X-Lark-Request-Nonce": value, "X-Lark-Signature": value}, body)
    _check(fuzz_server, shot)


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["state", "unit", "tag", "limit", "offset", "overdue", "x"]),
                              st.one_of(hostile_text, st.integers().map(str)), max_size=4),
       source=hostile_text, number=hostile_text)
def test_read_api(fuzz_server: FuzzServer, params: dict[str, str], source: str, number: str) -> None:
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    query = "&".join(f"{k}={query_value(v)}" for k, v in params.items())
    _check(fuzz_server, Shot("GET", f"/api/v1/tickets?{query}", auth))
    path = f"/api/v1/tickets/{query_value(source) or 'x'}/{query_value(number) or 'x'}"
    _check(fuzz_server, Shot("GET", path, auth))
    _check(fuzz_server, Shot("POST", path + "/events", intake_headers(b"{}", fuzz_server.now), b"{}"))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["person", "password", "csrf", "next", "t", "verdict", "comment"]),
                              hostile_text, max_size=4),
       path=st.sampled_from(["/console/login", "/console/login/link", "/c/abc", "/console/tickets/12345/1/act",
                             f"/webhooks/sms/log?token={SMS_TOKEN}"]),
       raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_forms(fuzz_server: FuzzServer, fields: dict[str, str], path: str, raw: bytes | None) -> None:
    body = raw if raw is not None else "&".join(f"{k}={query_value(v)}" for k, v in fields.items()).encode()
    _check(fuzz_server, Shot("POST", path, {"Content-Type": "application/x-www-form-urlencoded"}, body))


@FUZZ
@given(segment=hostile_text, route=st.sampled_from(["/c/", "/console/tickets/12345/", "/console/login?next=",
                                                    "/console/tickets?state=", "/webhooks/wecom/"]))
def test_pages(fuzz_server: FuzzServer, segment: str, route: str) -> None:
    _check(fuzz_server, Shot("GET", route + (query_value(segment) or "x")))
