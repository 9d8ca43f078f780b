"""The console in real headless Chromium (Debian's package; no browser download): two people
take a ticket from assignment to approval, the dashboard finds the overdue ticket, and the
printed 签批表 shows the approval. Screenshots go to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ticket_body
from tests.web.console.conftest import PASSWORD, console_overrides

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
README_SHOT = Path(__file__).resolve().parents[3] / "web" / "screenshot.png"
NUMBER = "202611230001"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="needs Debian's chromium: apt-get install -y chromium fonts-noto-cjk"),
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium from /usr/bin/chromium."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


async def _login(browser: Any, base: str, name: str) -> Any:
    context = await browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{base}/console")
    assert "/console/login" in page.url  # every page asks for a login first
    await page.fill("input[name=person]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")
    return page


async def test_handler_and_leader_take_a_ticket_to_approval(make_bot, browser) -> None:
    from playwright.async_api import expect

    bot = await make_bot(with_background=True, **console_overrides())
    assert (await bot.post_ticket(ticket_body(NUMBER, unit="YLK", tags=["涉稳"]))).status == 201
    base = str(bot.client.make_url("")).rstrip("/")
    ARTIFACTS.mkdir(exist_ok=True)

    handler = await _login(browser, base, "张承办")
    leader = await _login(browser, base, "李科长")
    for p in (handler, leader):
        await expect(p.locator("#live")).to_have_text("实时连接")
        await expect(p.locator(".msg.bot .title", has_text=f"新工单 {NUMBER}")).to_be_visible()

    # The handler types 签收; the leader sees the message and the bot's answer live.
    await handler.fill("#text", "签收 0001")
    await handler.press("#text", "Enter")
    await expect(leader.locator(".msg.other .text", has_text="@热线助手 签收 0001")).to_be_visible()
    await expect(leader.locator(".msg.bot .text", has_text="张承办 已签收工单")).to_be_visible()

    await handler.fill("#text", "答复 0001 实际解决。11月23日10时与来电人电话沟通，已恢复助餐服务，来电人表示接受。")
    await handler.click("form#composer button[type=submit]")
    review = leader.locator(".msg.bot", has=leader.locator(".title", has_text="答复待审核"))
    await expect(review).to_be_visible()
    await expect(review.locator(".mention.me")).to_have_text("@李科长")  # highlighted for the leader

    # The leader clicks 同意 on the card; the handler sees it live, the card's buttons are spent.
    await review.locator("button.act", has_text="同意").click()
    await expect(handler.locator(".msg.bot .text", has_text="已同意工单")).to_be_visible()
    await expect(handler.locator(".msg.other", has_text="点击了「同意」")).to_be_visible()
    await expect(review.locator(".done")).to_have_text(f"【已处理】李科长 已同意 工单 {NUMBER}")
    await expect(review.locator("button.act").first).to_be_disabled()
    await expect(handler.locator(".msg.bot .text", has_text="已审核通过并答复来电人")).to_be_visible()
    await leader.screenshot(path=str(ARTIFACTS / "console-chat.png"))
    await handler.screenshot(path=str(ARTIFACTS / "console-chat-handler.png"))
    if os.environ.get("HOTLINE_UPDATE_README_SHOT"):  # refresh the README's picture on demand only
        shutil.copyfile(ARTIFACTS / "console-chat.png", README_SHOT)

    # The printed 签批表 shows the approval with its time.
    form = await leader.context.new_page()
    await form.goto(f"{base}/console/tickets/12345/{NUMBER}/forms/signoff")
    sheet = form.locator("article.sheet")
    await expect(sheet).to_contain_text("签字：李科长")
    await expect(sheet).to_contain_text("日期：2026年11月23日 10:00")
    await expect(sheet).to_contain_text("☑实际解决")
    await form.emulate_media(media="print")
    await form.screenshot(path=str(ARTIFACTS / "form-signoff.png"), full_page=True)
    assert len(await form.pdf(format="A4")) > 1000


async def test_dashboard_filter_finds_the_overdue_ticket(make_bot, browser) -> None:
    from playwright.async_api import expect

    bot = await make_bot(with_background=True, **console_overrides())
    # Received Mon 2026-11-02: 7 working days → due Wed 2026-11-11 17:30, overdue on 11-23.
    old = ticket_body("202611020009", received_at="2026-11-02T09:00:00+08:00", unit="YLK",
                      content="楼道堆物多日无人清理，存在消防隐患。", tags=["扬言"])
    assert (await bot.post_ticket(old)).status == 201
    assert (await bot.post_ticket(ticket_body(NUMBER, unit="SHJZK"))).status == 201
    base = str(bot.client.make_url("")).rstrip("/")
    office = await _login(browser, base, "王办公")
    await office.click("nav.top a:has-text(\"工单总览\")")
    rows = office.locator("table.tickets tbody tr")
    await expect(rows).to_have_count(2)
    await office.check("input[name=overdue]")
    await office.click("form.filters button[type=submit]")
    await expect(rows).to_have_count(1)
    row = rows.first
    await expect(row).to_have_attribute("data-number", "202611020009")
    await expect(row).to_have_class("overdue")
    await expect(row.locator(".tag.sensitive")).to_have_text("扬言")
    await office.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)
    await row.locator("a").first.click()
    await expect(office.locator("h1")).to_contain_text("工单 202611020009")
    await expect(office.locator("dl.fields").first).to_contain_text("13812341234")  # the office sees it
    await office.screenshot(path=str(ARTIFACTS / "console-ticket.png"), full_page=True)
