"""Feishu (飞书): the app-bot adapter, its crypto, cards, event decoding and long connection."""

from __future__ import annotations

from adapters.feishu.adapter import FeishuAdapter
from adapters.feishu.config import FeishuBotConfig, FeishuChatOptions
from bot.platforms import PlatformDeps, PlatformSpec, missing_keys


def _build(bots: dict[str, FeishuBotConfig], deps: PlatformDeps) -> FeishuAdapter:
    return FeishuAdapter(bots, clock=deps.clock, metrics=deps.metrics, instance_id=deps.instance_id, chats=deps.chats)


def _credential_problems(name: str, bot: FeishuBotConfig) -> list[str]:
    return missing_keys("feishu", name, bot, ("app_id", "app_secret"), "飞书开发者后台 → 凭证与基础信息")


PLATFORM = PlatformSpec(name="feishu", config_model=FeishuBotConfig, factory=_build,
                        docs="飞书机器人，每个 [platforms.feishu.<名称>] 一个",
                        chat_options=FeishuChatOptions, credential_problems=_credential_problems)
