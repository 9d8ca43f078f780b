"""``hotline-bot <args>`` with a memory probe, for ``bench/fuzz.py --trace-dir``: each SIGUSR1
writes ``<dir>/snap-<n>.json`` (RSS, the C allocator's view from glibc's ``mallinfo2``, Python's
allocated blocks, live objects by type, after a full collection), with ``HOTLINE_TRACE_FRAMES``
> 0 also a tracemalloc snapshot ``snap-<n>.pickle``, then ``snap-<n>.done``. SIGUSR2 asks the C
allocator to give its free memory back (``malloc_trim``) and writes the next snapshot after it.

    python bench/_traced_serve.py DIR serve -c config.toml --port 8080
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

FRAMES = int(os.environ.get("HOTLINE_TRACE_FRAMES", "0"))


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (2.33+)."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]


def _libc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
        return libc
    except (OSError, AttributeError):
        return None


def rss_kib() -> dict[str, int]:
    """This process's resident set size in KiB: all, anonymous, file-backed, shared memory."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            out[key] = int(line.split()[1])
    return out


def mappings_kib() -> dict[str, int]:
    """Resident KiB by mapping (a file's path, ``[heap]``, ``[stack]``; ``anon`` for the rest)."""
    found: Counter[str] = Counter()
    name = "anon"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping's header line
            name = head[5] if len(head) > 5 else "anon"
        elif head[0] == "Rss:":
            found[name] += int(head[1])
    return dict(found)


def pymalloc_kib() -> dict[str, int]:
    """Python's small-object allocator (``sys._debugmallocstats``, which writes to fd 2): its
    arenas now and at most, and the bytes in its blocks, used and free."""
    import re
    import tempfile
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("ascii", "replace")
    found = {}
    for key, pattern in (("arenas_current", r"# arenas allocated current\s*=\s*([\d,]+)"),
                         ("arenas_highwater", r"# arenas highwater mark\s*=\s*([\d,]+)"),
                         ("used_kib", r"# bytes in allocated blocks\s*=\s*([\d,]+)"),
                         ("free_kib", r"# bytes in available blocks\s*=\s*([\d,]+)"),
                         ("unused_pools_kib", r"bytes in \d+ unused pools\s*=\s*([\d,]+)"),
                         ("total_kib", r"Total\s*=\s*([\d,]+)")):
        m = re.search(pattern, text)
        if m:
            value = int(m.group(1).replace(",", ""))
            found[key] = value if key.startswith("arenas") else value // 1024
    return found


def stats(libc: Any) -> dict[str, Any]:
    """Where this process's memory is, after a full collection."""
    gc.collect()
    rss = rss_kib()
    out: dict[str, Any] = {"rss_kib": rss["VmRSS"], "rss": rss, "maps": mappings_kib(),
                           "py_blocks": sys.getallocatedblocks(),
                           "threads": len(os.listdir("/proc/self/task")), "pymalloc": pymalloc_kib()}
    if libc is not None:
        info = libc.mallinfo2()
        out["malloc"] = {name: getattr(info, name) for name, _ in MallInfo2._fields_}
    out["types"] = dict(Counter(type(o).__qualname__ for o in gc.get_objects()).most_common(60))
    if tracemalloc.is_tracing():
        out["traced_bytes"] = tracemalloc.get_traced_memory()[0]
        out["tracemalloc_overhead"] = tracemalloc.get_tracemalloc_memory()
    return out


def main() -> int:
    """Install the probe's signals, run the CLI with the remaining arguments."""
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    if FRAMES:
        tracemalloc.start(FRAMES)
    libc = _libc()
    taken = 0

    def snapshot(signum: int, frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        if signum == signal.SIGUSR2 and libc is not None:
            libc.malloc_trim(0)
        (out / f"snap-{taken}.json").write_text(json.dumps(stats(libc)))
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(out / f"snap-{taken}.pickle"))
        (out / f"snap-{taken}.done").write_text("")

    signal.signal(signal.SIGUSR1, snapshot)
    signal.signal(signal.SIGUSR2, snapshot)
    from bot.cli import main as cli_main

    return cli_main(sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
