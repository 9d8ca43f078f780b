"""Config of one WeCom bot: ``[platforms.wecom.<bot>]`` (DESIGN §4)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.wecom_crypto import aes_key_from_encoding

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"


class WeComBotConfig(BaseModel):
    """One WeCom bot: an AI bot (智能机器人, long connection or webhook) plus, optionally, the
    self-built app (自建应用) used for direct messages and app cards.

    Rate limits are the documented ones (PLATFORMS.md §1.5); a shared sender applies them.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["longconn", "webhook"] = "longconn"
    name: str = ""  # the bot's display name, stripped from "@name" in messages
    bot_id: str = ""  # AI bot id (long connection auth)
    secret: str = ""  # AI bot secret (long connection auth)
    token: str = ""  # callback Token (webhook mode / app callbacks)
    aes_key: str = ""  # callback EncodingAESKey, 43 characters
    corp_id: str = ""  # 企业ID, for the app API and the receiveid of app callbacks
    agent_id: int = 0  # 自建应用 AgentId
    app_secret: str = ""  # 自建应用 Secret
    api_base: str = DEFAULT_API_BASE
    ws_url: str = DEFAULT_WS_URL

    # Limits (messages per window seconds); documented defaults.
    robot_rate_limit: int = Field(20, ge=1)  # 消息推送 webhook: 20 per minute per robot
    robot_rate_window: float = Field(60.0, gt=0)
    app_rate_limit: int = Field(30, ge=1)  # app messages: same member <= 30 per minute
    app_rate_window: float = Field(60.0, gt=0)
    aibot_rate_limit: int = Field(30, ge=1)  # AI bot push: 30 per minute per chat [third-party]
    aibot_rate_window: float = Field(60.0, gt=0)

    # Transport tuning.
    max_body_bytes: int = Field(1_048_576, ge=1024)
    request_timeout: float = Field(10.0, gt=0)
    heartbeat_interval: float = Field(30.0, gt=0)
    reconnect_min: float = Field(1.0, gt=0)
    reconnect_max: float = Field(30.0, gt=0)
    lease_ttl: float = Field(60.0, gt=0)

    @field_validator("api_base")
    @classmethod
    def _base_is_scheme_and_host(cls, value: str) -> str:
        value = value.rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError("api_base must be scheme and host only, e.g. https://qyapi.weixin.qq.com")
        return value

    @field_validator("ws_url")
    @classmethod
    def _ws_scheme(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("ws", "wss", "http", "https"):
            raise ValueError("ws_url must be a ws:// or wss:// URL")
        return value

    @field_validator("aes_key")
    @classmethod
    def _aes_key_shape(cls, value: str) -> str:
        if value:
            aes_key_from_encoding(value)  # raises ValueError naming the problem
        return value

    @model_validator(mode="after")
    def _mode_needs(self) -> WeComBotConfig:
        if bool(self.bot_id) != bool(self.secret):
            raise ValueError("bot_id and secret must be given together")
        if bool(self.token) != bool(self.aes_key):
            raise ValueError("token and aes_key must be given together")
        if self.mode == "webhook" and not self.token:
            raise ValueError("mode = \"webhook\" needs token and aes_key")
        if self.app_secret and not (self.corp_id and self.agent_id):
            raise ValueError("app_secret needs corp_id and agent_id")
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be >= reconnect_min")
        return self

    @property
    def has_app(self) -> bool:
        """True when the self-built app API (message/send) is configured."""
        return bool(self.corp_id and self.app_secret and self.agent_id)

    @property
    def has_callback(self) -> bool:
        """True when webhook callbacks can be verified (token and aes_key set)."""
        return bool(self.token and self.aes_key)

    @property
    def has_longconn(self) -> bool:
        """True when this bot should hold the AI-bot long connection."""
        return self.mode == "longconn" and bool(self.bot_id and self.secret)
