"""DingTalk's signed header pairs kept in the store (issue 14): two app instances on one store,
as behind a load balancer, know the pairs either of them saw; old pairs are pruned in batches."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from adapters.dingtalk.crypto import CALLBACK_WINDOW_MS
from adapters.dingtalk.replay import SignatureReplays
from store.queries import signature_pairs
from tests.fakes.dingtalk_server import http_callback, robot_message
from tests.system.world import BOT, BOT_NAME, CHATS, IDS, inbox_count, metric, org

SECRET = "ding-app-secret"
CONFIG = org("dingtalk", {"mode": "http", "name": BOT_NAME, "app_key": "dingappkey", "app_secret": SECRET})
PATH = f"/webhooks/dingtalk/{BOT}"


def message(event_id: str, text: str = " 签收 0001") -> dict[str, Any]:
    """A robot message of 张承办 in the YLK group."""
    return robot_message(text=text, msg_id=event_id, conversation_id=CHATS["dingtalk"]["YLK"],
                         sender_staff_id=IDS["dingtalk"]["张承办"])


def forge(timestamp_ms: int) -> bytes:
    """Another message whose times fit ``timestamp_ms``: only the replayed pair gives it away."""
    return http_callback(SECRET, message("ev-forged", text=" 退回 0001 不归我科"), timestamp_ms, restamp=True)[1]


def now_ms(bot: Any) -> int:
    return int(bot.clock.now().timestamp() * 1000)


async def post(bot: Any, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """POST a callback; its status and the refusal's ``error`` (empty when accepted)."""
    resp = await bot.client.post(PATH, data=body, headers=headers)
    error = (await resp.json())["error"] if resp.status != 200 else ""
    return resp.status, error


async def test_a_pair_seen_on_one_instance_cannot_carry_another_body_on_the_other(make_bot: Any) -> None:
    first, second = await make_bot(**CONFIG), await make_bot(**CONFIG)  # one store, two instances
    headers, body = http_callback(SECRET, message("ev-1"), now_ms(first), restamp=True)
    assert await post(first, headers, body) == (200, "")

    forged = forge(now_ms(first))
    assert await post(second, headers, forged) == (401, "replayed_signature")
    assert await metric(second, "hotline_webhook_rejected_total", platform="dingtalk",
                        reason="replayed_signature") == 1

    assert await post(second, headers, body) == (200, "")  # DingTalk's retry, on the other instance
    assert await inbox_count(first) == 1
    assert await metric(second, "hotline_inbox_events_total", platform="dingtalk", outcome="duplicate") == 1
    assert await signature_pairs.count(first.ctx.sessions) == 1


async def test_a_pair_arriving_on_both_instances_at_once_passes_with_one_body_only(make_bot: Any) -> None:
    first, second = await make_bot(**CONFIG), await make_bot(**CONFIG)
    headers, body = http_callback(SECRET, message("ev-1"), now_ms(first), restamp=True)
    forged = forge(now_ms(first))
    answers = await asyncio.gather(post(first, headers, body), post(second, headers, forged))
    assert sorted(answers) == [(200, ""), (401, "replayed_signature")]
    assert await inbox_count(first) == 1


async def test_pairs_older_than_two_windows_are_pruned(make_bot: Any) -> None:
    bot = await make_bot(**CONFIG)
    old_headers, old_body = http_callback(SECRET, message("ev-old"), now_ms(bot), restamp=True)
    assert await post(bot, old_headers, old_body) == (200, "")
    bot.clock.advance(timedelta(minutes=90))
    headers, body = http_callback(SECRET, message("ev-mid"), now_ms(bot), restamp=True)
    assert await post(bot, headers, body) == (200, "")
    assert await signature_pairs.count(bot.ctx.sessions) == 2  # the first is 1.5 windows old: kept

    bot.clock.advance(timedelta(minutes=31))
    headers, body = http_callback(SECRET, message("ev-new"), now_ms(bot), restamp=True)
    assert await post(bot, headers, body) == (200, "")
    assert await signature_pairs.count(bot.ctx.sessions) == 2  # the first went, 2 h 1 min old
    # Pruned, the old pair still cannot come back: its timestamp is out of the window.
    assert await post(bot, old_headers, old_body) == (401, "stale_timestamp")


async def test_prune_goes_in_batches_and_keeps_recent_pairs(make_bot: Any) -> None:
    bot = await make_bot(**CONFIG)
    sessions, now = bot.ctx.sessions, now_ms(bot)
    for i in range(25):
        assert await signature_pairs.first_or_same(sessions, BOT, str(now - 3 * CALLBACK_WINDOW_MS + i), f"s{i}",
                                                   hashlib.sha256(b"x").digest(), now - 3 * CALLBACK_WINDOW_MS + i)
    for i in range(3):
        assert await signature_pairs.first_or_same(sessions, BOT, str(now + i), f"r{i}",
                                                   hashlib.sha256(b"x").digest(), now + i)
    assert await signature_pairs.prune(sessions, now - 2 * CALLBACK_WINDOW_MS, batch=10, max_batches=2) == 20
    assert await signature_pairs.count(sessions) == 8
    assert await signature_pairs.prune(sessions, now - 2 * CALLBACK_WINDOW_MS, batch=10) == 5
    assert await signature_pairs.count(sessions) == 3
    assert not await signature_pairs.first_or_same(sessions, BOT, str(now), "r0", hashlib.sha256(b"y").digest(), now)


async def test_the_in_process_memory_stays_at_its_bound_under_a_flood_of_pairs() -> None:
    memory = SignatureReplays(max_pairs=100)
    for i in range(1_000):
        assert await memory.first_or_same(BOT, str(1_000 + i), f"sign-{i}", b"body", 1_000 + i)
    assert len(memory) == 100
