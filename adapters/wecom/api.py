"""WeCom REST calls (group robot webhook, app API with access token) and their error mapping.

Answers: network error, HTTP 5xx/429 and the "too fast"/"busy" codes → TransientSendError;
token-invalid codes → refresh once and retry, then transient; anything else → PermanentSendError.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from adapters.http import authorized_download, download, retry_after
from adapters.tokens import TokenCache, TokenRejected
from adapters.wecom.config import WeComBotConfig
from bot.clock import Clock
from bot.ports import DownloadFailed
from bot.send_errors import PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40014, 42001, 41001})  # invalid / expired / missing access_token
TOO_FAST = {45009: 60.0, 45033: 1.0, 45011: 60.0, -1: None}  # code -> retry_after (s)


class TokenInvalidError(Exception):
    """The access token was refused; refresh and retry once."""


def check_errcode(data: dict[str, Any], what: str) -> None:
    """Raise the mapped error for a non-zero ``errcode``."""
    code = data.get("errcode", 0)
    if code == 0:
        return
    msg = f"{what}: errcode {code} {data.get('errmsg', '')}".strip()
    if code in TOKEN_INVALID:
        raise TokenInvalidError(msg)
    if code in TOO_FAST:
        raise TransientSendError(msg, code=code, retry_after=TOO_FAST[code])
    raise PermanentSendError(msg, code=code)


class WeComApi:
    """HTTP side of one bot: the robot webhook and, when configured, the self-built app."""

    def __init__(self, cfg: WeComBotConfig, *, clock: Clock) -> None:
        self._cfg = cfg
        self._http: aiohttp.ClientSession | None = None
        self.tokens = TokenCache(self._fetch_token, clock=clock)

    async def request(self, http: aiohttp.ClientSession, method: str, path: str, *,
                      params: dict[str, str] | None = None,
                      body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One call to ``api_base + path``; returns the JSON answer (errcode not yet checked)."""
        url = self._cfg.api_base + path
        timeout = aiohttp.ClientTimeout(total=self._cfg.request_timeout)
        try:
            async with http.request(method, url, params=params, json=body, timeout=timeout) as resp:
                if resp.status >= 500 or resp.status == 429:
                    raise TransientSendError(f"{path}: HTTP {resp.status}", code=resp.status,
                                             retry_after=retry_after(resp.headers.get("Retry-After"), None))
                if resp.status != 200:
                    raise PermanentSendError(f"{path}: HTTP {resp.status}", code=resp.status)
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientSendError(f"{path}: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # a 200 that is not JSON: a proxy page, most likely
            raise TransientSendError(f"{path}: answer is not JSON") from exc
        if not isinstance(data, dict):
            raise TransientSendError(f"{path}: answer is not a JSON object")
        return data

    async def _fetch_token(self) -> tuple[str, float]:
        assert self._http is not None
        data = await self.request(self._http, "GET", "/cgi-bin/gettoken",
                                  params={"corpid": self._cfg.corp_id,
                                          "corpsecret": self._cfg.app_secret})
        try:
            check_errcode(data, "gettoken")
        except TokenInvalidError as exc:  # cannot happen for gettoken; be safe
            raise TransientSendError(str(exc)) from exc
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientSendError("gettoken: no access_token in the answer")
        return token, float(data.get("expires_in", 7200))

    async def call_app(self, http: aiohttp.ClientSession, path: str,
                       body: dict[str, Any]) -> dict[str, Any]:
        """POST ``path?access_token=``; on a token-invalid code refresh once and retry."""
        if not self._cfg.has_app:
            raise PermanentSendError("自建应用未配置 (corp_id/agent_id/app_secret)", code="no_app")
        self._http = http

        async def attempt(token: str) -> dict[str, Any]:
            data = await self.request(http, "POST", path, params={"access_token": token}, body=body)
            try:
                check_errcode(data, path)
            except TokenInvalidError as exc:
                raise TokenRejected(TransientSendError(str(exc), code=data.get("errcode"))) from exc
            return data

        return await self.tokens.authorized(attempt, what=f"wecom {path}")

    async def get_media(self, http: aiohttp.ClientSession, media_id: str,
                        max_bytes: int) -> tuple[bytes, str]:
        """``GET /cgi-bin/media/get?access_token=&media_id=``: a temporary media file the app
        received. A JSON answer is an errcode (token-invalid: refresh once and retry)."""
        if not self._cfg.has_app:
            raise DownloadFailed("自建应用未配置 (corp_id/agent_id/app_secret)")
        self._http = http
        timeout = aiohttp.ClientTimeout(total=self._cfg.request_timeout)

        async def attempt(token: str) -> tuple[bytes, str]:
            return await download(http, self._cfg.api_base + "/cgi-bin/media/get", max_bytes=max_bytes,
                                  client_timeout=timeout, what="wecom media/get",
                                  params={"access_token": token, "media_id": media_id},
                                  token_invalid=lambda d: d.get("errcode") in TOKEN_INVALID)

        return await authorized_download(self.tokens, attempt, "wecom media/get")

    async def call_robot(self, http: aiohttp.ClientSession, key: str,
                         body: dict[str, Any]) -> dict[str, Any]:
        """POST one message to the group robot ``webhook/send?key=``."""
        data = await self.request(http, "POST", "/cgi-bin/webhook/send", params={"key": key},
                                  body=body)
        try:
            check_errcode(data, "webhook/send")
        except TokenInvalidError as exc:  # not expected on the robot path
            raise PermanentSendError(str(exc), code=data.get("errcode")) from exc
        return data
