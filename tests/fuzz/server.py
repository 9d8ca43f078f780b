"""The fuzz bot served from a thread with its own event loop, so that synchronous hypothesis
tests can fire raw requests at it over a real socket and read its logs afterwards."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Coroutine
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.context import CTX
from bot.wiring import INBOX
from store.models import InboxEvent
from tests.fuzz.raw import TIMEOUT, encode
from tests.fuzz.world import LogTrap, Shot, fuzz_config


class FuzzServer:
    """The real app on ``store_url``, all routes enabled, in a background thread."""

    def __init__(self, store_url: str, clock: FrozenClock) -> None:
        self.clock = clock
        self.trap = LogTrap()
        self._config = parse_config(fuzz_config(store_url))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: TestServer | None = None

    def start(self) -> FuzzServer:
        """Start the loop and the app; install the log trap on the root logger."""
        logging.getLogger().addHandler(self.trap)
        self._thread.start()
        app = create_app(self._config, clock=self.clock, with_background=False)
        self._server = TestServer(app)
        self.run(self._server.start_server())
        return self

    def stop(self) -> None:
        """Close the app and the loop; remove the trap."""
        if self._server is not None:
            self.run(self._server.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        logging.getLogger().removeHandler(self.trap)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(120)

    @property
    def now(self) -> int:
        """The bot's clock, as unix seconds."""
        return int(self.clock.now().timestamp())

    def send(self, shot: Shot) -> int:
        """Send one request on a fresh connection; the answer's status (0: closed without one)."""
        assert self._server is not None
        host, port = self._server.host, self._server.port
        with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
            sock.sendall(encode(shot, f"{host}:{port}"))
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        parts = data.split(b"\r\n", 1)[0].split()
        return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0

    def failed_events(self) -> int:
        """Inbox rows whose processing failed, once every accepted event has been processed."""
        async def count() -> int:
            assert self._server is not None
            app = self._server.app
            await app[INBOX].drain()
            async with app[CTX].sessions() as s:
                q = select(func.count()).select_from(InboxEvent).where(InboxEvent.error.is_not(None))
                return int((await s.execute(q)).scalar_one())
        return self.run(count())
