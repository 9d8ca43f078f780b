"""Feishu REST calls with aiohttp: tenant token, app messages, card patch, custom bot, bot info.

Error mapping (``docs/platforms/feishu.md``, limits and errors): network errors, HTTP 5xx, HTTP 429 / 99991400 (wait
``x-ogw-ratelimit-reset``), IM throttling 230020 and custom-bot throttling 11232 are transient;
token-invalid codes refresh the token and retry once; every other non-zero code is permanent.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.feishu.config import FeishuBotConfig
from adapters.feishu.crypto import robot_sign
from adapters.http import authorized_download, download, retry_after
from adapters.tokens import TokenCache, TokenRejected
from bot.clock import Clock
from bot.ports import DownloadFailed
from bot.send_errors import PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES_PATH = "/open-apis/im/v1/messages"
BOT_INFO_PATH = "/open-apis/bot/v3/info"
HOOK_PATH = "/open-apis/bot/v2/hook/"

TEXT_MAX_BODY = 150 * 1024  # text message request body
CARD_MAX_BODY = 30 * 1024  # card and post request body
ROBOT_MAX_BODY = 20 * 1024  # custom bot request body

TOKEN_INVALID = frozenset({99991661, 99991663, 99991668, 99991677})
GATEWAY_RATE_LIMITED = 99991400
TRANSIENT_CODES = frozenset({GATEWAY_RATE_LIMITED, 230020, 11232})
TIMEOUT = aiohttp.ClientTimeout(total=10)


def dumps(obj: Any) -> str:
    """Compact JSON with raw UTF-8, as sent (sizes are counted on this form)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def app_body_limit(msg_type: str) -> int:
    """The request-body limit of an app message of this type."""
    return TEXT_MAX_BODY if msg_type == "text" else CARD_MAX_BODY


