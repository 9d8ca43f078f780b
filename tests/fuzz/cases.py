"""Hand-written hostile requests, per route: what the fuzz suite and ``bench/fuzz.py`` fire.

Each body is sent both validly signed (so it reaches the decoder behind authentication) and
with a broken signature; the raw requests abuse headers, query strings and paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.conftest import API_TOKEN, ticket_body
from tests.fuzz.world import BODY_ROUTES, SMS_TOKEN, Shot, intake_headers, signed
from tests.system.world import BOT

DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_INT = b"9" * 5000
BAD_UTF8 = "\udcff\udcfe"  # header text that travels as the raw bytes 0xff 0xfe


def _j(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def _surrogate(obj: Any) -> bytes:
    """JSON whose strings carry a lone surrogate (as a \\ud800 escape, which json allows)."""
    return json.dumps(obj).replace("LONE", "\\ud800").encode()


GENERIC_BODIES: list[bytes] = [
    b"", b"null", b"[]", b"\"x\"", b"0", b"{", b"\xff\xfe\x00{", DEEP, b'{"a":' + DEEP + b"}",
    b'{"a":' + HUGE_INT + b"}", b"[" + HUGE_INT + b"]", b'{"a":1e999999}', _surrogate({"a": "LONE"}),
    b'{"a":"\\u0000"}', b"<xml><a>1</a></xml>",
]


def intake_bodies() -> list[bytes]:
    """Ticket bodies: each field wrong in its own way."""
    good = ticket_body()
    out: list[bytes] = []
    for key, bad in [("received_at", "0001-01-01T00:00:00+00:00"), ("received_at", "9999-12-31T23:59:59+00:00"),
                     ("received_at", "0001-01-01T00:00:00+14:00"), ("deadline", "9999-12-31T23:59:59-12:00"),
                     ("deadline", "0001-01-01"), ("number", "a\u0000b"), ("number", "9" * 10_000),
                     ("content", "x\u0000y"), ("content", "长" * 200_000), ("source", "s" * 5000),
                     ("number", ["x"]), ("citizen", {"name": "\u0000", "phone": "1" * 300}),
                     ("citizen", []), ("unit", "\u0000"), ("unit", ["YLK"]), ("kind", "k" * 5000),
                     ("number", "LONE"), ("content", "LONE"), ("received_at", 10 ** 30)]:
        out.append(_surrogate({**good, key: bad}) if bad == "LONE" else _j({**good, key: bad}))
    return out


def event_bodies() -> list[bytes]:
    """Hotline events: bad types, ids and dates."""
    return [_j({"type": "urge", "id": "\u0000"}), _j({"type": "urge", "id": "i" * 10_000}),
            _j({"type": "extension_decision", "granted": True, "deadline": "9999-12-31T23:59:59-12:00"}),
            _j({"type": "extension_decision", "granted": True, "deadline": "0001-01-01T00:00:00+14:00"}),
            _j({"type": "reopen", "at": "0001-01-01"}), _j({"type": "close", "note": "\u0000"}),
            _j({"type": ["urge"]}), _surrogate({"type": "urge", "id": "LONE"})]


def wecom_bodies() -> list[bytes]:
    """WeCom AI-bot message bodies of the wrong shape."""
    base = {"msgid": "m1", "aibotid": "AIBOTID", "chattype": "group", "chatid": "wrYLK",
            "from": {"userid": "zhangcb"}, "msgtype": "text", "text": {"content": "@热线助手 签收 0001"}}
    out = []
    for key, bad in [("from", []), ("from", "x"), ("from", {"userid": ["a"]}), ("text", []), ("text", "x"),
                     ("text", {"content": ["x"]}), ("chatid", ["x"]), ("chatid", {"a": 1}), ("msgid", 10 ** 30),
                     ("msgid", ["m"]), ("msgid", "\u0000"), ("msgid", "m" * 5000), ("text", {"content": "LONE"}),
                     ("chatid", "LONE")]:
        out.append(_surrogate({**base, key: bad}) if "LONE" in json.dumps(bad) else _j({**base, key: bad}))
    for kind, bad in [("mixed", []), ("mixed", {"msg_item": "x"}), ("mixed", {"msg_item": [1, "x"]}),
                      ("event", []), ("event", "x"), ("event", {"eventtype": ["x"]}), ("stream", "x")]:
        out.append(_j({**base, "msgtype": kind if kind != "stream" else "stream", kind: bad}))
    return out


def wecom_xml_bodies() -> list[bytes]:
    """Self-built-app XML plaintexts: DTDs, entity bombs, foreign encodings."""
    bomb = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><FromUserName>zhangcb</FromUserName>'
            '<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>')
    return [bomb.encode("utf-16-le"), bomb.replace("UTF-16", "UTF-8").encode(),
            b'<?xml version="1.0" encoding="GBK"?><xml><MsgType>text</MsgType></xml>',
            b"<xml><MsgType>text</MsgType><Content>\x00</Content></xml>", b"<xml>" * 50_000,
            b"<xml><FromUserName><a/></FromUserName><MsgType>text</MsgType></xml>", bomb.encode("utf-16")]


def dingtalk_bodies() -> list[bytes]:
    """DingTalk robot messages with wrong field types."""
    base = {"msgtype": "text", "text": {"content": " 签收 0001"}, "msgId": "m1", "conversationType": "2",
            "conversationId": "cidYLK==", "senderStaffId": "staff-zhang", "chatbotUserId": "$:bot",
            "robotCode": "dingappkey", "isInAtList": True}
    out = []
    for key, bad in [("conversationId", ["x"]), ("senderStaffId", {"a": 1}), ("text", []), ("text", {"content": 5}),
                     ("msgId", 10 ** 30), ("msgId", None), ("msgId", "\u0000"), ("createAt", 10 ** 30),
                     ("createAt", "x"), ("createAt", -1), ("sessionWebhookExpiredTime", 10 ** 30),
                     ("atUsers", "x"), ("atUsers", [1]), ("content", {"richText": "x"}),
                     ("senderStaffId", "LONE")]:
        out.append(_surrogate({**base, key: bad}) if bad == "LONE" else _j({**base, key: bad}))
    return out


def feishu_bodies() -> list[bytes]:
    """Feishu envelopes of the wrong shape (encrypted and signed by :func:`signed`)."""
    event = {"schema": "2.0", "header": {"event_id": "e1", "event_type": "im.message.receive_v1",
                                         "token": "vtoken", "app_id": "cli_test", "create_time": "1"},
             "event": {"sender": {"sender_id": {"open_id": "ou_zhang"}},
                       "message": {"message_id": "om1", "chat_id": "oc_ylk", "chat_type": "group",
                                   "message_type": "text", "content": "{\"text\":\"x\"}"}}}
    out = [_j({"type": "url_verification", "token": "vtoken", "challenge": ["x"]}),
           _j({"challenge": "x" * 100, "token": ["vtoken"], "type": "url_verification"})]
    for path, bad in [(("header",), []), (("header", "event_id"), ["e"]), (("header", "event_id"), 10 ** 30),
                      (("event",), "x"), (("event", "message"), []), (("event", "message", "content"), "{"),
                      (("event", "message", "content"), "[" * 5000), (("event", "message", "chat_id"), ["x"]),
                      (("event", "sender"), "x"), (("event", "sender", "sender_id"), {"open_id": ["x"]}),
                      (("event", "message", "content"), json.dumps({"text": ["x"]})),
                      (("header", "token"), ["vtoken"]), (("header", "event_id"), "\u0000")]:
        doc = json.loads(json.dumps(event))
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = bad
        out.append(_j(doc))
    return out


def sms_bodies() -> list[bytes]:
    """SMS pushes of the log provider with hostile numbers and texts."""
    return [_j([{"phone": ["x"], "text": "1"}]), _j({"phone": "13812341234", "text": "\u0000"}),
            _j({"phone": "1" * 5000, "text": "x"}), _j({"mobile": "13812341234", "content": "LONE"}),
            _surrogate({"phone": "13812341234", "text": "LONE"}), _j({"phone": 10 ** 30, "text": 5}),
            _j({"kind": "receipt", "out_id": ["x"], "status": {}})]


BODIES: dict[str, list[bytes]] = {
    "intake": intake_bodies(), "event": event_bodies(), "wecom": wecom_bodies(),
    "wecom_xml": wecom_xml_bodies(), "dingtalk": dingtalk_bodies(), "feishu": feishu_bodies(),
    "sms": sms_bodies(),
}


def body_shots(now: int) -> Iterator[Shot]:
    """Every route's hostile bodies and the generic ones, validly signed and with a spoiled signature."""
    for route in BODY_ROUTES:
        for body in GENERIC_BODIES + BODIES[route]:
            shot = signed(route, body, now)
            yield shot
            yield spoiled(shot)


