"""Proof forensics: the download guard over a real HTTP server on loopback (the pure parts: test_forensics_unit.py)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.forensics import fetch
from bot.forensics.fetch import FetchFailed, fetch_image
from bot.forensics.hashing import ImageRejected, hamming, hash_bytes
from bot.forensics.service import MAX_DHASH_DISTANCE, MAX_PHASH_DISTANCE
from sandbox.images import bomb_png, encode, screenshot

SMALL = (270, 585)


def near(a, b) -> bool:
    return hamming(a.phash, b.phash) <= MAX_PHASH_DISTANCE and hamming(a.dhash, b.dhash) <= MAX_DHASH_DISTANCE


# --- the download guard, over loopback -----------------------------------------------------

PNG = encode(screenshot(5, size=SMALL))


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", content_type="image/png", headers=(), length=True):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        _Handler.seen.append({"path": self.path, "headers": dict(self.headers)})
        path = self.path
        if path == "/ok.png":
            self._send(200, PNG)
        elif path == "/html":
            self._send(200, b"<html>login</html>", "text/html; charset=utf-8")
        elif path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(fetch.MAX_BYTES + 1))
            self.end_headers()
        elif path == "/big-streamed":  # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                for _ in range(fetch.MAX_BYTES // 65536 + 8):
                    self.wfile.write(b"\0" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/bomb.png":
            self._send(200, bomb_png())
        elif path == "/slow":
            time.sleep(1.5)
            try:
                self._send(200, PNG)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should
        elif path == "/to-file":
            self._send(302, content_type=None, headers=[("Location", "file:///etc/passwd")])
        elif path == "/to-ok":
            self._send(302, content_type=None, headers=[("Location", "/ok.png")])
        elif path.startswith("/loop"):
            self._send(302, content_type=None, headers=[("Location", f"/loop{len(path)}")])
        else:
            self._send(404, b"", "text/plain")


@pytest.fixture(scope="module")
def image_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def get(url, **kw):
    return fetch_image(url, allow_private=True, **kw)


def test_an_image_is_fetched_anonymously(image_server, monkeypatch, tmp_path):
    # Credentials the environment would offer to requests (a .netrc) must not be sent.
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login bob password hunter2\n")
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    _Handler.seen.clear()
    got = get(f"{image_server}/ok.png")
    assert got.data == PNG and got.content_type == "image/png"
    headers = {k.lower() for k in _Handler.seen[-1]["headers"]}
    assert not headers & {"authorization", "cookie", "proxy-authorization"}
    assert hash_bytes(got.data).phash == hash_bytes(PNG).phash


@pytest.mark.parametrize(
    "path, reason",
    [
        ("/html", "not an image (text/html)"),
        ("/big-declared", "larger than 10 MB"),
        ("/big-streamed", "larger than 10 MB"),
        ("/to-file", "not an http(s) address"),
        ("/loop", "too many redirects"),
        ("/missing", "HTTP 404"),
    ],
)
def test_the_guard_refuses(image_server, path, reason):
    with pytest.raises(FetchFailed) as e:
        get(image_server + path)
    assert str(e.value) == reason


def test_a_redirect_to_http_is_followed(image_server):
    assert get(f"{image_server}/to-ok").data == PNG


def test_a_slow_server_times_out(image_server):
    with pytest.raises(FetchFailed) as e:
        get(f"{image_server}/slow", timeout=(0.5, 0.5))
    assert str(e.value) == "timed out"


def test_a_bomb_downloads_but_is_refused_when_decoded(image_server):
    data = get(f"{image_server}/bomb.png").data
    with pytest.raises(ImageRejected, match="decompression bomb"):
        hash_bytes(data)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("file:///etc/passwd", "not an http(s) address"),
        ("ftp://example.com/a.png", "not an http(s) address"),
        ("javascript:alert(1)", "not an http(s) address"),
        ("http://user:pw@example.com/a.png", "address carries credentials"),
        ("http://x" + "y" * 3000 + ".com/", "not a web address"),
    ],
)
def test_addresses_refused_before_any_request(url, reason):
    with pytest.raises(FetchFailed) as e:
        fetch_image(url, allow_private=True)
    assert str(e.value) == reason


def test_private_addresses_are_refused_unless_allowed(image_server):
    with pytest.raises(FetchFailed, match="private network"):
        fetch_image(f"{image_server}/ok.png")
    with pytest.raises(FetchFailed, match="private network"):
        fetch_image("http://169.254.169.254/latest/meta-data/")
