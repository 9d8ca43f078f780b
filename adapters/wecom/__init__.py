"""WeCom (企业微信): the 智能机器人 adapter, its crypto, wire bodies, cards and long connection."""

from __future__ import annotations

from adapters.wecom.adapter import WeComAdapter
from adapters.wecom.config import WeComBotConfig, WeComChatOptions
from bot.platforms import PlatformDeps, PlatformSpec


def _build(bots: dict[str, WeComBotConfig], deps: PlatformDeps) -> WeComAdapter:
    return WeComAdapter(bots, clock=deps.clock, metrics=deps.metrics, instance_id=deps.instance_id, chats=deps.chats,
                        lease=deps.lease)


def _credential_problems(name: str, bot: WeComBotConfig) -> list[str]:
    if bot.mode == "longconn" and not (bot.bot_id or bot.has_app or bot.token):
        return [f"platforms.wecom.{name}.bot_id：长连接模式需要 bot_id 和 secret "
                "/ longconn mode needs bot_id and secret"]
    return []


PLATFORM = PlatformSpec(name="wecom", config_model=WeComBotConfig, factory=_build,
                        docs="企业微信机器人，每个 [platforms.wecom.<名称>] 一个",
                        chat_options=WeComChatOptions, credential_problems=_credential_problems)
