"""Load generator for ack_latency.py, run in its own process (so its CPU is not the bot's).

Reads {"url": ..., "requests": [{"body": <base64>, "headers": {...}}, ...]} on
stdin and sends every request at once: one non-blocking socket each, driven
by one selector loop, so the generator's own overhead (microseconds per
request) does not pile up the way 100 Python threads using `requests` would.
Prints {"seconds": [...], "statuses": [...], "started_at": [...]}: for each
request the time from opening its connection to having the whole answer, the
HTTP status (0 for a network error), and the wall-clock time (time.time()) it
was opened, to compare with what another process recorded.
"""

from __future__ import annotations

import base64
import errno
import json
import selectors
import socket
import sys
import time
from urllib.parse import urlsplit


def _request_bytes(url: str, body: bytes, headers: dict) -> bytes:
    parts = urlsplit(url)
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _complete(data: bytes) -> int | None:
    """The status code once `data` holds a whole HTTP response, else None."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is not None and len(rest) < length:
        return None
    return int(lines[0].split()[1])


def fire(url: str, requests_: list[tuple[bytes, dict]], timeout: float = 30.0,
         started_at: list[float] | None = None) -> tuple[list[float], list[int]]:
    """Send all at once; (seconds, statuses). `started_at`, if given, gets each request's wall-clock start."""
    parts = urlsplit(url)
    address = (parts.hostname, parts.port or 80)
    payloads = [_request_bytes(url, body, headers) for body, headers in requests_]
    n = len(payloads)
    seconds, statuses = [0.0] * n, [0] * n
    started, sent, received = [0.0] * n, [0] * n, [b""] * n
    if started_at is not None:
        started_at[:] = [0.0] * n
    selector = selectors.DefaultSelector()
    for i in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        started[i] = time.perf_counter()
        if started_at is not None:
            started_at[i] = time.time()
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            seconds[i] = time.perf_counter() - started[i]
            sock.close()
            continue
        selector.register(sock, selectors.EVENT_WRITE, i)
    deadline = time.perf_counter() + timeout
    while selector.get_map() and time.perf_counter() < deadline:
        for key, events in selector.select(timeout=1.0):
            sock, i = key.fileobj, key.data
            try:
                if events & selectors.EVENT_WRITE:
                    sent[i] += sock.send(payloads[i][sent[i]:])
                    if sent[i] == len(payloads[i]):
                        selector.modify(sock, selectors.EVENT_READ, i)
                    continue
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
                statuses[i] = 0
            received[i] += chunk
            status = _complete(received[i])
            if status is not None or not chunk:
                seconds[i] = time.perf_counter() - started[i]
                statuses[i] = status or 0
                selector.unregister(sock)
                sock.close()
    return seconds, statuses


def main() -> int:
    job = json.load(sys.stdin)
    todo = [(base64.b64decode(r["body"]), r["headers"]) for r in job["requests"]]
    started_at: list[float] = []
    seconds, statuses = fire(job["url"], todo, started_at=started_at)
    json.dump({"seconds": seconds, "statuses": statuses, "started_at": started_at}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
