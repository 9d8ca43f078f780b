"""A failed statement's error text never quotes its parameters: a citizen's phone number would
otherwise reach every traceback the bot logs (the intake batch's warning did, during an outage)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from store.db import create_engine


async def _failed_insert(store_url: str, value: str, *, echo: bool = False) -> str:
    """The error text of an INSERT of ``value`` into a table that does not exist."""
    engine = create_engine(store_url, echo=echo)
    try:
        async with engine.connect() as conn:
            with pytest.raises(exc.DBAPIError) as failed:
                await conn.execute(text("INSERT INTO no_such_table (mobile) VALUES (:mobile)"), {"mobile": value})
    finally:
        await engine.dispose()
    return str(failed.value)


async def test_a_failed_statement_does_not_show_its_parameters(store_url: str) -> None:
    shown = await _failed_insert(store_url, "13812341234")
    assert "no_such_table" in shown and "13812341234" not in shown


async def test_echo_still_shows_them_to_the_operator_who_asked(store_url: str) -> None:
    # Not a phone number: echo logs every statement, and the suite fails on any logged number.
    assert "echoed-value" in await _failed_insert(store_url, "echoed-value", echo=True)
