"""DingTalk (钉钉): the app-robot adapter, its crypto, cards, outbound bodies and Stream connection."""

from __future__ import annotations

from adapters.dingtalk.adapter import DingTalkAdapter
from adapters.dingtalk.config import DingTalkBotConfig, DingTalkChatOptions
from bot.platforms import PlatformDeps, PlatformSpec, missing_keys


def _build(bots: dict[str, DingTalkBotConfig], deps: PlatformDeps) -> DingTalkAdapter:
    return DingTalkAdapter(bots, clock=deps.clock, metrics=deps.metrics, instance_id=deps.instance_id, chats=deps.chats,
                          sessions=deps.sessions)


def _credential_problems(name: str, bot: DingTalkBotConfig) -> list[str]:
    return missing_keys("dingtalk", name, bot, ("app_key", "app_secret"), "钉钉开放平台 → 应用凭证")


PLATFORM = PlatformSpec(name="dingtalk", config_model=DingTalkBotConfig, factory=_build,
                        docs="钉钉机器人，每个 [platforms.dingtalk.<名称>] 一个",
                        chat_options=DingTalkChatOptions, credential_problems=_credential_problems)