class FeishuApi:
    """One bot's REST client. The session is passed per call; the token cache is per app."""

    def __init__(self, cfg: FeishuBotConfig, *, clock: Clock) -> None:
        self.cfg = cfg
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None
        self.tokens = TokenCache(self._fetch_token, clock=clock, refresh_margin=600.0)

    # -- app API ---------------------------------------------------------------------------

    async def send_message(self, http: aiohttp.ClientSession, receive_id_type: str,
                           receive_id: str, msg_type: str, content: dict[str, Any], *,
                           uuid: str | None = None) -> str:
        """POST /im/v1/messages; returns the new message_id (the first one's, for a repeated
        ``uuid`` within the hour Feishu keeps it)."""
        body = app_message_body(receive_id, msg_type, content)
        if uuid:
            body["uuid"] = uuid[:50]
        data = await self.call(http, "POST", MESSAGES_PATH, body,
                               params={"receive_id_type": receive_id_type})
        return str((data.get("data") or {}).get("message_id", ""))

    async def patch_card(self, http: aiohttp.ClientSession, message_id: str,
                         card: dict[str, Any]) -> None:
        """PATCH /im/v1/messages/{id}: replace a card sent with ``update_multi``."""
        await self.call(http, "PATCH", f"{MESSAGES_PATH}/{message_id}", {"content": dumps(card)})

    async def bot_open_id(self, http: aiohttp.ClientSession) -> str:
        """GET /bot/v3/info: the bot's own open_id."""
        data = await self.call(http, "GET", BOT_INFO_PATH, None)
        return str((data.get("bot") or {}).get("open_id", ""))

    async def download_resource(self, http: aiohttp.ClientSession, message_id: str, key: str,
                                kind: str, max_bytes: int) -> tuple[bytes, str]:
        """GET /im/v1/messages/{message_id}/resources/{key}?type=image|file with the tenant token:
        the file's bytes and declared type. A JSON answer is an error (token refreshed once)."""
        if not self.cfg.has_app:
            raise DownloadFailed("飞书应用未配置 app_id/app_secret")
        self._http = http
        url = f"{self.cfg.api_base}{MESSAGES_PATH}/{quote(message_id, safe='')}/resources/{quote(key, safe='')}"

        async def attempt(token: str) -> tuple[bytes, str]:
            return await download(http, url, max_bytes=max_bytes, client_timeout=TIMEOUT, what="feishu resource",
                                  params={"type": kind}, headers={"Authorization": f"Bearer {token}"},
                                  token_invalid=lambda d: d.get("code") in TOKEN_INVALID)

        return await authorized_download(self.tokens, attempt, "feishu resource")

    async def call(self, http: aiohttp.ClientSession, method: str, path: str,
                   body: dict[str, Any] | None, *, params: dict[str, str] | None = None,
                   ) -> dict[str, Any]:
        """One authorized call; refreshes the token once on a token-invalid answer."""
        if not self.cfg.has_app:
            raise PermanentSendError("飞书应用未配置 app_id/app_secret", code="no_app")
        self._http = http
        payload = dumps(body).encode() if body is not None else None

        async def attempt(token: str) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"}
            if payload is not None:
                headers["Content-Type"] = "application/json; charset=utf-8"
            status, resp_headers, data = await _request(
                http, method, self.cfg.api_base + path, headers=headers, data=payload, params=params)
            code = data.get("code") if isinstance(data, dict) else None
            if code in TOKEN_INVALID:
                raise TokenRejected(TransientSendError("飞书 token 刷新后仍无效", code=code))
            return _check(status, resp_headers, data)

        return await self.tokens.authorized(attempt, what=f"feishu {path}")

    async def _fetch_token(self) -> tuple[str, float]:
        assert self._http is not None
        body = dumps({"app_id": self.cfg.app_id, "app_secret": self.cfg.app_secret}).encode()
        status, headers, data = await _request(
            self._http, "POST", self.cfg.api_base + TOKEN_PATH, data=body,
            headers={"Content-Type": "application/json; charset=utf-8"})
        data = _check(status, headers, data)
        token = data.get("tenant_access_token")
        if not token:
            raise TransientSendError("飞书 token 应答缺少 tenant_access_token", code="no_token")
        return str(token), float(data.get("expire", 7200))

    # -- custom bot ------------------------------------------------------------------------

    def robot_body(self, msg_type: str, content: dict[str, Any], secret: str) -> dict[str, Any]:
        """A custom-bot request body; signed (timestamp in seconds) when the bot has a secret."""
        body: dict[str, Any] = {"msg_type": msg_type}
        if msg_type == "interactive":
            body["card"] = content
        else:
            body["content"] = content
        if secret:
            ts = str(int(self._clock.now().timestamp()))
            body["timestamp"] = ts
            body["sign"] = robot_sign(secret, ts)
        return body

    async def send_robot(self, http: aiohttp.ClientSession, hook_token: str, secret: str,
                         msg_type: str, content: dict[str, Any]) -> None:
        """POST /bot/v2/hook/{token}. The custom bot gives no message id."""
        payload = dumps(self.robot_body(msg_type, content, secret)).encode()
        status, headers, data = await _request(
            http, "POST", self.cfg.api_base + HOOK_PATH + hook_token, data=payload,
            headers={"Content-Type": "application/json; charset=utf-8"})
        if isinstance(data, dict) and "code" not in data and "StatusCode" in data:
            data = {**data, "code": data["StatusCode"], "msg": data.get("StatusMessage", "")}
        _check(status, headers, data)


def app_message_body(receive_id: str, msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """The /im/v1/messages body: ``content`` is a JSON string."""
    return {"receive_id": receive_id, "msg_type": msg_type, "content": dumps(content)}


async def _request(http: aiohttp.ClientSession, method: str, url: str, *,
                   headers: dict[str, str], data: bytes | None = None,
                   params: dict[str, str] | None = None,
                   ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
    try:
        async with http.request(method, url, headers=headers, data=data, params=params,
                                timeout=TIMEOUT) as resp:
            raw = await resp.read()
            status, resp_headers = resp.status, dict(resp.headers)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise TransientSendError(f"飞书网络错误: {exc!r}", code="network") from exc
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, resp_headers, parsed if isinstance(parsed, dict) else None


def _check(status: int, headers: dict[str, str], data: dict[str, Any] | None) -> dict[str, Any]:
    code = data.get("code") if data is not None else None
    msg = str(data.get("msg", "")) if data is not None else ""
    if status == 429 or code == GATEWAY_RATE_LIMITED:
        raise TransientSendError(f"飞书限流: {msg}", code=code or status,
                                 retry_after=retry_after(headers.get("x-ogw-ratelimit-reset"), 1.0))
    if status >= 500:
        raise TransientSendError(f"飞书服务端错误 HTTP {status}", code=code or status)
    if code in TRANSIENT_CODES:
        raise TransientSendError(f"飞书限流: {msg}", code=code, retry_after=1.0)
    if data is None:
        raise PermanentSendError(f"飞书应答无法解析 HTTP {status}", code=status)
    if code != 0:
        raise PermanentSendError(f"飞书拒绝: {code} {msg}", code=code)
    return data
