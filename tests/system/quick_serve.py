"""``python -m tests.system.quick_serve serve -c CONFIG``: ``hotline-bot serve`` for the crash test,
with the production claims (a SIGKILLed instance's claims are taken over at once: its mark of life
in the store is gone, see ``store.leases.Presence``). Only the fake SMS provider's status API is
taken as knowing a message at once (``CRASH_SETTLE_SECONDS``, default 3): no index lag to wait out.

``python -m tests.system.quick_serve zygote``: imports the bot once, then for each line
``CONFIG<TAB>LOGFILE`` read on stdin forks a fresh ``serve -c CONFIG`` process (stderr to LOGFILE)
and prints its pid; at the end of stdin, the CPU seconds its ended children used. Each instance is still its own process, killed and started anew (its own event
loop, store connections and instance id); only Python's imports (seconds on a loaded machine) are
not paid again at each restart, so the kills fall on instances that run rather than start."""

from __future__ import annotations

import os
import resource
import signal
import sys

from adapters.sms.aliyun import AliyunSmsProvider  # first: it registers the providers the config names
from bot.cli import main


def _reap(*_: object) -> None:
    """Collect the children that ended, so a killed one is gone at once (no zombie)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def zygote() -> int:
    """Fork a serve for each ``CONFIG<TAB>LOGFILE`` line on stdin; print each child's pid."""
    signal.signal(signal.SIGCHLD, _reap)
    for line in sys.stdin:
        config, log = line.rstrip("\n").split("\t")
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            err = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            out = os.open(os.devnull, os.O_WRONLY)
            os.dup2(err, 2)
            os.dup2(out, 1)
            sys.stdin.close()
            code = 1
            try:
                code = main(["serve", "-c", config])
            finally:
                os._exit(code)
        print(pid, flush=True)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _reap()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{used.ru_utime + used.ru_stime:.1f}", flush=True)  # CPU seconds of the instances reaped
    return 0


if __name__ == "__main__":
    AliyunSmsProvider.status_settle_seconds = float(os.environ.get("CRASH_SETTLE_SECONDS", "3"))
    if sys.argv[1:] == ["zygote"]:
        raise SystemExit(zygote())
    raise SystemExit(main())
