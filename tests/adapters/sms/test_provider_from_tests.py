"""A provider registered from tests/ only (the pigeon) runs the whole loop through the real bot.

No product file names it: the registry entry, the ``[sms.pigeon]`` section model, the wire format
and the fake server all live in ``tests/fakes/pigeon_sms.py``. 同意 → the answer SMS goes through
it (the base class's reserve/post/result skeleton) → its receipt marks it delivered → the citizen's
reply is recorded and archives the ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from bot.sms_gateway import SMS_GATEWAY
from bot.sms_providers import SmsConfig, SmsProviderEntry, build_provider, entries, register, unregister
from tests.bot.sms_rig import NUMBER, PHONE, TOKEN, UNIT, Rig
from tests.fakes.pigeon_sms import ENTRY, NAME, FakePigeon, PigeonSmsProvider, config_with_pigeon
from tests.handlers.chat import Chat

KEY = "pigeon-key"


@pytest.fixture
def pigeon() -> Iterator[SmsProviderEntry]:
    """The pigeon registered for one test."""
    register(ENTRY)
    yield ENTRY
    unregister(NAME)


async def pigeon_rig(make_bot: Any, aiohttp_server: Any, clock: Any) -> Rig:
    fake = FakePigeon(key=KEY)
    server = await aiohttp_server(fake.make_app())
    bot = await make_bot(sms={"provider": NAME, "callback_token": TOKEN,
                              NAME: {"url": str(server.make_url("/send")), "key": KEY}})
    return Rig(NAME, bot, Chat(bot), fake, clock)


async def test_registered_provider_sends_and_takes_receipts_and_replies(pigeon, make_bot, aiohttp_server,
                                                                         clock) -> None:
    r = await pigeon_rig(make_bot, aiohttp_server, clock)
    assert isinstance(r.bot.client.app[SMS_GATEWAY].provider, PigeonSmsProvider)
    await r.answered()
    await r.drain()

    [sent] = r.accepted()
    [sms] = await r.sms()
    assert sent.to == PHONE and sent.ref == sms.out_id
    assert sent.text.startswith(f"answer｜工单{NUMBER}｜{UNIT}｜") and sms.text and sms.text in sent.text
    assert sms.state == "sent" and sms.provider == NAME and sms.provider_id == sent.id == "pg-1"
    [event] = await r.audit("sms_sent")
    assert event.detail["provider"] == NAME and event.detail["phone"] == "138****1234"

    resp = await r.push([{"event": "delivered", "id": sent.id, "phone": PHONE}])
    assert resp.status == 200 and await resp.text() == "OK"
    [sms] = await r.sms()
    assert sms.state == "delivered"

    resp = await r.push([{"event": "reply", "phone": PHONE, "text": "1"}])
    assert resp.status == 200 and await resp.text() == "OK"
    ticket = await r.ticket()
    assert ticket.state == "archived" and ticket.feedback == "满意"
    [reply] = await r.replies()
    assert reply.ticket_id == ticket.id and reply.phone == PHONE and reply.verdict == "满意"

    resp = await r.push([{"event": "reply", "phone": PHONE, "text": "1"}], provider="aliyun")
    assert resp.status == 404  # only the configured provider's route answers


def test_registered_provider_is_a_config_choice_and_leaves_with_its_entry(pigeon) -> None:
    config = config_with_pigeon("http://127.0.0.1:9/send", KEY)
    assert isinstance(build_provider(config), PigeonSmsProvider)
    assert [e.name for e in entries()][-1] == NAME
    with pytest.raises(ValidationError) as info:
        SmsConfig.model_validate({"provider": NAME, NAME: {"url": "http://x/send"}})
    assert "sms.pigeon.key：选用 provider = 'pigeon' 时必须填写" in str(info.value)
    with pytest.raises(ValidationError) as info:
        SmsConfig.model_validate({"provider": NAME, NAME: {"url": "http://x/send", "kye": "typo"}})
    assert "pigeon" in str(info.value) and "kye" in str(info.value)
    with pytest.raises(ValueError, match="registered twice"):
        register(ENTRY)


def test_unregistered_name_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValidationError) as info:
        SmsConfig.model_validate({"provider": NAME})
    assert "应为以下之一：log、aliyun、tencent、generic" in str(info.value)
