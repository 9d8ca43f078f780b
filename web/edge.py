"""The web edge: every request's path and query, and every browser form, checked once for what
no store can hold (a NUL byte, a lone surrogate, an absurd length) before any handler runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import MultiDictProxy

from bot.edge import text_problem
from bot.errors import error_response

# The longest query value any route takes (a WeCom handshake's echostr is a few hundred bytes).
MAX_QUERY_VALUE = 4096

# The longest value any of our forms takes (a comment or an answer typed at the console).
MAX_VALUE = 20_000


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | web.FileField]:
    """The posted form; 400 for a body that is not a well-formed form or holds a value no store
    can take (a NUL byte, a lone surrogate, more than :data:`MAX_VALUE` characters)."""
    try:
        form = await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError):  # a malformed multipart or urlencoded body
        raise web.HTTPBadRequest(text="表单格式不对，请刷新页面后重试。") from None
    for key, value in form.items():
        if text_problem(key, 200) or (isinstance(value, str) and text_problem(value, MAX_VALUE)):
            raise web.HTTPBadRequest(text="表单内容含有无效字符或过长，请修改后重试。")
    return form


@web.middleware
async def refuse_unstorable(request: web.Request,
                            handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """400 for a path or query holding a NUL byte or a lone surrogate (PostgreSQL refuses both in
    a query's parameters, SQLite does not: without this the same URL is 500 on one store only)."""
    if text_problem(request.path) or any(
            text_problem(k, 200) or text_problem(v, MAX_QUERY_VALUE) for k, v in request.query.items()):
        return error_response(400, "invalid", "请求地址含有无效字符或过长。")
    return await handler(request)
