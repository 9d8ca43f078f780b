"""``hotline-bot <args>`` under tracemalloc, for ``bench/fuzz.py --trace-dir``: each SIGUSR1
writes a snapshot (after a full collection) to ``<dir>/snap-<n>.pickle``, then ``snap-<n>.done``.

    python bench/_traced_serve.py DIR serve -c config.toml --port 8080
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = int(os.environ.get("HOTLINE_TRACE_FRAMES", "12"))


def main() -> int:
    """Start tracing, install the snapshot signal, run the CLI with the remaining arguments."""
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    taken = 0

    def snapshot(signum: int, frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        gc.collect()
        tracemalloc.take_snapshot().dump(str(out / f"snap-{taken}.pickle"))
        (out / f"snap-{taken}.done").write_text(str(tracemalloc.get_traced_memory()[0]))

    signal.signal(signal.SIGUSR1, snapshot)
    from bot.cli import main as cli_main

    return cli_main(sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
