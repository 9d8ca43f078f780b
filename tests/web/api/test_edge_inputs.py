"""Hostile intake and read-API requests (issue 14, root causes 1–5 and 12): each is answered 4xx
naming what is wrong, the same on SQLite and PostgreSQL, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from store.models import Ticket
from tests.conftest import API_TOKEN, ticket_body
from tests.fuzz.raw import send
from tests.fuzz.world import Shot, intake_headers


async def _tickets(bot: Any) -> int:
    async with bot.ctx.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(Ticket))).scalar_one())


async def _raw(bot: Any, shot: Shot) -> int:
    return await send(bot.client.host, bot.client.port, shot)


@pytest.mark.parametrize("signature", ["é" * 64, "签名", "\udcff\udcfe"])
async def test_non_ascii_signature_is_401_not_500(make_bot: Any, signature: str) -> None:
    # Root cause 1: hmac.compare_digest raised TypeError on non-ASCII str.
    bot = await make_bot()
    body = json.dumps(ticket_body()).encode()
    headers = {**intake_headers(body, int(bot.clock.now().timestamp())), "X-Hotline-Signature": signature}
    assert await _raw(bot, Shot("POST", "/api/v1/tickets", headers, body)) == 401
    assert await _raw(bot, Shot("GET", "/api/v1/tickets", {"Authorization": "Bearer " + signature})) == 401
    assert await _tickets(bot) == 0


@pytest.mark.parametrize("stamp", ["9" * 400, "-" + "9" * 400, "١٢٣٤", "1e9", "0x10"])
async def test_absurd_timestamp_is_401(make_bot: Any, stamp: str) -> None:
    # Root cause 2: int() of hundreds of digits overflowed the float comparison.
    bot = await make_bot()
    body = json.dumps(ticket_body()).encode()
    r = await _raw(bot, Shot("POST", "/api/v1/tickets", intake_headers(body, 0, ts=stamp), body))
    assert r == 401


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"number": ' + b"9" * 5000 + b"}",
                                  b'{"content": "\\ud800"}', b'{"a": 1e999999}'])
async def test_hostile_json_is_400_invalid_json(make_bot: Any, body: bytes) -> None:
    # Root cause 3: RecursionError / ValueError escaped json.loads.
    bot = await make_bot()
    r = await bot.post_ticket(body)
    assert r.status == 400 and (await r.json())["error"] == "invalid_json"


@pytest.mark.parametrize(("field", "value"), [
    ("received_at", "0001-01-01T00:00:00+14:00"), ("received_at", "9999-12-31T23:59:59-12:00"),
    ("deadline", "9999-12-31T23:59:59+00:00"), ("received_at", "1999-12-31T23:59:59+08:00")])
async def test_implausible_dates_are_400_with_the_field(make_bot: Any, field: str, value: str) -> None:
    # Root cause 4: the calendar and the store overflowed near year 1 and 9999.
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body(**{field: value}))
    err = await r.json()
    assert r.status == 400 and "2000" in err["fields"][field], err
    assert await _tickets(bot) == 0


async def test_event_deadline_out_of_range_is_400(make_bot: Any) -> None:
    bot = await make_bot()
    assert (await bot.post_ticket(ticket_body())).status == 201
    r = await bot.post_event("12345", "202611230001", {"type": "extension_decision", "granted": True,
                                                        "deadline": "9999-12-31T23:59:59-12:00"})
    assert r.status == 400 and "deadline" in (await r.json())["fields"]


@pytest.mark.parametrize(("query", "field"), [("offset=" + "9" * 30, "offset"), ("offset=10000001", "offset"),
                                              ("limit=" + "9" * 5000, "limit"), ("tag=a%00", "tag"),
                                              ("unit=" + "u" * 65, "unit")])
async def test_read_api_bounds(make_bot: Any, query: str, field: str) -> None:
    # Root causes 5 and 12: 10**30 overflowed SQLite / int64; a NUL broke PostgreSQL.
    bot = await make_bot()
    r = await bot.get(f"/api/v1/tickets?{query}")
    assert r.status == 400 and field in (await r.json())["fields"]


async def test_read_api_far_offset_within_bounds_is_an_empty_page(make_bot: Any) -> None:
    bot = await make_bot()
    assert (await bot.post_ticket(ticket_body())).status == 201
    r = await bot.get("/api/v1/tickets?offset=10000000")
    assert r.status == 200 and await r.json() == {"items": [], "total": 1}


@pytest.mark.parametrize(("field", "value"), [
    ("content", "路灯\u0000不亮"), ("number", "2026\u00001"), ("number", "9" * 65), ("source", "s" * 33),
    ("title", "t\u0000"), ("tags", ["a\u0000"])])
async def test_nul_and_overlong_strings_are_400_on_every_store(make_bot: Any, field: str, value: Any) -> None:
    # Root cause 12: PostgreSQL refused NUL and over-long VARCHAR with a 500, SQLite stored them.
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body(**{field: value}))
    err = await r.json()
    assert r.status == 400 and any(k.startswith(field) for k in err["fields"]), err
    assert await _tickets(bot) == 0


@pytest.mark.parametrize("path", ["/api/v1/tickets/12345/a%00b", "/api/v1/tickets/%00/1",
                                  "/api/v1/tickets/12345/" + "9" * 65])
async def test_nul_in_the_path_is_400(make_bot: Any, path: str) -> None:
    bot = await make_bot()
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert await _raw(bot, Shot("GET", path, auth)) == 400
    body = b'{"type": "urge"}'
    headers = intake_headers(body, int(bot.clock.now().timestamp()))
    assert await _raw(bot, Shot("POST", path + "/events", headers, body)) == 400
