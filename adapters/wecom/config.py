"""Config of one WeCom bot: ``[platforms.wecom.<bot>]`` (``docs/configuration.md``)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.wecom.crypto import aes_key_from_encoding

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"


class WeComBotConfig(BaseModel):
    """One WeCom bot: an AI bot (智能机器人, long connection or webhook) plus, optionally, the
    self-built app (自建应用) used for direct messages and app cards.

    Rate limits are the documented ones (``docs/platforms/wecom.md``, rate limits); a shared sender applies them.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["longconn", "webhook"] = Field("longconn", description="接收方式：longconn 长连接（无需公网地址）或 webhook 回调")
    name: str = Field("", description="机器人显示名，消息里的 @名字 会被去掉")
    bot_id: str = Field("", description="智能机器人 BotID（长连接鉴权）")
    secret: str = Field("", description="智能机器人 Secret（长连接鉴权）")
    token: str = Field("", description="回调 Token（webhook 模式和应用回调）")
    aes_key: str = Field("", description="回调 EncodingAESKey，43 个字符")
    corp_id: str = Field("", description="企业ID（自建应用接口和应用回调用）")
    agent_id: int = Field(0, description="自建应用 AgentId")
    app_secret: str = Field("", description="自建应用 Secret（私聊和应用卡片用）")
    api_base: str = Field(DEFAULT_API_BASE, description="企业微信接口地址（只写协议和主机，代理时改）")
    ws_url: str = Field(DEFAULT_WS_URL, description="长连接地址")

    # Limits (messages per window seconds); documented defaults.
    robot_rate_limit: int = Field(20, ge=1, description="群“消息推送”机器人每个时间窗最多发的条数")  # 20 per minute
    robot_rate_window: float = Field(60.0, gt=0, description="群“消息推送”机器人的时间窗（秒）")
    app_rate_limit: int = Field(30, ge=1, description="应用消息：同一成员每个时间窗最多收的条数")  # 30 per minute
    app_rate_window: float = Field(60.0, gt=0, description="应用消息的时间窗（秒）")
    aibot_rate_limit: int = Field(30, ge=1, description="智能机器人：每个群每个时间窗最多发的条数")  # [third-party]
    aibot_rate_window: float = Field(60.0, gt=0, description="智能机器人的时间窗（秒）")

    # Transport tuning.
    max_body_bytes: int = Field(1_048_576, ge=1024, description="回调请求体上限（字节）")
    request_timeout: float = Field(10.0, gt=0, description="调用接口的超时（秒）")
    heartbeat_interval: float = Field(30.0, gt=0, description="长连接心跳间隔（秒）")
    reconnect_min: float = Field(1.0, gt=0, description="长连接断开后最短重连等待（秒）")
    reconnect_max: float = Field(30.0, gt=0, description="长连接断开后最长重连等待（秒）")
    lease_ttl: float = Field(60.0, gt=0, description="多实例时长连接租约的有效期（秒），只有持有者连接")

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


class WeComChatOptions(BaseModel):
    """A WeCom group's own keys in ``[[units]] chats``: its send-only 消息推送 robot."""

    model_config = ConfigDict(extra="forbid")

    robot_key: str = Field("", description="企业微信群“消息推送”机器人的 key（只发不收）")
