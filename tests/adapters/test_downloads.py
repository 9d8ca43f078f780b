"""Each adapter downloads the images and files its messages carry with the platform's real API and
its own credentials: an expired token is refreshed once, an unknown key or a refused URL is a
DownloadFailed, a file past the limit a FileTooLarge."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.dingtalk.adapter import DingTalkAdapter
from adapters.dingtalk.config import DingTalkBotConfig
from adapters.dingtalk.decode import decode_robot_message
from adapters.feishu.adapter import FeishuAdapter
from adapters.feishu.config import FeishuBotConfig
from adapters.feishu.decode import BotIdentity, decode_event
from adapters.wecom.adapter import WeComAdapter
from adapters.wecom.config import WeComBotConfig
from adapters.wecom.decode import decode_aibot, decode_app_xml, parse_xml
from bot.messages import FileRef
from bot.ports import DownloadFailed, FileSource, FileTooLarge
from tests.fakes.dingtalk_server import FakeDingTalk, file_message
from tests.fakes.feishu_server import FeishuFake, message_event
from tests.fakes.wecom_server import FakeWeCom, aibot_media, app_media_xml
from tests.system.evidence_rig import pdf, png

LIMIT = 1 << 20


async def _serve(app: Any) -> tuple[TestServer, str]:
    server = TestServer(app)
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


async def test_wecom_app_media_with_the_access_token(http: aiohttp.ClientSession) -> None:
    fake = FakeWeCom()
    server, url = await _serve(fake.app)
    try:
        adapter = WeComAdapter({"b": WeComBotConfig(mode="webhook", token="T", aes_key="a" * 43, corp_id="wwCORP",
                                                    agent_id=1000002, app_secret="APPSECRET", api_base=url)})
        assert isinstance(adapter, FileSource)
        photo = png(9)
        fake.add_media("MEDIA1", photo, "image/png")
        msg = decode_app_xml("b", "热线助手", parse_xml(app_media_xml("image", "MEDIA1").encode()))
        assert msg is not None and msg.text == ""
        [ref] = msg.files
        assert (ref.kind, ref.key) == ("image", "MEDIA1")
        assert (await adapter.download(http, "b", ref, max_bytes=LIMIT))[0] == photo
        fake.expire_tokens()  # 42001: refreshed once, then served
        assert (await adapter.download(http, "b", ref, max_bytes=LIMIT))[0] == photo
        assert fake.token_fetches == 2 and fake.downloads == ["MEDIA1", "MEDIA1"]
        with pytest.raises(FileTooLarge):
            await adapter.download(http, "b", ref, max_bytes=10)
        with pytest.raises(DownloadFailed):
            await adapter.download(http, "b", FileRef("image", "NOPE", extra={"via": "media"}), max_bytes=LIMIT)
    finally:
        await server.close()


async def test_wecom_ai_bot_media_is_decrypted_with_its_aeskey(http: aiohttp.ClientSession) -> None:
    fake = FakeWeCom()
    server, url = await _serve(fake.app)
    try:
        adapter = WeComAdapter({"b": WeComBotConfig(bot_id="BOTID", secret="BOTSECRET", api_base=url)})
        proof = pdf("领导签发")
        media = fake.aibot_upload(url, proof)
        msg = decode_aibot("b", "热线助手", aibot_media("file", media, userid="zhangcb", msgid="M1"))
        assert msg is not None
        [ref] = msg.files
        assert (await adapter.download(http, "b", ref, max_bytes=LIMIT))[0] == proof
        other = fake.aibot_upload(url, b"x")["aeskey"]
        try:  # another item's key does not decrypt it (a bad padding, or bytes that are not the file)
            wrong: bytes | None = (await adapter.download(http, "b", FileRef("file", ref.key, extra={"aeskey": other}),
                                                          max_bytes=LIMIT))[0]
        except DownloadFailed:
            wrong = None
        assert wrong != proof
        with pytest.raises(DownloadFailed):  # an unsigned URL is refused
            await adapter.download(http, "b", FileRef("file", ref.key.split("?")[0], extra=ref.extra),
                                   max_bytes=LIMIT)
    finally:
        await server.close()


async def test_dingtalk_download_code_with_the_app_token(http: aiohttp.ClientSession) -> None:
    fake = FakeDingTalk()
    server, url = await _serve(fake.app)
    try:
        adapter = DingTalkAdapter({"b": DingTalkBotConfig(mode="stream", app_key=fake.app_key,
                                                          app_secret=fake.app_secret, api_base=url, oapi_base=url)})
        photo = png(8)
        fake.add_file("CODE1", photo, "image/png")
        msg = decode_robot_message("b", "热线助手", file_message("picture", "CODE1"))
        assert msg is not None and msg.text == ""
        [ref] = msg.files
        assert (await adapter.download(http, "b", ref, max_bytes=LIMIT))[0] == photo
        fake.expire_tokens()
        assert (await adapter.download(http, "b", ref, max_bytes=LIMIT))[0] == photo
        assert fake.token_fetches == 2 and fake.downloads == ["CODE1", "CODE1"]
        with pytest.raises(DownloadFailed):
            await adapter.download(http, "b", FileRef("image", "EXPIRED"), max_bytes=LIMIT)
        with pytest.raises(FileTooLarge):
            await adapter.download(http, "b", ref, max_bytes=10)
    finally:
        await server.close()


async def test_feishu_message_resource_with_the_tenant_token(http: aiohttp.ClientSession) -> None:
    fake = FeishuFake()
    server, url = await _serve(fake.app)
    try:
        adapter = FeishuAdapter({"b": FeishuBotConfig(app_id="cli_test", app_secret="secret", api_base=url)})
        proof = pdf("政策文件")
        fake.add_resource("om_1", "file_v3_1", "file", proof, "application/pdf")
        msg = decode_event(message_event("", message_id="om_1", message_type="file",
                                         content={"file_key": "file_v3_1", "file_name": "政策.pdf"}),
                           BotIdentity("b"))
        assert msg is not None
        [ref] = msg.files
        assert (ref.kind, ref.name) == ("file", "政策.pdf")
        assert (await adapter.download(http, "b", ref, max_bytes=LIMIT))[0] == proof
        fake.expire_tokens()
        assert (await adapter.download(http, "b", ref, max_bytes=LIMIT))[0] == proof
        assert fake.token_fetches == 2
        with pytest.raises(DownloadFailed):  # a key from another message
            await adapter.download(http, "b", FileRef("file", "file_v3_1", extra={"message_id": "om_2"}),
                                   max_bytes=LIMIT)
        with pytest.raises(DownloadFailed):  # asked as an image, it is a file
            await adapter.download(http, "b", FileRef("image", "file_v3_1", extra={"message_id": "om_1"}),
                                   max_bytes=LIMIT)
        post = decode_event(message_event("", message_id="om_3", message_type="post", content={
            "title": "", "content": [[{"tag": "text", "text": "进展 0001 现场"}, {"tag": "img", "image_key": "img_1"}]]}),
            BotIdentity("b"))
        assert post is not None and post.text == "进展 0001 现场"
        assert [(f.kind, f.key) for f in post.files] == [("image", "img_1")]
    finally:
        await server.close()
