"""The file store of attachments: each content stored once, named by its SHA-256, in a directory.

Writes go to a temporary name and are renamed into place, so a reader never sees half a file and
two writers of the same content end with one copy. Nothing here knows tickets or rights; the
callers check both before they read.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{64}")


def sibling_dir(store_url: str, config_dir: Path | None = None) -> Path:
    """Where attachments go when no directory is configured: ``<db file>.files`` beside a SQLite
    file, else ``attachments`` beside the config file (or in the working directory)."""
    if store_url.startswith("sqlite") and ":///" in store_url:
        db = store_url.split(":///", 1)[1].split("?", 1)[0]
        if db and db != ":memory:":
            return Path(db + ".files")
    return (config_dir or Path()) / "attachments"


class FileStore:
    """Content-addressed files under ``root`` (``ab/abcdef…``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the content ``sha256`` lives; ValueError for anything but a lowercase hex digest."""
        if not _SHA.fullmatch(sha256):
            raise ValueError("not a SHA-256 digest")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """The content stored as ``sha256``; FileNotFoundError when it is not here."""
        return self.path(sha256).read_bytes()

    def count(self) -> int:
        """How many distinct contents are stored."""
        if not self.root.exists():
            return 0
        return sum(1 for p in self.root.glob("??/*") if _SHA.fullmatch(p.name))
