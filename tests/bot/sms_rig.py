"""The SMS test rig: the real bot with one provider pointed at a fake provider server.

``await rig(make_bot, aiohttp_server, clock, "aliyun")`` starts the fake (verifying signatures
and template variables with the providers' real codes) and the bot configured for it. The rig
answers a ticket through the real chat commands, drains the outbox with a real Sender, and posts
provider pushes to ``/webhooks/sms/<provider>`` as the provider would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from adapters.sms.generic import GenericGatewayConfig
from adapters.sms.templates import provider_template
from bot.clock import FrozenClock
from bot.sender import Sender
from bot.sms_gateway import SMS_GATEWAY
from store.models import AuditEvent, OutboxMessage, SmsMessage, SmsReplyRecord, Ticket
from tests.conftest import base_config, ticket_body
from tests.fakes.sms_servers import (
    FakeAliyunSms,
    FakeGenericGateway,
    FakeTencentSms,
    SentSms,
    aliyun_up,
    mas_reply,
    push_body,
    tencent_reply,
)
from tests.handlers.chat import Chat
from tests.handlers.test_workflow import GOOD_REPLY

TOKEN = "sms-callback-secret"
PHONE = "13812341234"
NUMBER = "202611230001"
UNIT = "养老服务科"
ALIYUN_KEY, ALIYUN_SECRET = "LTAI-TEST", "aliyun-test-secret"
TENCENT_ID, TENCENT_KEY, TENCENT_APP = "AKID-TEST", "tencent-test-key", "1400006666"
SIGN = "某某区民政局"
# The fakes hold the texts docs/sms.md tells an office to register, as the code renders them.
ALIYUN_TEMPLATES = {"SMS_100": provider_template("aliyun", "answer"),
                    "SMS_200": provider_template("aliyun", "receipt"),
                    "SMS_300": provider_template("aliyun", "delay"),
                    "SMS_400": provider_template("aliyun", "extension")}
TENCENT_TEMPLATES = {"1001": provider_template("tencent", "answer"),
                     "1002": provider_template("tencent", "receipt"),
                     "1003": provider_template("tencent", "delay"),
                     "1004": provider_template("tencent", "extension")}
PROVIDERS = ("log", "aliyun", "tencent", "generic")
ServerFactory = Callable[..., Awaitable[TestServer]]


def units_with(**ylk: Any) -> list[dict[str, Any]]:
    """The test config's units with the 养老服务科 (YLK) entry changed, e.g. a long name."""
    out = base_config("sqlite://")["units"]
    for unit in out:
        if unit["code"] == "YLK":
            unit.update(ylk)
    return out


def generic_config(url: str, **overrides: Any) -> dict[str, Any]:
    """A 云MAS-style gateway in text mode (it may carry the answer itself)."""
    cfg: dict[str, Any] = {
        "url": url, "secret": "mas-secret",
        "static_fields": {"ecName": "某某区民政局", "apId": "hotline", "sign": "SIGN01", "addSerial": ""},
    }
    cfg.update(overrides)
    return cfg


