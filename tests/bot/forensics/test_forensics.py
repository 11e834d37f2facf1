"""Proof forensics: the download guard over real HTTP servers on loopback (the pure parts: test_forensics_unit.py).

Hostile servers: one that drips the body or the headers a byte at a time, one that accepts and
stays silent, one whose connect never completes (a full accept queue), and a DNS server on
loopback that answers a name with one address and then another (rebinding)."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.forensics import fetch
from bot.forensics.fetch import HOST_SKIPPED, FetchFailed, ImageFetcher, Resolver, SandboxOrigin, fetch_image
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
    redirect_to = ""

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

    def _drip(self, head: bytes, body: bytes, *, header_pause: float) -> None:
        try:
            for n, byte in enumerate(head + body):
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if header_pause or n >= len(head):
                    time.sleep(header_pause or 0.5)
        except OSError:
            pass  # the client cut it, as it should

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
        elif path == "/drip":  # a byte a second: every socket read returns quickly, the image never ends
            self._drip(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n", PNG, header_pause=0)
        elif path == "/drip-headers":  # the header phase itself dripped
            self._drip(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\nX-Filler: " + b"a" * 60, b"", header_pause=0.5)
        elif path == "/silent":  # accepted, read, never answered
            time.sleep(8)
        elif path == "/to-file":
            self._send(302, content_type=None, headers=[("Location", "file:///etc/passwd")])
        elif path == "/to-other":
            self._send(302, content_type=None, headers=[("Location", _Handler.redirect_to)])
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


def sandbox_of(base: str) -> SandboxOrigin:
    origin = SandboxOrigin.of(base)
    assert origin is not None
    return origin


def get(url, **kw):
    """A fetch allowed to reach the test server's own origin (as the simulator's is)."""
    base = url.split("/", 3)
    return fetch_image(url, sandbox=sandbox_of("/".join(base[:3])), **kw)


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
        get(f"{image_server}/slow", seconds=0.5)
    assert str(e.value) == "timed out"


@pytest.mark.parametrize("path", ["/drip", "/drip-headers", "/silent"])
def test_one_deadline_covers_headers_and_body_however_a_server_drips(image_server, path):
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="^timed out$"):
        get(image_server + path, seconds=1.0)
    assert time.monotonic() - started < 2.5  # the deadline, not a per-read timeout that each byte renews


@pytest.fixture
def blackhole():
    from sandbox.hostile import blackhole

    with blackhole() as port:
        time.sleep(0.1)
        yield port


def test_a_connect_that_never_completes_ends_at_the_deadline_and_the_host_is_skipped(blackhole):
    url = f"http://127.0.0.1:{blackhole}/a.png"
    fetcher = ImageFetcher(sandbox=sandbox_of(f"http://127.0.0.1:{blackhole}"), seconds=1.0)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="^timed out$"):
        fetcher.fetch(url)
    assert time.monotonic() - started < 2.5
    started = time.monotonic()
    with pytest.raises(FetchFailed, match=f"^{HOST_SKIPPED}$"):
        fetcher.fetch(url)
    assert time.monotonic() - started < 0.5


def test_a_host_that_timed_out_is_skipped_without_a_connection(image_server):
    fetcher = ImageFetcher(sandbox=sandbox_of(image_server), seconds=0.8)
    with pytest.raises(FetchFailed, match="^timed out$"):
        fetcher.fetch(f"{image_server}/silent")
    _Handler.seen.clear()
    with pytest.raises(FetchFailed, match=f"^{HOST_SKIPPED}$"):
        fetcher.fetch(f"{image_server}/ok.png")
    assert _Handler.seen == []  # not even asked
    assert ImageFetcher(sandbox=sandbox_of(image_server)).fetch(f"{image_server}/ok.png").data == PNG  # a fresh breaker


def test_a_refused_connection_trips_the_breaker_too(image_server):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    fetcher = ImageFetcher(sandbox=sandbox_of(f"http://127.0.0.1:{port}"))
    with pytest.raises(FetchFailed, match="^connection refused$"):
        fetcher.fetch(f"http://127.0.0.1:{port}/a.png")
    with pytest.raises(FetchFailed, match=f"^{HOST_SKIPPED}$"):
        fetcher.fetch(f"http://127.0.0.1:{port}/a.png")


def test_a_bomb_downloads_but_is_refused_when_decoded(image_server):
    data = get(f"{image_server}/bomb.png").data
    with pytest.raises(ImageRejected, match="^too large$"):
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
        fetch_image(url, sandbox=sandbox_of("http://127.0.0.1:80"))
    assert str(e.value) == reason


def test_private_addresses_are_refused_unless_allowed(image_server):
    with pytest.raises(FetchFailed, match="private network"):
        fetch_image(f"{image_server}/ok.png")
    with pytest.raises(FetchFailed, match="private network"):
        fetch_image("http://169.254.169.254/latest/meta-data/")


@pytest.fixture
def second_server():
    """Another server on loopback (another port): the bot's own network, as far as the guard knows."""
    seen = []

    class Secret(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Secret)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_the_sandbox_allowance_is_its_exact_origin_not_every_private_address(image_server, second_server):
    other, seen = second_server
    sandbox = sandbox_of(image_server)
    assert fetch_image(f"{image_server}/ok.png", sandbox=sandbox).data == PNG
    for url in (f"{other}/ok.png", f"http://[::ffff:127.0.0.1]:{image_server.rsplit(':', 1)[1]}/ok.png", "http://10.0.0.1/a.png"):
        with pytest.raises(FetchFailed, match="private network"):
            fetch_image(url, sandbox=sandbox)
    assert seen == []