def spoiled(shot: Shot) -> Shot:
    """The same request with each signature-looking header replaced by non-ASCII garbage."""
    headers = dict(shot.headers)
    for key in headers:
        if key.lower() in ("x-hotline-signature", "sign", "x-lark-signature"):
            headers[key] = "签名" + BAD_UTF8
    path = shot.path.replace("msg_signature=", "msg_signature=%E7%AD%BE%FF")
    return Shot(shot.method, path, headers, shot.body)


def raw_shots(now: int) -> Iterator[Shot]:
    """Header, query and path abuse on every route."""
    ok = b"{}"
    for ts in ["9" * 400, "-" + "9" * 400, "1e9", "١٢٣", BAD_UTF8, "\u00e9", " " + str(now), "0x10"]:
        yield Shot("POST", "/api/v1/tickets", {**intake_headers(ok, now), "X-Hotline-Timestamp": ts}, ok)
        yield Shot("POST", f"/webhooks/dingtalk/{BOT}", {"timestamp": ts, "sign": "x"}, ok)
        yield Shot("POST", f"/webhooks/feishu/{BOT}", {"X-Lark-Request-Timestamp": ts, "X-Lark-Request-Nonce": ts,
                                                      "X-Lark-Signature": "x"}, ok)
        yield Shot("POST", f"/webhooks/wecom/{BOT}?msg_signature=x&timestamp={ts}&nonce=1", {}, ok)
    for sig in ["é" * 64, BAD_UTF8, "签名"]:
        yield Shot("POST", "/api/v1/tickets", {**intake_headers(ok, now), "X-Hotline-Signature": sig}, ok)
        yield Shot("GET", "/api/v1/tickets", {"Authorization": "Bearer " + sig})
        yield Shot("POST", f"/webhooks/sms/log?token={sig}", {}, ok)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    for query in ["offset=" + "9" * 30, "limit=" + "9" * 30, "offset=-" + "9" * 30, "limit=" + "9" * 5000,
                  "offset=%D9%A1%D9%A2", "state=%00", "unit=%00", "tag=%00", "unit=" + "u" * 10_000,
                  "tag=" + "t" * 10_000, "state=%FF", "offset=1e3", "overdue=%00"]:
        yield Shot("GET", f"/api/v1/tickets?{query}", auth)
    for path in ["/api/v1/tickets/%00/%00", "/api/v1/tickets/12345/" + "9" * 5000, "/api/v1/tickets/%FF/%FE",
                 "/api/v1/tickets/12345/%ED%A0%80", f"/webhooks/wecom/{BOT}%00", "/webhooks/feishu/%FF",
                 "/c/%00", "/c/" + "x" * 5000, "/c/%FF%FE", "/console/tickets/%00/%00",
                 "/console/tickets?state=%00", "/console/tickets?q=%00", "/console/login?next=%00"]:
        yield Shot("GET", path, auth)
        yield Shot("POST", path, {**auth, "Content-Type": "application/x-www-form-urlencoded"}, b"a=%00&b=%FF")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in [b"name=" + b"n" * 1_000_000 + b"&password=x", b"name=%FF%FE&password=%00",
                 "name=张承办&password=é".encode(), b"name=&password=", b"%%%%", b"name=a&name=b",
                 b"name=%ED%A0%80&password=x"]:
        yield Shot("POST", "/console/login", form, body)
        yield Shot("POST", "/console/login/link", form, body)
    yield Shot("POST", "/console/login", {"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\n\r\n")
    yield Shot("POST", "/c/abc", form, b"decision=%00&csrf=%FF")
    yield Shot("POST", f"/webhooks/sms/log?token={SMS_TOKEN}", {"Content-Type": "application/json; charset=gbk"},
               "{\"phone\": \"13812341234\"}".encode("utf-16"))


MALFORMED_HTTP: list[bytes] = [
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST / HTTP/1.1\r\nHost: x\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 70_000 + b"\r\n\r\n",
]
