"""The nightly retrain of the suggestion model (``bot.reading``): the same training as
``hotline-bot model train``, keeping the model in use unless the new one does at least as well."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import BotContext
from bot.reading.service import train
from bot.reading.words import office_words

log = logging.getLogger("hotline.reading")


async def model_retrain(ctx: BotContext, now: datetime) -> int:
    """Retrain from the store's history; 1 when a new model version was stored, else 0."""
    if not ctx.config.intelligence.suggest:
        return 0
    outcome = await train(ctx.sessions, now, ctx.config.intelligence.min_history, office_words(ctx.config),
                          max_history=ctx.config.intelligence.max_history)
    log.info("model retrain: %s", outcome)
    ctx.service.reader.forget()
    return int(outcome.version is not None and not outcome.kept)