@dataclass
class Rig:
    """A bot, its chat, the fake provider and a sender."""

    name: str
    bot: Any
    chat: Chat
    fake: Any
    clock: FrozenClock
    sent_log: list[Any] = field(default_factory=list)

    @property
    def ctx(self) -> Any:
        return self.bot.ctx

    def sender(self) -> Sender:
        """A fresh sender (as after a restart: its rate windows start empty)."""
        return Sender(self.ctx)

    async def drain(self) -> None:
        """Deliver what is due now."""
        await self.sender().drain()

    def accepted(self) -> list[SentSms | Any]:
        """Messages the provider accepted (the log provider's own record for ``log``)."""
        if self.fake is None:
            return list(self.bot.client.app[SMS_GATEWAY].provider.sent)
        return list(self.fake.sent)

    def provider_requests(self) -> int:
        """How many send requests reached the provider."""
        if self.fake is None:
            return len(self.bot.client.app[SMS_GATEWAY].provider.sent)
        return len(self.fake.requests)

    async def answered(self, number: str = NUMBER, phone: str = PHONE) -> None:
        """Intake → 签收 → 答复 → 同意 through the real commands."""
        body = ticket_body(number, unit="YLK")
        body["citizen"] = {"name": "张三", "phone": phone, "address": "松江区某路1号"}
        r = await self.bot.post_ticket(body)
        assert r.status == 201, await r.text()
        await self.chat.say("张承办", f"签收 {number}")
        await self.chat.say("张承办", f"答复 {number} {GOOD_REPLY}")
        rows = await self.chat.say("李科长", f"同意 {number}")
        assert any(r.kind == "sms_answer" for r in rows), [r.kind for r in rows]

    async def push(self, items: Any, *, token: str | None = TOKEN, provider: str | None = None) -> Any:
        """POST a push body as the provider does."""
        path = f"/webhooks/sms/{provider or self.name}"
        if token is not None:
            path += f"?token={token}"
        body = items if isinstance(items, bytes) else push_body(items)
        return await self.bot.client.post(path, data=body, headers={"Content-Type": "application/json"})

    def receipt(self, sent: Any, *, delivered: bool = True) -> Any:
        """The delivery receipt this provider pushes for ``sent``."""
        if self.name == "aliyun":
            return [self.fake.report_for(sent, delivered=delivered)]
        if self.name == "tencent":
            return [self.fake.status_for(sent, delivered=delivered)]
        if self.name == "generic":
            return [self.fake.receipt_for(sent, delivered=delivered)]
        return [{"provider_id": sent.provider_id, "phone": sent.phone, "delivered": delivered,
                 "code": "DELIVRD" if delivered else "UNDELIV"}]

    def reply(self, text: str, phone: str = PHONE, seq: str = "1") -> Any:
        """The up-link push this provider sends when the citizen answers ``text``."""
        now = self.clock.now()
        if self.name == "aliyun":
            return [aliyun_up(phone=phone, content=text, sequence_id=seq, now=now)]
        if self.name == "tencent":
            return tencent_reply(mobile=phone, text=text, now=now)
        if self.name == "generic":
            return [mas_reply(mobile=phone, text=text, now=now)]
        return [{"phone": phone, "text": text, "at": now.isoformat()}]

    async def one(self, model: Any, *where: Any) -> Any:
        async with self.ctx.sessions() as s:
            return (await s.execute(select(model).where(*where))).scalar_one()

    async def all(self, model: Any, *where: Any) -> list[Any]:
        async with self.ctx.sessions() as s:
            return list((await s.execute(select(model).where(*where).order_by(model.id))).scalars())

    async def ticket(self, number: str = NUMBER) -> Ticket:
        return await self.one(Ticket, Ticket.number == number)

    async def sms(self, number: str = NUMBER) -> list[SmsMessage]:
        t = await self.ticket(number)
        return await self.all(SmsMessage, SmsMessage.ticket_id == t.id)

    async def replies(self) -> list[SmsReplyRecord]:
        return await self.all(SmsReplyRecord)

    async def audit(self, action: str) -> list[AuditEvent]:
        return await self.all(AuditEvent, AuditEvent.action == action)

    async def chat_rows(self, *, chat_id: str | None = None, kind: str | None = None) -> list[OutboxMessage]:
        """Chat outbox rows, optionally only one group's or one kind's."""
        rows = await self.all(OutboxMessage, OutboxMessage.channel == "chat")
        return [r for r in rows if (chat_id is None or r.destination.get("chat_id") == chat_id)
                and (kind is None or r.kind == kind)]

    async def sms_rows(self) -> list[OutboxMessage]:
        return await self.all(OutboxMessage, OutboxMessage.channel == "sms")


async def rig(make_bot: Callable[..., Any], aiohttp_server: ServerFactory, clock: FrozenClock, name: str,
              *, sms: dict[str, Any] | None = None, fake_kw: dict[str, Any] | None = None,
              **bot_overrides: Any) -> Rig:
    """Start the fake provider ``name`` and the bot configured for it."""
    now = lambda: clock.now().timestamp()  # noqa: E731 - the fakes check signature times against it
    fake_kw = fake_kw or {}
    section: dict[str, Any] = {"provider": name, "callback_token": TOKEN}
    fake: Any = None
    if name == "aliyun":
        fake = FakeAliyunSms(keys={ALIYUN_KEY: ALIYUN_SECRET}, sign_names={SIGN}, templates=ALIYUN_TEMPLATES,
                             now=now, **fake_kw)
        server = await aiohttp_server(fake.make_app())
        section["aliyun"] = {"access_key_id": ALIYUN_KEY, "access_key_secret": ALIYUN_SECRET, "sign_name": SIGN,
                             "templates": {"answer": "SMS_100", "receipt": "SMS_200", "delay": "SMS_300",
                                           "extension": "SMS_400"},
                             "api_base": str(server.make_url("")).rstrip("/")}
    elif name == "tencent":
        fake = FakeTencentSms(keys={TENCENT_ID: TENCENT_KEY}, sdk_app_id=TENCENT_APP, sign_names={SIGN},
                              templates=TENCENT_TEMPLATES, now=now, **{"param_max_length": 20, **fake_kw})
        server = await aiohttp_server(fake.make_app())
        # A realistic enterprise account: the variable limit raised to fit 12-digit ticket numbers.
        section["tencent"] = {"secret_id": TENCENT_ID, "secret_key": TENCENT_KEY, "sdk_app_id": TENCENT_APP,
                              "sign_name": SIGN, "templates": {"answer": "1001", "receipt": "1002", "delay": "1003",
                                                               "extension": "1004"},
                              "param_max_length": 20,
                              "api_base": str(server.make_url("")).rstrip("/")}
    elif name == "generic":
        gen = dict((sms or {}).pop("generic", {}))
        placeholder = generic_config("http://placeholder/sms/norsubmit", **gen)
        fake = FakeGenericGateway(GenericGatewayConfig(**placeholder), now=now, **fake_kw)
        server = await aiohttp_server(fake.make_app())
        section["generic"] = generic_config(str(server.make_url("/sms/norsubmit")), **gen)
    for key, value in (sms or {}).items():
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            section[key] = {**section[key], **value}
        else:
            section[key] = value
    bot = await make_bot(sms=section, **bot_overrides)
    return Rig(name, bot, Chat(bot), fake, clock)
