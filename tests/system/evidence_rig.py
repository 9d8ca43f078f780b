"""Shared pieces of the attachment tests: real image and PDF bytes, a hotline endpoint that
records signed reports, the organisation with console logins and a 承办人 profile, and the checks
that a ticket's files reached the ticket page, the printable form and the hotline report.

Seeds quoted by the tests: 松江 退单 "详细说明理由并提交相关证明", 不满意 "提供相关政策文件";
平顶山 "上传领导签发及办理过程图片", "注明…负责人信息（含姓名、职务、联系方式）"."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import struct
import zlib
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.system.world import org, serve
from tests.web.console.conftest import console_people

NUMBER = "202611230001"
REPORT_SECRET = "report-secret"
TITLE, PHONE = "科员", "021-57000000"
_IMG = re.compile(r'<img src="(/console/tickets/12345/' + NUMBER + r'/attachments/\d+)"')


def png(seed: int, side: int = 4) -> bytes:
    """A real ``side``×``side`` RGB PNG whose pixels depend on ``seed`` (distinct contents)."""
    raw = b"".join(b"\x00" + bytes((seed * 37 + x * 11 + y * 5) % 256 for x in range(side * 3))
                   for y in range(side))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf(words: str) -> bytes:
    """A small PDF document carrying ``words`` (a 政策文件 or 证明)."""
    return f"%PDF-1.4\n1 0 obj <<>> endobj\n% {words}\ntrailer <<>>\n%%EOF\n".encode()


class Hotline:
    """The hotline's report endpoint: records each body whose signature checks out."""

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []
        self.app = web.Application(client_max_size=16 * 1024 * 1024)
        self.app.router.add_post("/report", self._report)
        self.server: TestServer | None = None

    async def _report(self, request: web.Request) -> web.Response:
        raw = await request.read()
        ts = request.headers.get("X-Hotline-Timestamp", "")
        sig = hmac.new(REPORT_SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sig, request.headers.get("X-Hotline-Signature", "")):
            return web.Response(status=401)
        self.reports.append(json.loads(raw))
        return web.Response(status=200)

    async def start(self) -> str:
        self.server = await serve(self.app)
        return str(self.server.make_url("/report"))

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


def evidence_org(platform: str, bot_config: dict[str, Any], report_url: str, **attachments: Any) -> dict[str, Any]:
    """``org(platform)`` with console logins, a leader of another unit, the 承办人's title and
    phone, the hotline report and (optionally) ``[attachments]`` settings."""
    cfg = org(platform, bot_config)
    hashes = {p["name"]: p["password_hash"] for p in console_people()}
    for p in cfg["people"]:
        p["password_hash"] = hashes[p["name"]]
        if p["name"] == "张承办":
            p.update(title=TITLE, phone=PHONE)
    cfg["people"].append({"name": "赵科长", "mobile": "13800000004", "password_hash": hashes["赵科长"],
                          "roles": [{"unit": "SHJZK", "role": "leader"}]})
    cfg["platforms"]["console"] = {"enabled": True, "require_login": True}
    cfg["hotline"] = {"report_url": report_url, "report_secret": REPORT_SECRET}
    cfg["server"] = {"public_url": "http://hotline-bot.example"}
    if attachments:
        cfg["attachments"] = attachments
    return cfg


async def check_outputs(bot: Any, users: Any, hotline: Hotline, files: dict[str, bytes]) -> None:
    """``files`` (name → bytes) are on the ticket page, in the form (images inline) and in the
    report with signed links that serve them; another unit's leader gets 404 and nobody without a
    session gets a file."""
    leader = users(bot)
    assert (await leader.login("李科长")).status == 302
    page = await leader.page(f"/console/tickets/12345/{NUMBER}")
    for name in files:
        assert name in page, name
    # 平顶山 "注明…负责人信息（含姓名、职务、联系方式）": who attached them, with title and phone
    assert f"张承办，{TITLE}，{PHONE}" in page
    served = {}
    for url in _IMG.findall(page):
        r = await leader.get(url)
        assert r.status == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
        served[url] = await r.read()
    images = {n: b for n, b in files.items() if b.startswith(b"\x89PNG")}
    assert sorted(served.values()) == sorted(images.values())

    form = await leader.page(f"/console/tickets/12345/{NUMBER}/forms/signoff")
    assert set(_IMG.findall(form)) == set(served)  # images inline in the printable form
    for name in files:
        assert name in form, name

    # the report: the round's files with the 承办人, as signed links that expire
    [report] = [r for r in hotline.reports if r["result"] == "answer"]
    assert report["handler"] == {"name": "张承办", "title": TITLE, "phone": PHONE}
    by_name = {a["name"]: a for a in report["attachments"]}
    assert set(by_name) == set(files)
    anonymous = users(bot)
    for name, data in files.items():
        entry = by_name[name]
        assert entry["uploaded_by"]["title"] == TITLE
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        path = entry["url"].removeprefix("http://hotline-bot.example")
        r = await anonymous.get(path)
        assert r.status == 200 and await r.read() == data
        assert (await anonymous.get(path[:-3] + "AAA")).status == 404  # tampered
    other = users(bot)
    assert (await other.login("赵科长")).status == 302
    some = next(iter(served))
    assert (await other.get(some)).status == 404
    assert (await other.get(f"/console/tickets/12345/{NUMBER}")).status == 404
    r = await anonymous.get(some, allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].startswith("/console/login")
    bot.clock.advance(hours=73)  # past [attachments] link_hours
    assert (await anonymous.get(by_name[next(iter(files))]["url"].removeprefix(
        "http://hotline-bot.example"))).status == 404
