"""Hostile input at the console of a logged-in person (issue 14, root causes 1, 3 and 12): a
NUL in a list filter, a non-ASCII CSRF token or session cookie, deep JSON and NUL-laden chat
text are all answered 4xx — the same on SQLite and PostgreSQL — and nothing reaches the inbox."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ticket_body
from tests.system.world import inbox_count
from tests.web.console.conftest import console_overrides


@pytest.fixture
async def office(make_bot: Any, make_user: Any) -> Any:
    bot = await make_bot(**console_overrides())
    assert (await bot.post_ticket(ticket_body(unit="YLK"))).status == 201
    user = make_user(bot)
    assert (await user.login("王办公")).status == 302
    return user


@pytest.mark.parametrize("path", ["/console/tickets?state=%00", "/console/tickets?unit=a%00b",
                                  "/console/tickets?source=%00", "/console/tickets/12345/%00",
                                  "/console/reports?month=%00", "/console/api/history?chat=g:%00"])
async def test_nul_in_a_console_url_is_400(office: Any, path: str) -> None:
    r = await office.get(path)
    assert r.status == 400, path


async def test_non_ascii_csrf_is_403_not_500(office: Any) -> None:
    r = await office.http.post(office.url("/console/api/messages"), json={"chat": "g:ylk", "text": "帮助",
                                                                          "event_id": "abcdefgh1"},
                               headers={"X-CSRF-Token": "签名"})
    assert r.status == 403


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  '{"chat": "g:ylk", "text": "帮\\u0000助", "event_id": "abcdefgh2"}'.encode(),
                                  b'{"chat": "g:ylk", "text": "\\ud800", "event_id": "abcdefgh3"}'])
async def test_hostile_chat_bodies_are_400(office: Any, body: bytes) -> None:
    r = await office.http.post(office.url("/console/api/messages"), data=body,
                               headers={"X-CSRF-Token": office.csrf, "Content-Type": "application/json"})
    assert r.status == 400
    assert await inbox_count(office.bot) == 0
