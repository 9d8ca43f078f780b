"""``[platforms.feishu.<bot>]``: one Feishu self-built app bot (``docs/configuration.md``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The default freshness window of a callback's timestamp (seconds): Feishu's retries + 1 h.
FRESHNESS_SECONDS = 7 * 3600.0


class FeishuBotConfig(BaseModel):
    """One bot: how it receives (long connection or webhook), its app credentials and limits.

    Limits default to Feishu's documented ones (``docs/platforms/feishu.md``, rate limits): a custom bot 100 messages a
    minute; the app API 5 messages a second per group and per user.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["longconn", "webhook"] = Field("longconn", description="接收方式：longconn 长连接（无需公网地址）或 webhook 回调")
    name: str = Field("", description="机器人显示名，不知道其 open_id 时据此去掉 @名字")
    app_id: str = Field("", description="自建应用的 App ID")
    app_secret: str = Field("", description="自建应用的 App Secret")
    verification_token: str = Field("", description="事件订阅的 Verification Token（webhook 模式必填）")
    encrypt_key: str = Field("", description="事件订阅的 Encrypt Key（设了则回调加密）")
    api_base: str = Field("https://open.feishu.cn", description="飞书开放平台地址（代理时改）")
    robot_messages_per_minute: int = Field(default=100, gt=0, description="自定义机器人每分钟最多发的条数")
    chat_messages_per_second: int = Field(default=5, gt=0, description="应用每秒向同一个群最多发的条数")
    user_messages_per_second: int = Field(default=5, gt=0, description="应用每秒向同一个人最多发的条数")
    # Feishu documents no timestamp window for X-Lark-Request-Timestamp, but it retries a failed
    # push for up to about 6 h (15 s, 5 min, 1 h, 6 h): 7 h keeps those retries and refuses a
    # captured, validly signed callback replayed later with a new event id. 0 turns the check off.
    max_timestamp_skew: float = Field(default=FRESHNESS_SECONDS, ge=0,
                                      description="回调时间戳允许的偏差（秒），默认 7 小时；0 为不检查")

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


class FeishuChatOptions(BaseModel):
    """A Feishu group's own keys in ``[[units]] chats``: its custom bot."""

    model_config = ConfigDict(extra="forbid")

    robot_token: str = Field("", description="飞书群自定义机器人 webhook 地址末尾的 hook id（只发不收）")
    robot_secret: str = Field("", description="飞书自定义机器人的签名校验密钥")
