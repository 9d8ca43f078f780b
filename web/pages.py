"""HTML of the console: one page layout, escaped with :func:`html.escape`, no template engine.

Pages carry no inline script or style (the Content-Security-Policy forbids both); the browser
code and the style sheets are files in ``static/``, served by the bot itself (no CDN, no web
fonts), so the console works on an intranet without internet access.
"""

from __future__ import annotations

from html import escape

from bot.labels import ROLE_LABELS


def e(value: object) -> str:
    """Escape any value for HTML text and attributes (None shows as an empty string)."""
    return "" if value is None else escape(str(value), quote=True)


def page(title: str, body: str, *, person: str | None = None, roles: str = "", csrf: str = "",
         active: str = "", body_class: str = "", scripts: tuple[str, ...] = (),
         styles: tuple[str, ...] = ("console.css",)) -> str:
    """A whole HTML document with the console's navigation bar."""
    css = "".join(f'<link rel="stylesheet" href="/console/static/{e(s)}">' for s in styles)
    js = "".join(f'<script src="/console/static/{e(s)}" defer></script>' for s in scripts)
    nav = ""
    if person:
        def link(href: str, label: str, key: str) -> str:
            cls = ' class="active"' if key == active else ""
            return f'<a href="{href}"{cls}>{label}</a>'
        nav = (
            '<nav class="top"><span class="brand">12345 热线工单机器人</span>'
            f'{link("/console", "聊天", "chat")}{link("/console/tickets", "工单总览", "tickets")}'
            f'{link("/console/reports", "月度通报", "reports")}'
            f'<span class="who">{e(person)}<small>{e(roles)}</small></span>'
            f'<form method="post" action="/console/logout" class="logout">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}">'
            '<button type="submit">退出</button></form></nav>')
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{e(csrf)}">'
        f'<title>{e(title)}</title><link rel="icon" href="/console/static/favicon.ico">{css}{js}</head>'
        f'<body class="{e(body_class)}">{nav}{body}</body></html>')


def roles_text(roles: frozenset[tuple[str, str]], unit_name: object) -> str:
    """``养老服务科·承办人、局办公室·办公室`` for a person's roles."""
    return "、".join(f"{unit_name(u)}·{ROLE_LABELS.get(r, r)}"  # type: ignore[operator]
                    for u, r in sorted(roles))
