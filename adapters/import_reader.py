"""Reading an export for ``hotline-bot import``, in a child process when the file is large.

Parsing a workbook and registering its tickets are both CPU-bound Python: in one
process they take turns on one core. A large file is therefore read by a child process
(``python -m adapters.import_reader``), chunk by chunk, while this process registers the chunks
already read, so the two use both cores (python-calamine reads 10,000 .xlsx rows in well under a second; turning them into
intake bodies and registering them takes the rest).
The child costs ~0.2 s to start, so small files are read in-process. What comes out is the same
either way: :func:`adapters.importer.read_tickets`' items in file order, and its exceptions
(unreadable file, unsupported type) raised here.

The child writes frames to its stdout: a 4-byte big-endian length, then a pickle of
``("rows", [items])``, ``("end", None)`` or ``("error", exception)``. Pickle is safe here: the
child is this module, started by us, and nothing else writes to that pipe.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import struct
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import time
from pathlib import Path
from typing import Any

from adapters.importer import ColumnNotice, ImportRow, RowError, read_tickets

CHUNK = 500
IN_CHILD_FROM_BYTES = 256 * 1024  # about 1,500 .xlsx rows
_FRAME = struct.Struct(">I")

Item = ImportRow | RowError | ColumnNotice


class ReaderDied(RuntimeError):
    """The reading process ended without finishing the file."""


def chunked(items: Iterator[Item]) -> Iterator[list[Item]]:
    """``items`` in lists of up to :data:`CHUNK`."""
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def read_chunks(path: Path, *, in_child: bool | None = None,
                      **options: Any) -> AsyncIterator[list[Item]]:
    """The items of ``read_tickets(path, **options)`` in chunks of up to :data:`CHUNK`.

    ``in_child`` forces or forbids the child process; by default files of at least
    :data:`IN_CHILD_FROM_BYTES` get one.
    """
    if in_child is None:
        in_child = await asyncio.to_thread(_is_large, path)
    if not in_child:
        for chunk in chunked(read_tickets(path, **options)):
            yield chunk
        return
    args = json.dumps({"path": str(path), **options}, default=_encode)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.import_reader", args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        limit=2**20)
    assert child.stdout is not None and child.stderr is not None
    try:
        while True:
            try:
                size = _FRAME.unpack(await child.stdout.readexactly(_FRAME.size))[0]
                kind, payload = pickle.loads(await child.stdout.readexactly(size))
            except asyncio.IncompleteReadError:
                await child.wait()
                detail = (await child.stderr.read()).decode(errors="replace").strip().splitlines()
                raise ReaderDied(f"读取文件的进程意外退出（exit code {child.returncode}）："
                                 f"{detail[-1] if detail else ''}") from None
            if kind == "end":
                return
            if kind == "error":
                raise payload
            yield payload
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


def _is_large(path: Path) -> bool:
    return path.is_file() and path.stat().st_size >= IN_CHILD_FROM_BYTES


def _encode(value: Any) -> Any:
    if isinstance(value, time):
        return {"__time__": value.isoformat()}
    raise TypeError(f"cannot pass {value!r} to the reader")


def _decode(obj: dict[str, Any]) -> Any:
    return time.fromisoformat(obj["__time__"]) if "__time__" in obj else obj


def _send(out: Any, message: tuple[str, Any]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_FRAME.pack(len(data)))
    out.write(data)


def main(argv: list[str]) -> int:
    """The child: read the file named in ``argv[0]`` (JSON options) and send it in frames."""
    options = json.loads(argv[0], object_hook=_decode)
    path = Path(options.pop("path"))
    out = sys.stdout.buffer
    try:
        for chunk in chunked(read_tickets(path, **options)):
            _send(out, ("rows", chunk))
    except Exception as exc:  # the parent raises it
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        _send(out, ("error", exc))
    else:
        _send(out, ("end", None))
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
