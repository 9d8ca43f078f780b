"""Jinja2 for the web front-ends: one environment, autoescaping on for every ``.html`` template.

Values reach a page only as template variables, so each one is escaped where it is written;
nothing builds HTML in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True,
                                        default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=lambda value: "" if value is None else value,  # None shows as nothing
)


def setup(app: web.Application) -> None:
    """Give ``app`` (a sub-app) the shared template environment."""
    app[aiohttp_jinja2.APP_KEY] = ENV


def render(request: web.Request, template: str, context: Mapping[str, Any], *,
           status: int = 200) -> web.Response:
    """``template`` rendered with ``context`` as a ``text/html`` response."""
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def render_text(template: str, context: Mapping[str, Any]) -> str:
    """``template`` rendered outside a request (an error page raised as an exception)."""
    return ENV.get_template(template).render(context)
