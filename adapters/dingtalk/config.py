"""Configuration of one DingTalk bot: ``[platforms.dingtalk.<bot>]`` (``docs/configuration.md``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PUBLIC_API_BASE = "https://api.dingtalk.com"
PUBLIC_OAPI_BASE = "https://oapi.dingtalk.com"


class DingTalkBotConfig(BaseModel):
    """One 企业内部应用 robot, plus the limits the shared sender applies to it.

    ``mode``: ``stream`` (default; outbound WebSocket, no public URL) or ``http`` (DingTalk POSTs
    robot messages to ``/webhooks/dingtalk/{bot}``). ``robot_code`` defaults to ``app_key``.
    ``ws_url``, when set, replaces the endpoint DingTalk hands out with each Stream ticket (for a
    proxy); empty means use the endpoint from ``/v1.0/gateway/connections/open``.
    ``card_template_id`` is the 卡片平台 template used for cards with buttons (see
    ``adapters.dingtalk.cards``); empty means buttons are sent as text commands.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["stream", "http"] = Field("stream", description="接收方式：stream 长连接（无需公网地址）或 http 回调")
    name: str = Field("", description="机器人显示名，消息里的 @名字 会被去掉")
    app_key: str = Field("", description="企业内部应用的 AppKey（Client ID）")
    app_secret: str = Field("", description="企业内部应用的 AppSecret（Client Secret）")
    robot_code: str = Field("", description="机器人 robotCode；留空则同 app_key")
    api_base: str = Field(PUBLIC_API_BASE, description="钉钉新版接口地址（代理时改）")
    oapi_base: str = Field(PUBLIC_OAPI_BASE, description="钉钉旧版接口地址（代理时改）")
    ws_url: str = Field("", description="Stream 长连接地址；留空则用钉钉分配的地址")
    card_template_id: str = Field("", description="卡片平台模板 ID；留空则按钮以文字命令发送")
    # Per-destination limits for the shared sender (``docs/platforms/dingtalk.md``, rate limits).
    robot_rate_limit: int = Field(default=20, ge=1, description="自定义机器人每个时间窗最多发的条数")  # 20 …
    robot_rate_window: float = Field(default=60.0, gt=0, description="自定义机器人的时间窗（秒）")  # … a minute
    api_rate_limit: int = Field(default=20, ge=1, description="开放接口每个时间窗最多调用次数")  # 20 QPS (standard edition)
    api_rate_window: float = Field(default=1.0, gt=0, description="开放接口的时间窗（秒）")

    @model_validator(mode="after")
    def _defaults(self) -> DingTalkBotConfig:
        """Fill ``robot_code`` from ``app_key``; keep bases without a trailing slash."""
        if not self.robot_code:
            self.robot_code = self.app_key
        self.api_base = self.api_base.rstrip("/")
        self.oapi_base = self.oapi_base.rstrip("/")
        return self


class DingTalkChatOptions(BaseModel):
    """A DingTalk group's own keys in ``[[units]] chats``: its custom robot."""

    model_config = ConfigDict(extra="forbid")

    robot_token: str = Field("", description="钉钉自定义机器人的 access_token（只发不收）")
    robot_secret: str = Field("", description="钉钉自定义机器人的加签密钥")
