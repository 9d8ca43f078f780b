"""The signed header pairs of recent DingTalk callbacks (``signature_pairs``): recorded with their
body's digest on first sight, compared on every later one, pruned in batches once old."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.bulk import insert_rows
from store.models import SignaturePair

KEY = ("bot", "timestamp", "sign")


async def first_or_same(sessions: async_sessionmaker[AsyncSession], bot: str, timestamp: str, sign: str,
                        digest: bytes, stamp_ms: int) -> bool:
    """Record the pair with ``digest`` in one short transaction; False when it was recorded
    before with another digest. Concurrent first sightings on several instances are decided by
    the primary key: one inserts, the others compare against its digest."""
    async with sessions.begin() as s:
        row = {"bot": bot, "timestamp": timestamp, "sign": sign, "digest": digest, "stamp_ms": stamp_ms}
        if await insert_rows(await s.connection(), SignaturePair.__table__, [row],  # type: ignore[arg-type]
                             returning=("stamp_ms",), skip_conflicts_on=KEY):
            return True
        seen = await s.scalar(select(SignaturePair.digest).where(
            SignaturePair.bot == bot, SignaturePair.timestamp == timestamp, SignaturePair.sign == sign))
    return seen is None or bytes(seen) == digest  # None: pruned in between (too old to pass anyway)


async def prune(sessions: async_sessionmaker[AsyncSession], before_ms: int, *, batch: int = 1000,
                max_batches: int = 100) -> int:
    """Delete the pairs signed before ``before_ms``, about ``batch`` rows per transaction (the
    oldest first), at most ``max_batches`` transactions; the number deleted."""
    deleted = 0
    for _ in range(max_batches):
        async with sessions.begin() as s:
            edge = await s.scalar(select(SignaturePair.stamp_ms).where(SignaturePair.stamp_ms < before_ms)
                                  .order_by(SignaturePair.stamp_ms).offset(batch - 1).limit(1))
            # The batch ends at the batch-th oldest stamp (ties go with it), or takes all that are left.
            cond = SignaturePair.stamp_ms <= edge if edge is not None else SignaturePair.stamp_ms < before_ms
            result = await s.execute(delete(SignaturePair).where(cond))
            deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
        if edge is None:
            break
    return deleted


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many pairs are recorded."""
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(SignaturePair)) or 0)
