"""Each front-end is a sub-app with its own middlewares: the console's gate and security headers,
the citizen page's no-store headers and the read API's token check apply to their own paths only."""

from __future__ import annotations

from tests.web.console.conftest import console_overrides


async def test_front_ends_are_sub_apps_with_their_own_middlewares(make_bot) -> None:
    bot = await make_bot(**console_overrides())
    app = bot.client.app
    assert list(app.middlewares) == []  # nothing installed on the whole app
    prefixes = {getattr(r, "canonical", "") for r in app.router.resources()}
    assert {"/console", "/c", "/api/v1/tickets"} <= prefixes

    health = await bot.client.get("/healthz")
    assert health.status == 200 and "Content-Security-Policy" not in health.headers
    icon = await bot.client.get("/favicon.ico")
    assert icon.status == 200 and "Content-Security-Policy" not in icon.headers

    login = await bot.client.get("/console/login")
    assert login.status == 200 and "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
    page = await bot.client.get("/console/tickets", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/console/login?next=")

    citizen = await bot.client.get("/c/not-a-token")
    assert citizen.status == 404 and citizen.headers["X-Robots-Tag"] == "noindex, nofollow"

    assert (await bot.get("/api/v1/tickets", token=None)).status == 401
    assert (await bot.get("/api/v1/tickets")).status == 200
    assert (await bot.get("/api/v1/tickets/12345/0001/nothing-here", token=None)).status == 404
