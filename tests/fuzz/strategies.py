"""Hypothesis strategies for hostile input: JSON of any shape, text with NUL bytes and lone
surrogates, raw bytes, header values and query strings."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.conftest import ticket_body

# Any code point, lone surrogates and NUL included (the default alphabet leaves surrogates out).
ANY_CHAR = st.characters(codec=None, exclude_categories=())
hostile_text = st.one_of(st.text(ANY_CHAR, max_size=40), st.sampled_from(
    ["", "\x00", "\ud800", "9" * 400, "长" * 300, "../../etc/passwd", "<!DOCTYPE x>", "0001-01-01", "9999-12-31"]))
huge_ints = st.one_of(st.integers(), st.sampled_from([10 ** 30, -(10 ** 30), 2 ** 63, -(2 ** 63) - 1]))
scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(allow_nan=False, allow_infinity=False),
                    hostile_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
dates = st.one_of(st.datetimes().map(lambda d: d.isoformat() + "+08:00"),
                  st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-11-23"]),
                  hostile_text)


def dumps(value: Any) -> bytes:
    """JSON bytes; lone surrogates travel as ``\\udXXX`` escapes, as a hostile client would send."""
    return json.dumps(value).encode()


bodies = st.one_of(json_values.map(dumps), st.binary(max_size=300))


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """``base`` with some of its fields replaced by anything, or removed, or extra ones added."""
    doc = dict(base)
    for key in draw(st.lists(st.sampled_from(sorted(base)), max_size=3, unique=True)):
        if draw(st.booleans()):
            doc[key] = draw(json_values)
        else:
            doc.pop(key)
    doc.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=2)))
    return dumps(doc)


@st.composite
def ticket_bodies(draw: st.DrawFn) -> bytes:
    """Intake bodies: a valid ticket with a few fields hostile (dates drawn near the edges)."""
    doc = ticket_body(number=draw(st.text(min_size=1, max_size=12)))
    key = draw(st.sampled_from(["received_at", "deadline", "content", "number", "citizen", "unit", "tags"]))
    doc[key] = draw(dates if key in ("received_at", "deadline") else json_values)
    return dumps(doc)


header_text = st.text(ANY_CHAR.filter(lambda c: c not in "\r\n"), max_size=60)


def query_value(value: str) -> str:
    """``value`` percent-encoded as raw UTF-8 (lone surrogates passed through as their bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")
