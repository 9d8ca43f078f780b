"""Fixtures shared by the adapter tests: a real HTTP client session and the module's fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp client session (never a mock of our HTTP client)."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def server(aiohttp_server: Any, fake: Any) -> TestServer:
    """The test module's ``fake`` platform served on a local port."""
    return await aiohttp_server(fake.app)
