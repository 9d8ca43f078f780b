"""The console's gate: the session middleware, the login page (or person picker), one-time
links, and logout. Every page, stream and action under ``/console`` passes through here."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot import action_tokens
from bot.context import BotContext
from bot.directory import Person
from store.models import UsedToken
from web import render
from web.console import auth
from web.console.roles import roles_text
from web.console.throttle import LoginThrottle
from web.edge import read_form

PERSON: web.RequestKey[Person] = web.RequestKey("console_person", Person)
SESSION: web.RequestKey[auth.Session] = web.RequestKey("console_session", auth.Session)
PUBLIC = ("/console/login", "/console/static/")
SECURITY_HEADERS = {
    # No inline script or style anywhere, no resource from another origin.
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_console(path: str) -> bool:
    """Whether ``path`` belongs to the console."""
    return path == "/console" or path.startswith("/console/")


class Gate:
    """Sessions and CSRF for the console."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.secret = ctx.config.effective_secret
        self.open_picker = not ctx.config.platforms.console.require_login
        self.secure = ctx.config.server.public_url.startswith("https://")
        self.throttle = LoginThrottle(ctx.clock)

    # ---- middleware ------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The console sub-app's own middleware: refuse every request without a valid session, and every POST without CSRF."""
        if not request.path.startswith(PUBLIC):
            session = auth.decode_session(self.secret, request.cookies.get(auth.COOKIE),
                                          self.ctx.clock.now())
            person = self.ctx.directory.people.get(session.person) if session else None
            if session is None or person is None:
                return self._refuse(request)
            if request.method not in ("GET", "HEAD"):
                # a file upload carries it in the query, so the gate need not read the body
                given = request.headers.get("X-CSRF-Token") or request.query.get("csrf")
                if given is None and request.content_type in ("application/x-www-form-urlencoded",
                                                              "multipart/form-data"):
                    given = str((await read_form(request)).get("csrf", ""))
                if not auth.csrf_ok(session.csrf(self.secret), given):
                    return _error(403, "csrf", "页面已过期或请求来源不明，请刷新页面后重试。")
            request[PERSON] = person
            request[SESSION] = session
        response = await handler(request)
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _refuse(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/console/api/") or request.method not in ("GET", "HEAD"):
            return _error(401, "login_required", "请先登录控制台。")
        raise web.HTTPFound(f"/console/login?next={quote(request.path_qs)}")

    def csrf(self, request: web.Request) -> str:
        """The CSRF token of the request's session."""
        return request[SESSION].csrf(self.secret)

    # ---- pages ---------------------------------------------------------------------------

    def setup(self, console: web.Application) -> None:
        """Register the login routes on the console sub-app."""
        console.router.add_get("/login", self.login_page)
        console.router.add_post("/login", self.login)
        console.router.add_get("/login/link", self.link_page)
        console.router.add_post("/login/link", self.link_login)
        console.router.add_post("/logout", self.logout)

    async def login_page(self, request: web.Request, *, error: str = "", status: int = 401) -> web.Response:
        """The login form, or the person picker when login is not required."""
        nonce = request.cookies.get(auth.PRE_COOKIE) or secrets.token_urlsafe(12)
        csrf = auth.login_csrf(self.secret, nonce)
        nxt = _safe_next(request.query.get("next", ""))
        d = self.ctx.directory
        people = [{"name": p.name, "roles": roles_text(p.roles, d.unit_name)} for p in d.people.values()]
        resp = render.render(request, "console/login.html", {
            "title": "控制台登录", "picker": self.open_picker, "people": people, "login_csrf": csrf,
            "next": nxt, "error": error}, status=status if error else 200)
        self._set_pre(resp, nonce)
        return resp

    def _login_csrf_ok(self, request: web.Request, form: Any) -> bool:
        """The login forms carry a CSRF token bound to the pre-login cookie's nonce."""
        nonce = request.cookies.get(auth.PRE_COOKIE, "")
        return bool(nonce) and auth.csrf_ok(auth.login_csrf(self.secret, nonce), str(form.get("csrf", "")))

    async def login(self, request: web.Request) -> web.StreamResponse:
        """Check the login form (or the picker's choice) and open a session."""
        form = await read_form(request)
        if not self._login_csrf_ok(request, form):
            return _error(403, "csrf", "页面已过期，请刷新登录页后重试。")
        name = str(form.get("person", "")).strip()
        person = self.ctx.directory.people.get(name)
        if not self.open_picker:
            address = request.remote or "-"
            if self.throttle.blocked(name, address):
                return await self.login_page(request, error="登录失败次数过多，请 15 分钟后再试。", status=429)
            password = str(form.get("password", ""))
            if person is None or not person.password_hash or not auth.verify_password(
                    password, person.password_hash):
                self.throttle.failed(name, address)
                return await self.login_page(request, error="姓名或密码不正确。")
            self.throttle.succeeded(name)
        elif person is None:
            return _error(400, "unknown_person", "没有这个人员。")
        return self._open_session(person.name, _safe_next(str(form.get("next", ""))))

    async def link_page(self, request: web.Request) -> web.Response:
        """A one-time link asks for a click, so a link preview cannot spend it."""
        token = request.query.get("t", "")
        try:
            name, _ = auth.read_link(self.ctx.config, token, self.ctx.clock.now())
        except action_tokens.TokenError:
            return _html_error(400, "登录链接无效或已过期，请重新生成。")
        nonce = request.cookies.get(auth.PRE_COOKIE) or secrets.token_urlsafe(12)
        resp = render.render(request, "console/link.html", {
            "title": "控制台登录", "name": name, "token": token,
            "login_csrf": auth.login_csrf(self.secret, nonce)})
        self._set_pre(resp, nonce)
        return resp

    async def link_login(self, request: web.Request) -> web.StreamResponse:
        """Spend a one-time link (recorded in ``used_tokens``) and open a session."""
        form = await read_form(request)
        if not self._login_csrf_ok(request, form):
            return _error(403, "csrf", "页面已过期，请重新打开登录链接。")
        ctx = self.ctx
        try:
            name, token_id = auth.read_link(ctx.config, str(form.get("t", "")), ctx.clock.now())
        except action_tokens.TokenError:
            return _html_error(400, "登录链接无效或已过期，请重新生成。")
        if name not in ctx.directory.people:
            return _html_error(400, "该人员已不在配置中。")
        try:
            async with ctx.sessions.begin() as s:
                s.add(UsedToken(token_id=f"login:{token_id}", used_at=ctx.clock.now()))
        except IntegrityError:
            return _html_error(400, "该登录链接已使用过，请重新生成。")
        return self._open_session(name, "/console")

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """End the session (the cookie is dropped)."""
        resp = _redirect("/console/login")
        resp.del_cookie(auth.COOKIE, path="/console")
        return resp

    def _open_session(self, name: str, nxt: str) -> web.StreamResponse:
        session = auth.new_session(name, self.ctx.clock.now())
        resp = _redirect(nxt or "/console")
        resp.set_cookie(auth.COOKIE, auth.encode_session(self.secret, session), path="/console",
                        httponly=True, samesite="Strict", secure=self.secure,
                        max_age=int(auth.SESSION_TTL.total_seconds()))
        return resp

    def _set_pre(self, resp: web.StreamResponse, nonce: str) -> None:
        resp.set_cookie(auth.PRE_COOKIE, nonce, path="/console/login", httponly=True,
                        samesite="Strict", secure=self.secure)


def _safe_next(value: str) -> str:
    """Only a console path of this site (never ``//evil`` or a full URL)."""
    return value if is_console(value.split("?", 1)[0]) and not value.startswith("//") else "/console"


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message, "fields": {}}, status=status,
                             headers=SECURITY_HEADERS)


def _html_error(status: int, message: str) -> web.Response:
    text = render.render_text("console/message.html", {
        "title": "无法登录", "main_class": "login narrow", "heading": "无法登录", "lines": [message],
        "error": True, "back_href": "/console/login", "back_label": "返回登录页"})
    return web.Response(text=text, status=status, content_type="text/html")
