"""Hot topics as a console page: ``/console/topics?from=YYYY-MM-DD&to=YYYY-MM-DD`` (default: the
last 7 days) shows the period's topics ranked by heat, each with its label, key words, place,
tickets (linked to their pages), units and trend. Computed by :mod:`bot.reading` from the store;
the office sees every unit's tickets, anyone else only the topics of their units."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from aiohttp import web

from bot.reading.service import period_topics
from bot.reading.words import place_words
from web import render
from web.console.login import PERSON
from web.console.roles import roles_text
from web.console.site import ConsoleSite, visible_units

DEFAULT_DAYS = 7


def setup(console: web.Application, adapter: ConsoleSite) -> None:
    """Mount the page as the sub-app ``/console/topics``."""
    view = TopicsPage(adapter)
    sub = web.Application()
    sub.router.add_get("", view.page)
    console.add_subapp("/topics", sub)


class TopicsPage:
    """The request handler of the hot topics page."""

    def __init__(self, adapter: ConsoleSite) -> None:
        self.adapter = adapter
        self.ctx = adapter.ctx

    def _days(self, request: web.Request) -> tuple[date, date]:
        today = self.ctx.calendar.local_date(self.ctx.clock.now())
        try:
            last = date.fromisoformat(request.query.get("to") or today.isoformat())
            first = date.fromisoformat(request.query.get("from") or (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
            if first > last:
                raise ValueError(first)
        except ValueError:
            raise web.HTTPBadRequest(text=render.render_text("console/message.html", {
                "title": "日期有误", "heading": "日期有误", "lines": ["请按“2026-11-01”的格式填写起止日期，起始不晚于截止。"],
                "back_href": "/console/topics", "back_label": "查看近 7 天热点"}), content_type="text/html") from None
        return first, last

    async def page(self, request: web.Request) -> web.Response:
        """``/console/topics``: the period's hot topics."""
        person = request[PERSON]
        first, last = self._days(request)
        zone = self.ctx.calendar.tz
        start = datetime.combine(first, time.min, tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
        names = {code: u.name for code, u in self.ctx.directory.units.items()}
        async with self.ctx.sessions() as s:
            found = await period_topics(s, start, end, names, top=20, places=place_words(self.ctx.config))
        units = visible_units(self.adapter, person)
        if units is not None:
            mine = {names[c] for c in units}
            found = [t for t in found if mine & set(t.units)]
        return render.render(request, "console/topics.html", {
            "title": "热点问题", "person": person.name, "roles": roles_text(person.roles, self.ctx.directory.unit_name),
            "csrf": self.adapter.gate.csrf(request), "active": "topics", "first": first.isoformat(),
            "last": last.isoformat(), "topics": found})
