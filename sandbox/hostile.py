"""Hostile network stand-ins on loopback for tests and benchmarks: a port whose connects never
complete, and a listener that only records who connected (where a rebound name would lead)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def blackhole() -> Iterator[int]:
    """A loopback port whose connects never complete: a listener that never accepts, its queue full."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # fill the accept queue; later SYNs are dropped
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in fillers + [listener]:
            sock.close()


@contextmanager
def recording_listener(host: str, port: int) -> Iterator[list[tuple]]:
    """Accept and close every connection to host:port; yields the list of peers that connected."""
    seen: list[tuple] = []
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(8)
    listener.settimeout(0.05)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except (TimeoutError, OSError):
                continue
            seen.append(peer)
            conn.close()

    thread = threading.Thread(target=accept, name="recording-listener", daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(2)
        listener.close()
