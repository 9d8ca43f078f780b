"""JSON error bodies (``docs/api.md``): ``{"error": code, "message": 中文, "fields": {...}}``."""

from __future__ import annotations

from aiohttp import web


def error_response(status: int, code: str, message: str,
                   fields: dict[str, str] | None = None) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": code, "message": message, "fields": fields or {}}, status=status,
                             dumps=_dumps)


def _dumps(obj: object) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)
