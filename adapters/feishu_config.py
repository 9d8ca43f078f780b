"""``[platforms.feishu.<bot>]``: one Feishu self-built app bot (DESIGN.md §4)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class FeishuBotConfig(BaseModel):
    """One bot: how it receives (long connection or webhook), its app credentials and limits.

    Limits default to Feishu's documented ones (PLATFORMS.md §3.5): a custom bot 100 messages a
    minute; the app API 5 messages a second per group and per user.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["longconn", "webhook"] = "longconn"
    name: str = ""  # display name, to strip the bot's @mention when its open_id is not known
    app_id: str = ""
    app_secret: str = ""
    verification_token: str = ""
    encrypt_key: str = ""
    api_base: str = "https://open.feishu.cn"
    robot_messages_per_minute: int = Field(default=100, gt=0)
    chat_messages_per_second: int = Field(default=5, gt=0)
    user_messages_per_second: int = Field(default=5, gt=0)
    # Feishu documents no timestamp window for X-Lark-Request-Timestamp; 0 keeps the check off.
    max_timestamp_skew: float = Field(default=0.0, ge=0)

    @field_validator("api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_needs_token(self) -> FeishuBotConfig:
        if self.mode == "webhook" and not self.verification_token:
            raise ValueError("webhook mode needs verification_token (飞书开发者后台 → 事件与回调 → 加密策略)")
        return self

    @property
    def has_app(self) -> bool:
        """Whether app credentials are set (needed for the app API and the long connection)."""
        return bool(self.app_id and self.app_secret)
