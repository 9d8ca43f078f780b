"""WeCom crypto against every official vector in tests/vectors/wecom.json, plus properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.wecom.crypto import (
    DecryptError,
    WeComCrypto,
    aes_key_from_encoding,
    decrypt,
    encrypt,
    msg_signature,
    signature_ok,
)
from adapters.wecom.webhook import parse_query
from tests.fakes.wecom_server import wecom_encrypt, wecom_signature

VECTORS_FILE = Path(__file__).resolve().parents[2] / "vectors" / "wecom.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def _by_kind(kind: str) -> list[Any]:
    return [pytest.param(v, id=v["id"]) for v in VECTORS if v["kind"] == kind]


def test_every_vector_is_covered() -> None:
    kinds = {v["kind"] for v in VECTORS}
    assert kinds == {"wecom.callback_post", "wecom.verify_url", "wecom.encrypt_reply"}
    assert len(VECTORS) == 10


@pytest.mark.parametrize("vector", _by_kind("wecom.callback_post"))
def test_callback_post_vector(vector: dict[str, Any]) -> None:
    i, e = vector["inputs"], vector["expected"]
    assert msg_signature(i["token"], i["timestamp"], i["nonce"], i["encrypt"]) == e["msg_signature"]
    crypto = WeComCrypto(i["token"], i["encoding_aes_key"])
    assert crypto.signature_ok(e["msg_signature"], i["timestamp"], i["nonce"], i["encrypt"])
    plain, receiveid = crypto.decrypt(i["encrypt"])
    assert plain == e["plaintext"].encode()  # bytes: one sample plaintext is malformed JSON
    assert receiveid == e["receiveid"] == i["receiveid"]
    for needle in e.get("contains", []):
        assert needle.encode() in plain


@pytest.mark.parametrize("vector", _by_kind("wecom.verify_url"))
def test_verify_url_vector(vector: dict[str, Any]) -> None:
    i, e = vector["inputs"], vector["expected"]
    q = parse_query(i["query_string"])
    assert "+" in q["echostr"] or "/" in q["echostr"]  # %2B / %2F decoded, '+' kept
    ok = signature_ok(q["msg_signature"], i["token"], q["timestamp"], q["nonce"], q["echostr"])
    assert ok is e["signature_valid"]
    if ok:
        plain, receiveid = decrypt(aes_key_from_encoding(i["encoding_aes_key"]), q["echostr"])
        assert plain.decode() == e["response_body"]
        assert receiveid == e["receiveid"]


@pytest.mark.parametrize("vector", _by_kind("wecom.encrypt_reply"))
def test_encrypt_reply_vector(vector: dict[str, Any]) -> None:
    i, e = vector["inputs"], vector["expected"]
    crypto = WeComCrypto(i["token"], i["encoding_aes_key"])
    enc, sig = crypto.encrypt_reply(i["plaintext"].encode(), i["receiveid"], i["timestamp"],
                                    i["nonce"], random16=i["random16"].encode())
    assert enc == e["encrypt"]
    assert sig == e["msg_signature"]
    assert crypto.decrypt(enc) == (i["plaintext"].encode(), i["receiveid"])


def test_aibot_vector_has_empty_receiveid() -> None:
    vector = next(v for v in VECTORS if v["id"] == "wecom-aibot-json-generated")
    crypto = WeComCrypto(vector["inputs"]["token"], vector["inputs"]["encoding_aes_key"])
    plain, receiveid = crypto.decrypt(vector["expected"]["encrypt"])
    assert receiveid == ""
    assert json.loads(plain)["text"]["content"] == "@RobotA hello robot"


def test_pad_of_30_is_accepted() -> None:
    # wecom-doc-post-decrypt pads with 30 bytes: an unpad with block 16 would fail here
    vector = VECTORS[0]
    raw = __import__("base64").b64decode(vector["inputs"]["encrypt"])
    assert len(raw) % 32 == 0
    WeComCrypto(vector["inputs"]["token"], vector["inputs"]["encoding_aes_key"]).decrypt(
        vector["inputs"]["encrypt"])


@pytest.mark.parametrize("bad", ["", "not base64!", "QUJD", "A" * 24])
def test_garbage_ciphertext_raises(bad: str) -> None:
    with pytest.raises(DecryptError):
        decrypt(aes_key_from_encoding(KEY), bad)


def test_wrong_key_raises() -> None:
    enc = wecom_encrypt(KEY, b'{"msgid":"1"}', "")
    other = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
    with pytest.raises(DecryptError):
        decrypt(aes_key_from_encoding(other), enc)


@pytest.mark.parametrize("bad", ["short", "x" * 44, KEY[:-1] + "!"])
def test_bad_encoding_aes_key(bad: str) -> None:
    with pytest.raises(ValueError):
        aes_key_from_encoding(bad)


def test_signature_compare_is_case_insensitive_and_exact() -> None:
    sig = msg_signature("t", "1", "2", "enc")
    assert signature_ok(sig.upper(), "t", "1", "2", "enc")
    assert not signature_ok(sig[:-1] + ("0" if sig[-1] != "0" else "1"), "t", "1", "2", "enc")


@settings(max_examples=60, deadline=None)
@given(msg=st.binary(max_size=300), receiveid=st.sampled_from(["", "wwCORP", "ww1436e0e65a779aee"]))
def test_roundtrip_and_fake_agree(msg: bytes, receiveid: str) -> None:
    key = aes_key_from_encoding(KEY)
    ours = encrypt(key, msg, receiveid)
    assert decrypt(key, ours) == (msg, receiveid)
    theirs = wecom_encrypt(KEY, msg, receiveid)  # independent implementation in the fake
    assert decrypt(key, theirs) == (msg, receiveid)
    assert msg_signature("tok", "1", "2", theirs) == wecom_signature("tok", "1", "2", theirs)


@pytest.mark.parametrize(("query", "expected"), [
    ("a=1%2B2&b=x+y", {"a": "1+2", "b": "x+y"}),
    ("echostr=ab%3D%3D&&x", {"echostr": "ab==", "x": ""}),
])
def test_parse_query_keeps_plus(query: str, expected: dict[str, str]) -> None:
    assert parse_query(query) == expected
