"""The fuzz suite's budget and its server: a hypothesis profile sized for CI (about a minute for
the whole suite), more examples when ``HOTLINE_FUZZ_EXAMPLES`` is set; one bot per module and
store (SQLite, and PostgreSQL when ``HOTLINE_TEST_PG_URL`` is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bot.clock import FrozenClock
from tests.conftest import PG_URL, _fresh_pg_database, local
from tests.fuzz.server import FuzzServer

EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "0") or 0)
settings.register_profile("fuzz", max_examples=EXAMPLES or 25, deadline=None, derandomize=not EXAMPLES,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                 HealthCheck.data_too_large])
FUZZ = settings.get_profile("fuzz")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    """The fuzz bot on a fresh store, shared by a module's tests; fails the module on a traceback."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'hotline.db'}"
    else:
        url = _fresh_pg_database(request)
    server = FuzzServer(url, FrozenClock(local(2026, 11, 23, 10, 0))).start()
    try:
        yield server
    finally:
        server.stop()
