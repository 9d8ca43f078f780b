"""WeCom callback crypto (加解密方案说明, ``docs/platforms/wecom.md``).

``msg_signature = sha1(sorted([token, timestamp, nonce, encrypt]))``; the payload is AES-256-CBC with
``key = b64decode(EncodingAESKey + "=")``, ``iv = key[:16]``, PKCS#7 padded to a multiple of **32**;
plaintext = ``random(16) ‖ len(msg) as 4-byte big-endian ‖ msg ‖ receiveid``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.edge import header_bytes

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16


class WeComCryptoError(Exception):
    """A callback could not be verified or decrypted."""


class DecryptError(WeComCryptoError):
    """The ciphertext is not valid base64/AES/PKCS#7 or its layout is broken."""


def aes_key_from_encoding(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey."""
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Lowercase hex SHA-1 over the sorted, concatenated parameters."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode()).hexdigest()


def signature_ok(signature: str, token: str, timestamp: str, nonce: str, encrypt: str) -> bool:
    """Constant-time check of ``signature`` against the expected ``msg_signature``."""
    expected = msg_signature(token, timestamp, nonce, encrypt)
    return hmac.compare_digest(expected.encode(), header_bytes(signature.strip().lower()))


def decrypt(key: bytes, encrypt: str) -> tuple[bytes, str]:
    """Decrypt ``encrypt`` (base64) to ``(msg, receiveid)``; raises DecryptError."""
    try:
        raw = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptError("ciphertext is not base64") from exc
    if not raw or len(raw) % 16:
        raise DecryptError("ciphertext length is not a multiple of the AES block")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise DecryptError("bad PKCS#7 padding")
    content = plain[16:-pad]
    if len(content) < 4:
        raise DecryptError("plaintext too short")
    (msg_len,) = struct.unpack(">I", content[:4])
    if 4 + msg_len > len(content):
        raise DecryptError("message length exceeds plaintext")
    msg = content[4:4 + msg_len]
    try:
        receiveid = content[4 + msg_len:].decode()
    except UnicodeDecodeError as exc:
        raise DecryptError("receiveid is not UTF-8") from exc
    return msg, receiveid


def encrypt(key: bytes, msg: bytes, receiveid: str, random16: bytes | None = None) -> str:
    """Encrypt ``msg`` for ``receiveid`` the way WeCom does (base64 result)."""
    prefix = random16 if random16 is not None else os.urandom(16)
    if len(prefix) != 16:
        raise ValueError("random prefix must be 16 bytes")
    body = prefix + struct.pack(">I", len(msg)) + msg + receiveid.encode()
    pad = BLOCK - len(body) % BLOCK
    body += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


def decrypt_media(key: bytes, data: bytes) -> bytes:
    """An AI bot's downloaded image or file: AES-256-CBC with ``iv = key[:16]``, PKCS#7 padded to
    32 bytes, no random prefix or length (unlike callbacks); raises DecryptError."""
    if not data or len(data) % 16:
        raise DecryptError("media length is not a multiple of the AES block")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise DecryptError("bad PKCS#7 padding")
    return plain[:-pad]


def media_key(aeskey: str) -> bytes:
    """The 32-byte key of a media item's ``aeskey`` (base64, with or without its padding)."""
    try:
        key = base64.b64decode(aeskey + "=" * (-len(aeskey) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptError("aeskey is not base64") from exc
    if len(key) != 32:
        raise DecryptError("aeskey must decode to 32 bytes")
    return key


class WeComCrypto:
    """Token + EncodingAESKey of one callback configuration."""

    def __init__(self, token: str, encoding_aes_key: str) -> None:
        self.token = token
        self.key = aes_key_from_encoding(encoding_aes_key)

    def signature_ok(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        """Constant-time msg_signature check."""
        return signature_ok(signature, self.token, timestamp, nonce, encrypt)

    def decrypt(self, encrypt: str) -> tuple[bytes, str]:
        """``(msg, receiveid)``; raises DecryptError."""
        return decrypt(self.key, encrypt)

    def encrypt_reply(self, msg: bytes, receiveid: str, timestamp: str, nonce: str,
                      random16: bytes | None = None) -> tuple[str, str]:
        """``(encrypt, msg_signature)`` for a passive reply."""
        enc = encrypt(self.key, msg, receiveid, random16)
        return enc, msg_signature(self.token, timestamp, nonce, enc)
