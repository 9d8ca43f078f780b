"""Evidence from each platform's fake server: images and files sent in the chat are downloaded
with the platform's real download API (and the bot's own token or key), attached to 进展 and 答复,
and reach the ticket page, the printable form and the signed report to the hotline.

平顶山 "上传领导签发及办理过程图片", "注明…负责人信息（含姓名、职务、联系方式）"; 松江 退单 "详细说明理由并提交相关证明"."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from sqlalchemy import select

from bot.sender import Sender
from bot.wiring import INBOX
from store.models import Attachment
from tests.conftest import ticket_body
from tests.fakes.dingtalk_server import FakeDingTalk, file_message, robot_message, stream_frame
from tests.fakes.feishu_server import FeishuFake, mention, message_event
from tests.fakes.wecom_server import FakeWeCom, aibot_media, aibot_text
from tests.handlers.test_workflow import GOOD_REPLY
from tests.system.evidence_rig import NUMBER, Hotline, check_outputs, evidence_org, pdf, png
from tests.system.world import (
    BOT_NAME,
    CHATS,
    IDS,
    dingtalk_stream_config,
    feishu_post,
    feishu_webhook_config,
    inbox_count,
    on_fake,
    settle,
    until,
    wecom_connection,
    wecom_longconn_config,
)


async def _intake(bot: Any) -> None:
    r = await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
    assert r.status == 201, await r.text()


async def _attached(bot: Any) -> list[Attachment]:
    async with bot.ctx.sessions() as s:
        return list((await s.execute(select(Attachment).order_by(Attachment.id))).scalars())


@asynccontextmanager
async def _evidence_bot(make_bot: Any, fake: Any, platform: str, settings: Callable[[str], dict[str, Any]],
                        **attachments: Any) -> AsyncIterator[tuple[Any, Sender, Hotline, str]]:
    """A hotline receiver, the fake platform on a real socket and the bot on it with the evidence
    organisation (``settings(url)``: its platform settings): (bot, sender, hotline, url)."""
    hotline = Hotline()
    try:
        report_url = await hotline.start()
        async with on_fake(make_bot, fake, lambda url: evidence_org(platform, settings(url), report_url,
                                                                    **attachments)) as (bot, sender, url):
            yield bot, sender, hotline, url
    finally:
        await hotline.close()


# -- Feishu: image and file messages, the message resource API --------------------------------

async def test_feishu_image_and_file_reach_page_form_and_report(make_bot: Any, make_user: Any, clock: Any) -> None:
    fake = FeishuFake(clock=clock)
    async with _evidence_bot(make_bot, fake, "feishu", feishu_webhook_config) as (bot, sender, hotline, _):
        post = partial(feishu_post, bot, clock=clock)
        ylk, zhang = CHATS["feishu"]["YLK"], IDS["feishu"]["张承办"]
        at_bot = [mention("@_user_1", fake.bot_open_id, BOT_NAME)]

        async def say(text: str, who: str = zhang, **kw: Any) -> None:
            await post(message_event(f"@_user_1 {text}", chat_id=ylk, mentions=at_bot, sender=who, **kw))

        await _intake(bot)
        await say("签收 0001")
        photo, proof = png(1), pdf("领导签发的处理意见")
        fake.add_resource("om_photo", "img_v3_photo", "image", photo, "image/png")
        fake.add_resource("om_proof", "file_v3_proof", "file", proof, "application/pdf")
        await post(message_event("", chat_id=ylk, sender=zhang, message_id="om_photo", message_type="image",
                                 content={"image_key": "img_v3_photo"}))
        await say("进展 0001 已到现场核实，附现场照片")
        await post(message_event("", chat_id=ylk, sender=zhang, message_id="om_proof", message_type="file",
                                 content={"file_key": "file_v3_proof", "file_name": "领导签发.pdf"}))
        await bot.client.app[INBOX].drain()  # kept now, then the clock moves
        clock.advance(minutes=30)  # past the window: only quoting the file attaches it now
        await say(f"答复 0001 {GOOD_REPLY}", parent_id="om_proof")
        await say("同意 0001", who=IDS["feishu"]["李科长"])
        await settle(bot, sender, 6)
        assert fake.downloads == [("om_photo", "img_v3_photo", "image"), ("om_proof", "file_v3_proof", "file")]
        rows = await _attached(bot)
        assert [(r.purpose, r.kind) for r in rows] == [("进展", "image"), ("答复", "file")]
        await check_outputs(bot, make_user, hotline, {rows[0].filename: photo, "领导签发.pdf": proof})


# -- DingTalk: picture and file messages, robot/messageFiles/download ----------------------------

async def test_dingtalk_picture_and_file_reach_page_form_and_report(make_bot: Any, make_user: Any,
                                                                    clock: Any) -> None:
    fake = FakeDingTalk(clock=clock)
    async with _evidence_bot(make_bot, fake, "dingtalk", partial(dingtalk_stream_config, fake)) as (
            bot, sender, hotline, _):
        await fake.wait_for(lambda: fake.live)
        ylk = CHATS["dingtalk"]["YLK"]
        zhang = {"conversation_id": ylk, "sender_staff_id": IDS["dingtalk"]["张承办"], "sender_nick": "张承办"}
        topic = "/v1.0/im/bot/messages/get"

        await _intake(bot)
        await fake.push(stream_frame(topic, robot_message(text=" 签收 0001", msg_id="d1", **zhang)))
        photo, proof = png(2), pdf("办理过程记录")
        fake.add_file("dlc-photo", photo, "image/png")
        fake.add_file("dlc-proof", proof, "application/pdf")
        await fake.push(stream_frame(topic, file_message("picture", "dlc-photo", msg_id="d2", **zhang)))
        await fake.push(stream_frame(topic, robot_message(text=" 进展 0001 现场照片已拍", msg_id="d3", **zhang)))
        await fake.push(stream_frame(topic, file_message("file", "dlc-proof", file_name="办理过程.pdf",
                                                         msg_id="d4", **zhang)))
        await fake.push(stream_frame(topic, robot_message(text=f" 答复 0001 {GOOD_REPLY}", msg_id="d5", **zhang)))
        await fake.push(stream_frame(topic, robot_message(
            text=" 同意 0001", msg_id="d6", conversation_id=ylk, sender_staff_id=IDS["dingtalk"]["李科长"],
            sender_nick="李科长")))
        await settle(bot, sender, 6)
        assert fake.downloads == ["dlc-photo", "dlc-proof"]
        rows = await _attached(bot)
        assert [(r.purpose, r.kind) for r in rows] == [("进展", "image"), ("答复", "file")]
        await check_outputs(bot, make_user, hotline, {rows[0].filename: photo, "办理过程.pdf": proof})


# -- WeCom: AI bot image (direct chat) and 图文混排 with the command (group), AES-encrypted URLs --

async def test_wecom_image_and_mixed_message_reach_page_form_and_report(make_bot: Any, make_user: Any,
                                                                        clock: Any) -> None:
    fake = FakeWeCom(clock=clock)
    async with _evidence_bot(make_bot, fake, "wecom", wecom_longconn_config) as (bot, sender, hotline, url):
        assert await wecom_connection(bot).wait_ready(10.0)
        ylk, zhang = CHATS["wecom"]["YLK"], IDS["wecom"]["张承办"]

        await _intake(bot)
        await fake.push(aibot_text(f"@{BOT_NAME} 签收 0001", userid=zhang, chatid=ylk, msgid="w1"))
        photo, signed, record = png(3), png(4), pdf("现场核查记录")
        # 单聊: a photo and a file alone, then the command in the same chat
        await fake.push(aibot_media("image", fake.aibot_upload(url, photo), userid=zhang, msgid="w2"))
        await fake.push(aibot_media("file", fake.aibot_upload(url, record), userid=zhang, msgid="w2f"))
        await fake.push(aibot_text("进展 0001 现场照片", userid=zhang, chatid=None, msgid="w3"))
        # group: the command and the 领导签发 photo in one 图文混排 message
        await fake.push(aibot_media("image", fake.aibot_upload(url, signed), userid=zhang, chatid=ylk,
                                    msgid="w4", text=f"@{BOT_NAME} 答复 0001 {GOOD_REPLY}"))
        await fake.push(aibot_text(f"@{BOT_NAME} 同意 0001", userid=IDS["wecom"]["李科长"], chatid=ylk, msgid="w5"))
        await settle(bot, sender, 6)
        assert len(fake.downloads) == 3
        rows = await _attached(bot)
        assert [(r.purpose, r.kind, r.chat_id) for r in rows] == [
            ("进展", "image", zhang), ("进展", "file", zhang), ("答复", "image", ylk)]
        direct = [m for m in fake.aibot_messages if m.get("chatid") == zhang]
        assert any("已收到附件" in str(m) for m in direct)  # a file alone in a direct chat is acknowledged
        await check_outputs(bot, make_user, hotline, {rows[0].filename: photo, rows[1].filename: record,
                                                      rows[2].filename: signed})


async def test_chat_files_refused_by_limits_and_kept_only_for_their_sender(make_bot: Any, clock: Any) -> None:
    """Too large, a type not allowed, a download the platform refuses: a polite answer in Chinese,
    nothing kept. A file is only ever claimed by its own sender's command in that chat, within the
    window."""
    fake = FeishuFake(clock=clock, chat_qps=50)
    async with _evidence_bot(make_bot, fake, "feishu", feishu_webhook_config, max_bytes=2048,
                             window_minutes=5) as (bot, sender, _, _):
        post = partial(feishu_post, bot, clock=clock)
        ylk, zhang, li = CHATS["feishu"]["YLK"], IDS["feishu"]["张承办"], IDS["feishu"]["李科长"]
        at_bot = [mention("@_user_1", fake.bot_open_id, BOT_NAME)]

        async def send_file(mid: str, key: str, name: str, data: bytes | None, who: str = zhang) -> None:
            if data is not None:
                fake.add_resource(mid, key, "file", data)
            await post(message_event("", chat_id=ylk, sender=who, message_id=mid, message_type="file",
                                     content={"file_key": key, "file_name": name}))

        await _intake(bot)
        await post(message_event("@_user_1 签收 0001", chat_id=ylk, mentions=at_bot, sender=zhang))
        await send_file("om_big", "file_big", "大文件.pdf", pdf("x" * 4000))
        await send_file("om_exe", "file_exe", "setup.exe", b"MZ\x90\x00" + bytes(64))
        await send_file("om_gone", "file_gone", "过期.pdf", None)  # the platform no longer has it
        await send_file("om_li", "file_li", "科长的.pdf", pdf("leader"), who=li)
        await send_file("om_old", "file_old", "早先的.pdf", pdf("old"))
        await bot.client.app[INBOX].drain()  # kept now, then the clock moves
        clock.advance(minutes=6)  # past window_minutes=5
        await send_file("om_new", "file_new", "现场记录.pdf", pdf("new"))
        await post(message_event("@_user_1 进展 0001 已核实", chat_id=ylk, mentions=at_bot, sender=zhang))
        await settle(bot, sender, 8)
        told = "\n".join(json.dumps(m["content"], ensure_ascii=False) for m in fake.messages)
        assert "附件「大文件.pdf」超过 2KB 的上限" in told
        assert "附件「setup.exe」的类型不在允许范围内" in told
        assert "附件「过期.pdf」下载失败，请重新发送" in told
        rows = await _attached(bot)
        assert [(r.filename, r.ticket_id is not None) for r in rows] == [
            ("科长的.pdf", False), ("早先的.pdf", False), ("现场记录.pdf", True)]


async def test_a_slow_download_never_holds_up_the_inbox(make_bot: Any, clock: Any) -> None:
    """The file is fetched at ingest, outside the inbox's write turn and any transaction: while the
    platform holds the download, later events are still written to the inbox (and acknowledged)."""
    fake = FakeWeCom(clock=clock)
    async with _evidence_bot(make_bot, fake, "wecom", wecom_longconn_config) as (bot, sender, _, url):
        assert await wecom_connection(bot).wait_ready(10.0)
        zhang = IDS["wecom"]["张承办"]
        await _intake(bot)
        photo = png(5)
        media = fake.aibot_upload(url, photo)
        fake.hold()
        await fake.push(aibot_media("image", media, userid=zhang, msgid="s1"))
        await fake.wait_for(lambda: fake.held == 1)
        for i in range(3):
            await fake.push(aibot_text("查询 0001", userid=zhang, chatid=None, msgid=f"s{i + 2}"))
        await until(lambda: _inbox_rows(bot, 4))  # written while the download is held
        assert await _attached(bot) == []
        fake.release()
        await settle(bot, sender, 4)
        [row] = await _attached(bot)
        assert bot.ctx.attachments.content(row) == photo and row.ticket_id is None


async def _inbox_rows(bot: Any, n: int) -> bool:
    return await inbox_count(bot) >= n
