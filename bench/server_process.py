"""A benchmark's loopback server in a process of its own, so that its CPU is
not counted as the monitor's: started with a command that prints
``PORT <n>`` first, then serves until its stdin closes."""

from __future__ import annotations

import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


@contextmanager
def server_process(command: Sequence[str]) -> Iterator[str]:
    """Run ``command``; yields the base URL of the port it prints, and stops it after."""
    with subprocess.Popen(
        list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            line = process.stdout.readline()
            if not line.startswith("PORT "):
                raise RuntimeError(f"the feed server did not start: {line!r}")
            yield f"http://127.0.0.1:{int(line.split()[1])}"
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def serve_until_stdin_closes(server: socketserver.BaseServer, port: int) -> None:
    """The server process's side: print ``PORT <port>``, serve until stdin
    closes (the parent leaving its ``server_process`` block), then stop."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    server.shutdown()
    thread.join()
