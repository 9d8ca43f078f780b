"""A failed statement's error text never quotes its parameters: a citizen's phone number would
otherwise reach every traceback the bot logs (the intake batch's warning did, during an outage)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from store.db import create_engine


async def test_a_failed_statement_does_not_show_its_parameters(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(exc.DBAPIError) as failed:
                await conn.execute(text("INSERT INTO no_such_table (mobile) VALUES (:mobile)"),
                                   {"mobile": "13812341234"})
    finally:
        await engine.dispose()
    assert "no_such_table" in str(failed.value) and "13812341234" not in str(failed.value)


async def test_echo_still_shows_them_to_the_operator_who_asked(store_url: str) -> None:
    # Not a phone number: echo logs every statement, and the suite fails on any logged number.
    engine = create_engine(store_url, echo=True)
    try:
        async with engine.connect() as conn:
            with pytest.raises(exc.DBAPIError) as failed:
                await conn.execute(text("INSERT INTO no_such_table (mobile) VALUES (:mobile)"),
                                   {"mobile": "echoed-value"})
    finally:
        await engine.dispose()
    assert "echoed-value" in str(failed.value)
