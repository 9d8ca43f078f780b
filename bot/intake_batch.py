"""Group commit for the intake API: tickets posted at the same moment share one transaction.

SQLite has one writer; one transaction per request makes 32 concurrent clients queue for the
connection while each holds it for a whole ORM round trip. Here requests that arrive while a
transaction runs wait for the next one, which registers all of them with
:meth:`TicketService.register_many` (a handful of statements per batch). Every caller still gets
its answer only after its ticket is committed; a batch that fails is retried one ticket at a time,
so one bad ticket never fails the others.

The transaction is the serial part, so what needs no store happens outside it, in each request's
own task: the ticket's digest and deadlines before (:meth:`TicketService.prepare`), its view after
(the ``view`` callback answers a thunk, called once the batch is committed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.intake import TicketIn
from bot.registration import PreparedTicket, RegisterResult
from bot.ticket_rows import TicketRow
from store.models import Ticket

log = logging.getLogger("hotline.intake")
View = Callable[[], dict[str, Any]]
ViewBuilder = Callable[[AsyncSession, Ticket | TicketRow, bool], Awaitable[View]]
"""(session, ticket, created) → a thunk building the ticket's view after the commit; it may read
the store now (a ticket stored before), not later."""
Pending = tuple[RegisterResult, View]
Outcome = tuple[RegisterResult, dict[str, Any]]


class IntakeBatcher:
    """Registers tickets in shared transactions; ``await register(data)`` answers one."""

    def __init__(self, ctx: BotContext, view: ViewBuilder, *, max_batch: int = 200) -> None:
        self.ctx = ctx
        self.view = view
        self.max_batch = max_batch
        self._pending: list[tuple[PreparedTicket, asyncio.Future[Pending]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def register(self, data: TicketIn) -> Outcome:
        """The registration result and the ticket view, once the ticket is committed."""
        prepared = self.ctx.service.prepare(data)
        future: asyncio.Future[Pending] = asyncio.get_running_loop().create_future()
        self._pending.append((prepared, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="intake-batch")
        result, view = await future
        return result, view()

    async def close(self) -> None:
        """Wait for the batch being written (its callers are still waiting for their answers)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None

    async def _write(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                outcomes = await self._commit([d for d, _ in batch])
            except Exception:
                log.warning("intake batch of %d failed; registering one by one", len(batch), exc_info=True)
                for data, future in batch:
                    try:
                        outcome = (await self._commit([data]))[0]
                    except Exception as exc:
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(outcome)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():  # the request may have been cancelled meanwhile
                    future.set_result(outcome)

    async def _commit(self, items: list[PreparedTicket]) -> list[Pending]:
        async with self.ctx.sessions.begin() as s:
            results = await self.ctx.service.register_many(s, items, via="api")
            return [(r, await self.view(s, r.ticket, r.created)) for r in results]


INTAKE_BATCHER: web.AppKey[IntakeBatcher] = web.AppKey("hotline_intake_batcher", IntakeBatcher)


async def intake_batcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: on shutdown the batch in flight is committed before the store closes."""
    yield
    await app[INTAKE_BATCHER].close()
