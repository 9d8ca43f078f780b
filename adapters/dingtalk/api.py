"""HTTP calls to DingTalk: the app's OpenAPI (access token) and the custom group robot webhook.

Answers are mapped to the sender's errors (``docs/platforms/dingtalk.md``, sending and limits):
network error, HTTP 5xx and "too fast" codes → :class:`TransientSendError`;
token-invalid → refresh once and retry, then transient; anything else → :class:`PermanentSendError`
with DingTalk's own code.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from adapters.dingtalk.config import DingTalkBotConfig
from adapters.dingtalk.crypto import robot_webhook_url
from adapters.http import download, retry_after
from adapters.tokens import TokenCache, TokenRejected
from bot.clock import Clock
from bot.ports import DownloadFailed
from bot.send_errors import PermanentSendError, SendError, TransientSendError

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=15)
TOKEN_INVALID_CODES = frozenset({"InvalidAuthentication", "invalidAuthentication"})
# Custom robot errcodes worth retrying: system busy, "send too fast" (blocked 10 min), throttled.
ROBOT_RETRY_AFTER = {-1: 5.0, 130101: 600.0, 410100: 60.0}


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()




async def _read_json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return data if isinstance(data, dict) else {}


class DingTalkApi:
    """One bot's REST client: a token cache for its app and the two sending transports."""

    def __init__(self, bot: str, config: DingTalkBotConfig, *, clock: Clock) -> None:
        self.bot = bot
        self.config = config
        self._http: aiohttp.ClientSession | None = None
        self.tokens = TokenCache(self._fetch_token, clock=clock)

    async def _fetch_token(self) -> tuple[str, float]:
        """``POST /v1.0/oauth2/accessToken`` → (accessToken, expireIn)."""
        assert self._http is not None, "call api() with a session first"
        url = f"{self.config.api_base}/v1.0/oauth2/accessToken"
        body = {"appKey": self.config.app_key, "appSecret": self.config.app_secret}
        status, data, headers = await self._request(self._http, "POST", url, body, {})
        token, lifetime = data.get("accessToken"), data.get("expireIn")
        if status == 200 and isinstance(token, str) and token and isinstance(lifetime, int | float):
            return token, float(lifetime)
        raise self._api_error(status, data, headers, what="token")

    async def _request(self, http: aiohttp.ClientSession, method: str, url: str,
                       body: dict[str, Any], headers: dict[str, str]
                       ) -> tuple[int, dict[str, Any], Any]:
        try:
            async with http.request(method, url, data=_json_bytes(body), timeout=TIMEOUT,
                                    headers={"Content-Type": "application/json; charset=utf-8",
                                             **headers}) as resp:
                return resp.status, await _read_json(resp), resp.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientSendError(f"dingtalk network error: {exc!r}", code="network") from exc

    def _api_error(self, status: int, data: dict[str, Any], headers: Any, *, what: str) -> SendError:
        code = data.get("code") if isinstance(data.get("code"), str) else None
        text = f"dingtalk {what} {status} {code or ''} {data.get('message', '')}".strip()
        if status >= 500:
            return TransientSendError(text, code=code or status)
        if status == 429 or (status == 403 and code and "QpsLimit" in code) or (
                code and code.startswith("Throttling")):
            return TransientSendError(text, code=code or status, retry_after=retry_after(headers.get("Retry-After"), 1.0))
        if code in TOKEN_INVALID_CODES or status == 401:
            return TransientSendError(text, code=code or status)
        return PermanentSendError(text, code=code or status)

    async def api(self, http: aiohttp.ClientSession, method: str, path: str,
                  body: dict[str, Any]) -> dict[str, Any]:
        """Call ``{api_base}{path}`` with the app's token; refresh once on a token-invalid answer."""
        self._http = http
        url = f"{self.config.api_base}{path}"

        async def attempt(token: str) -> dict[str, Any]:
            status, data, headers = await self._request(
                http, method, url, body, {"x-acs-dingtalk-access-token": token})
            if status == 200:
                return data
            error = self._api_error(status, data, headers, what=path)
            if status == 401 or data.get("code") in TOKEN_INVALID_CODES:
                raise TokenRejected(error)
            raise error

        return await self.tokens.authorized(attempt, what=f"dingtalk {self.bot}")

    async def download_file(self, http: aiohttp.ClientSession, download_code: str,
                            max_bytes: int) -> tuple[bytes, str]:
        """A received picture or file: ``POST /v1.0/robot/messageFiles/download`` (downloadCode and
        robotCode, with the app's token) names a short-lived ``downloadUrl``, then GET it."""
        try:
            data = await self.api(http, "POST", "/v1.0/robot/messageFiles/download",
                                  {"downloadCode": download_code, "robotCode": self.config.robot_code})
        except SendError as exc:
            raise DownloadFailed(str(exc)) from exc
        url = data.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise DownloadFailed("dingtalk messageFiles/download: no downloadUrl")
        return await download(http, url, max_bytes=max_bytes, client_timeout=TIMEOUT, what="dingtalk downloadUrl")

    async def robot_send(self, http: aiohttp.ClientSession, access_token: str, secret: str,
                         timestamp_ms: int, body: dict[str, Any]) -> None:
        """POST one message to a custom robot webhook, signed with its 加签 secret."""
        url = robot_webhook_url(self.config.oapi_base, access_token, secret, str(timestamp_ms))
        status, data, _ = await self._request(http, "POST", url, body, {})
        if status >= 500:
            raise TransientSendError(f"dingtalk robot HTTP {status}", code=status)
        errcode = data.get("errcode")
        if status == 200 and errcode == 0:
            return
        text = f"dingtalk robot {status} errcode={errcode} {data.get('errmsg', '')}".strip()
        if isinstance(errcode, int) and errcode in ROBOT_RETRY_AFTER:
            raise TransientSendError(text, code=errcode, retry_after=ROBOT_RETRY_AFTER[errcode])
        raise PermanentSendError(text, code=errcode if errcode is not None else status)
