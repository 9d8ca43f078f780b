"""The one JSON loader for everything that arrives from outside (every route, every platform).

``json.loads`` raises ``RecursionError`` on deeply nested input and ``ValueError`` on a
5,000-digit integer; neither is a ``json.JSONDecodeError``, so each caller would have to know.
:func:`loads` raises one :class:`BadJson` (a ``ValueError``) for all of it: nesting deeper than
orjson's limit (1,024), integers too large for a double, non-finite numbers, invalid UTF-8 and
lone surrogates (which no store or platform can take).
"""

from __future__ import annotations

from typing import Any

import orjson


class BadJson(ValueError):
    """Input that is not JSON this bot can take."""


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse ``data`` (UTF-8 bytes or text) strictly; :class:`BadJson` for anything hostile."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates in a decoded string
            raise BadJson("not encodable as UTF-8") from exc
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadJson(str(exc)) from exc
