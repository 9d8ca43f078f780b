"""JSON error bodies (``docs/api.md``): ``{"error": code, "message": 中文, "fields": {...}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from store.db import is_store_down

log = logging.getLogger("hotline.errors")


def error_response(status: int, code: str, message: str,
                   fields: dict[str, str] | None = None) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": code, "message": message, "fields": fields or {}}, status=status,
                             dumps=_dumps)


def _dumps(obj: object) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


@web.middleware
async def store_outage(request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A front-end's middleware: while the store cannot be reached the route answers 503 (nothing
    was committed, so the caller retries later); the engine's pool reconnects once it is back."""
    try:
        return await handler(request)
    except Exception as exc:
        if not is_store_down(exc):
            raise
        log.warning("store unavailable: %s %s answered 503 (%s)", request.method, request.path, type(exc).__name__)
        return error_response(503, "store_unavailable", "数据库暂时无法连接，请稍后重试。")