def test_each_redirect_hop_is_vetted(image_server, second_server):
    other, seen = second_server
    _Handler.redirect_to = f"{other}/ok.png"
    with pytest.raises(FetchFailed, match="private network"):
        get(f"{image_server}/to-other")
    assert seen == []  # the first hop was the sandbox's own origin; the second is not


@pytest.fixture
def dns():
    from sandbox.dns import DnsStandin

    standin = DnsStandin()
    address = standin.start()
    yield standin, address
    standin.stop()


@pytest.fixture
def lookalike(image_server):
    """A listener on 127.0.0.2 at the image server's port: where a rebound name would lead."""
    from sandbox.hostile import recording_listener

    with recording_listener("127.0.0.2", int(image_server.rsplit(":", 1)[1])) as seen:
        yield seen


def test_only_the_vetted_address_is_connected_to_when_the_name_rebinds(image_server, dns, lookalike):
    standin, (dns_host, dns_port) = dns
    port = image_server.rsplit(":", 1)[1]
    # The first answer is the vetted one (the sandbox's own address); every later one points elsewhere.
    standin.answer("img.rebind.test", ["127.0.0.1"], ["127.0.0.2"])
    fetcher = ImageFetcher(sandbox=sandbox_of(image_server), resolver=Resolver((dns_host, dns_port)))
    _Handler.seen.clear()
    got = fetcher.fetch(f"http://img.rebind.test:{port}/ok.png")
    assert got.data == PNG
    assert standin.asked("img.rebind.test") == 2  # one look-up (AAAA and A), never a second one to connect
    assert lookalike == []
    assert _Handler.seen[-1]["headers"]["Host"] == f"img.rebind.test:{port}"  # the name is kept for the server
    # Looked up again for the next fetch, the name now leads to a private address: refused, not connected.
    with pytest.raises(FetchFailed, match="private network"):
        fetcher.fetch(f"http://img.rebind.test:{port}/ok.png")
    assert lookalike == []


def test_a_silent_name_server_ends_at_the_deadline(dns):
    standin, address = dns
    standin.silence("slow.example.test")
    fetcher = ImageFetcher(resolver=Resolver(address), seconds=1.0)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="^timed out$"):
        fetcher.fetch("http://slow.example.test/a.png")
    assert time.monotonic() - started < 2.5
    with pytest.raises(FetchFailed, match=f"^{HOST_SKIPPED}$"):
        fetcher.fetch("http://slow.example.test/b.png")
    with pytest.raises(FetchFailed, match="^host not found$"):
        fetcher.fetch("http://nowhere.example.test/a.png")
