"""Counting the statements a piece of code sends, and only those: the ones of the current task,
so the app's background work on the same engine (the ``/healthz`` probe's ``SELECT 1``, the
presence keeper) never shows in the count."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def statements_of_this_task(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements the current task sends while the block runs (``BEGIN`` left out), each
    with its white space collapsed."""
    seen: list[str] = []
    task = asyncio.current_task()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if asyncio.current_task() is task and not statement.lstrip().upper().startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
