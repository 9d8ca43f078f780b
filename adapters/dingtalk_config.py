"""Configuration of one DingTalk bot: ``[platforms.dingtalk.<bot>]`` (DESIGN §4)."""

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
    ``adapters.dingtalk_cards``); empty means buttons are sent as text commands.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["stream", "http"] = "stream"
    name: str = ""
    app_key: str = ""
    app_secret: str = ""
    robot_code: str = ""
    api_base: str = PUBLIC_API_BASE
    oapi_base: str = PUBLIC_OAPI_BASE
    ws_url: str = ""
    card_template_id: str = ""
    # Per-destination limits for the shared sender (PLATFORMS.md §2.6).
    robot_rate_limit: int = Field(default=20, ge=1)  # custom robot: 20 messages …
    robot_rate_window: float = Field(default=60.0, gt=0)  # … per minute
    api_rate_limit: int = Field(default=20, ge=1)  # OpenAPI: 20 QPS per app (standard edition)
    api_rate_window: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _defaults(self) -> DingTalkBotConfig:
        """Fill ``robot_code`` from ``app_key``; keep bases without a trailing slash."""
        if not self.robot_code:
            self.robot_code = self.app_key
        self.api_base = self.api_base.rstrip("/")
        self.oapi_base = self.oapi_base.rstrip("/")
        return self
