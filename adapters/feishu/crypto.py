"""Feishu (飞书) callback crypto and custom-bot signing (``docs/platforms/feishu.md``, webhook verification).

Pure functions, pinned by ``tests/vectors/feishu.json``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.edge import header_bytes


class FeishuCryptoError(ValueError):
    """A body that cannot be decrypted (bad base64, wrong key, bad padding, not UTF-8)."""


@functools.lru_cache(maxsize=32)
def _key(encrypt_key: str) -> bytes:
    """The AES key of an Encrypt Key (cached: one per configured bot, derived on every callback)."""
    return hashlib.sha256(encrypt_key.encode()).digest()


def decrypt(encrypt_key: str, encrypted: str) -> str:
    """Decrypt an ``{"encrypt": ...}`` value: AES-256-CBC, key SHA256(encrypt_key), IV first 16 bytes.

    Raises FeishuCryptoError for anything that is not a valid ciphertext under this key.
    """
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FeishuCryptoError("encrypt is not base64") from exc
    if len(raw) < 32 or len(raw) % 16:
        raise FeishuCryptoError("ciphertext has a wrong length")
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeishuCryptoError("wrong key or corrupt ciphertext") from exc


def encrypt(encrypt_key: str, plaintext: str, *, iv: bytes | None = None) -> str:
    """The inverse of :func:`decrypt`, as Feishu encrypts (used by the fake platform and tests)."""
    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def event_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature``: hex SHA-256 of timestamp + nonce + encrypt_key, then the raw body bytes."""
    return hashlib.sha256(header_bytes(timestamp + nonce + encrypt_key) + body).hexdigest()


def verify_event_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes,
                           signature: str) -> bool:
    """Constant-time check of ``X-Lark-Signature`` over the exact received bytes."""
    expected = event_signature(timestamp, nonce, encrypt_key, body)
    return hmac.compare_digest(expected.encode(), header_bytes(signature.strip().lower()))


def robot_sign(secret: str, timestamp: str) -> str:
    """Custom-bot ``sign``: Base64(HmacSHA256(key = timestamp + "\\n" + secret, msg = "")), seconds."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
