"""The intake API (docs/api.md), over HTTP against the real app and store."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from store.models import AuditEvent, OutboxMessage, Ticket
from tests.conftest import API_TOKEN, ticket_body


async def test_created_then_identical_then_conflict(make_bot) -> None:
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body())
    assert r.status == 201
    view = await r.json()
    assert view["state"] == "registered"
    assert view["citizen"] == {"name": "张*", "phone": "138****1234"}
    # 松江 普通 12345: 7 working days after Mon 2026-11-23 → Wed 2026-12-02 17:30; internal 6wd.
    assert view["deadline"] == "2026-12-02T17:30:00+08:00"
    assert view["internal_due"] == "2026-12-01T17:30:00+08:00"
    assert view["first_contact_due"] == "2026-11-24T17:30:00+08:00"
    assert view["events"][0]["action"] == "register"

    again = await bot.post_ticket(ticket_body())
    assert again.status == 200
    assert (await again.json())["number"] == "202611230001"

    changed = await bot.post_ticket(ticket_body(content="另一件事"))
    assert changed.status == 409
    err = await changed.json()
    assert err["error"] == "conflict" and "number" in err["fields"]


async def test_twenty_simultaneous_posts_create_once(make_bot) -> None:
    bot = await make_bot()
    results = await asyncio.gather(*(bot.post_ticket(ticket_body()) for _ in range(20)))
    statuses = sorted(r.status for r in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 19
    async with bot.ctx.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Ticket))).scalar_one() == 1
        registers = (await s.execute(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "register"))).scalar_one()
    assert registers == 1


async def test_bad_fields_are_named(make_bot) -> None:
    bot = await make_bot()
    body = ticket_body(received_at="2026-11-23 09:30", colour="red")
    body.pop("content")
    r = await bot.post_ticket(body)
    assert r.status == 400
    err = await r.json()
    assert set(err["fields"]) == {"received_at", "colour", "content"}
    assert err["error"] == "invalid" and err["message"]


async def test_naive_time_rejected_with_reason(make_bot) -> None:
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body(received_at="2026-11-23T09:30:00"))
    assert r.status == 400
    assert "时区" in (await r.json())["fields"]["received_at"]


async def test_signature_checks(make_bot) -> None:
    bot = await make_bot()
    body = json.dumps(ticket_body()).encode()
    forged = await bot.client.post("/api/v1/tickets", data=body,
                                   headers=bot.signed_headers(body, secret="wrong"))
    assert forged.status == 401
    stale = await bot.client.post("/api/v1/tickets", data=body, headers=bot.signed_headers(
        body, timestamp=int(bot.clock.now().timestamp()) - 301))
    assert stale.status == 401
    fresh_edge = await bot.client.post("/api/v1/tickets", data=body, headers=bot.signed_headers(
        body, timestamp=int(bot.clock.now().timestamp()) - 299))
    assert fresh_edge.status == 201
    missing = await bot.client.post("/api/v1/tickets", data=body, headers={"Content-Type": "application/json"})
    assert missing.status == 401
    assert (await missing.json())["error"] == "unsigned"


async def test_status_codes_for_body_problems(make_bot) -> None:
    bot = await make_bot()
    not_json = b"number=1"
    headers = bot.signed_headers(not_json)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert (await bot.client.post("/api/v1/tickets", data=not_json, headers=headers)).status == 415
    assert (await bot.post_ticket(b"{not json")).status == 400
    assert (await bot.post_ticket(b"[1, 2]")).status == 400
    big = json.dumps(ticket_body(content="长" * 600_000)).encode()
    r = await bot.post_ticket(big)
    assert r.status == 413
    assert (await r.json())["error"] == "too_large"


async def test_chunked_bodies_are_read_and_limited_too(make_bot) -> None:
    """Without Content-Length the body is counted while it is read (the 413 is ours, in JSON)."""
    bot = await make_bot()

    def chunked(body: bytes):  # type: ignore[no-untyped-def]
        async def gen():  # type: ignore[no-untyped-def]
            for i in range(0, len(body), 4096):
                yield body[i:i + 4096]
        return gen()

    small = json.dumps(ticket_body(number="CH-1"), ensure_ascii=False).encode()
    r = await bot.client.post("/api/v1/tickets", data=chunked(small), headers=bot.signed_headers(small))
    assert r.status == 201 and (await r.json())["number"] == "CH-1"
    big = json.dumps(ticket_body(number="CH-2", content="长" * 600_000)).encode()
    r = await bot.client.post("/api/v1/tickets", data=chunked(big), headers=bot.signed_headers(big))
    assert r.status == 413 and (await r.json())["error"] == "too_large"


async def test_unit_in_body_dispatches_in_same_transaction(make_bot) -> None:
    bot = await make_bot()
    r = await bot.post_ticket(ticket_body(unit="YLK"))
    assert r.status == 201
    view = await r.json()
    assert view["state"] == "dispatched" and view["unit"] == "YLK"
    async with bot.ctx.sessions() as s:
        rows = list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "assignment"))).scalars())
    assert len(rows) == 1
    assert rows[0].destination["chat_id"] == "ylk"
    text = rows[0].payload["text"]
    assert "202611230001" in text and "138****1234" in text and "13812341234" not in text
    assert rows[0].payload["actions"][0]["command"] == "签收"


async def test_routing_rule_dispatches(make_bot) -> None:
    bot = await make_bot(procedure={"preset": "songjiang", "routing": [{"unit": "SHJZK", "keywords": ["低保"]}]})
    r = await bot.post_ticket(ticket_body(content="申请低保需要什么材料？"))
    assert (await r.json())["unit"] == "SHJZK"


async def test_read_api(make_bot) -> None:
    bot = await make_bot()
    for i in range(3):
        await bot.post_ticket(ticket_body(number=f"N{i:04d}", content=f"诉求 {i}", tags=["涉稳"] if i == 1 else []))
    assert (await bot.get("/api/v1/tickets/12345/N0001", token=None)).status == 401
    assert (await bot.get("/api/v1/tickets/12345/N0001", token="nope")).status == 401
    assert (await bot.get("/api/v1/tickets/12345/NOPE")).status == 404
    one = await (await bot.get("/api/v1/tickets/12345/N0001")).json()
    assert one["tags"] == ["涉稳"] and one["citizen"]["phone"] == "138****1234"
    page = await (await bot.get("/api/v1/tickets?limit=2")).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    tagged = await (await bot.get("/api/v1/tickets?tag=涉稳")).json()
    assert [t["number"] for t in tagged["items"]] == ["N0001"]
    bot.clock.advance(days=30)
    overdue = await (await bot.get("/api/v1/tickets?overdue=1")).json()
    assert overdue["total"] == 3
    assert (await bot.get("/api/v1/tickets?state=bogus")).status == 400
    assert API_TOKEN


async def test_health_and_metrics(make_bot) -> None:
    bot = await make_bot()
    r = await bot.client.get("/healthz")
    assert r.status == 200 and (await r.json())["status"] == "ok"
    await bot.post_ticket(ticket_body(unit="YLK"))
    text = await (await bot.client.get("/metrics")).text()
    assert 'hotline_tickets{state="dispatched"} 1.0' in text
    assert 'hotline_outbox_depth{channel="chat"} 1.0' in text
    assert "hotline_intake_seconds_bucket" in text
    await bot.ctx.engine.dispose()
    bot.ctx.engine.sync_engine.pool  # noqa: B018 - a disposed engine reconnects; break the URL instead
    bot.ctx.engine = __import__("store.db", fromlist=["create_engine"]).create_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    # /healthz answers from a background probe (store.health): the broken store shows at its next
    # round, a fraction of a second later
    for _ in range(100):
        down = await bot.client.get("/healthz")
        if down.status != 200:
            break
        await asyncio.sleep(0.05)
    assert down.status == 503
