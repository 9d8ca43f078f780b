"""Reading a browser form safely: one place for every console and citizen-page POST."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from bot.edge import text_problem

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
