"""Proof forensics, unit tier: hashing, the index, text folding, bursts, and the download guard
(over a real HTTP server on loopback)."""

from __future__ import annotations

import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.forensics import fetch
from bot.forensics.fetch import FetchFailed, fetch_image
from bot.forensics.hashing import ImageRejected, decode, hamming, hash_bytes, phash, to_signed, to_unsigned
from bot.forensics.index import HashIndex
from bot.forensics.service import MAX_DHASH_DISTANCE, MAX_PHASH_DISTANCE, busiest_window, private_hosts_allowed, utc_text
from bot.forensics.text import fingerprint, normalise
from sandbox.images import bomb_png, encode, near_duplicate, screenshot

SMALL = (270, 585)


def near(a, b) -> bool:
    return hamming(a.phash, b.phash) <= MAX_PHASH_DISTANCE and hamming(a.dhash, b.dhash) <= MAX_DHASH_DISTANCE


# --- hashing -----------------------------------------------------------------------------


def test_phash_is_imagehash_phash_without_scipy():
    import imagehash

    for seed in range(6):
        img = decode(encode(screenshot(seed, size=SMALL)))
        assert phash(img) == int(str(imagehash.phash(img)), 16)


def test_near_duplicates_match_and_distinct_images_of_the_same_layout_do_not():
    rng = random.Random(3)
    for seed in range(8):
        img = screenshot(seed, template=1, size=SMALL)
        original = hash_bytes(encode(img))
        # Re-encoded only: must match whatever the quality.
        assert near(original, hash_bytes(encode(img, "JPEG", 40)))
        matched = sum(near(original, hash_bytes(near_duplicate(img, rng)[0])) for _ in range(4))
        assert matched >= 3
        for other in range(100, 104):  # same template (layout, theme), another account
            assert not near(original, hash_bytes(encode(screenshot(other, template=1, size=SMALL))))


@pytest.mark.parametrize("a, b", [(184, 213), (144, 226), (195, 241)])
def test_distinct_screenshots_that_fool_phash_alone_are_not_matched(a, b):
    # Found by searching 300 corpus screenshots: pHash puts these within 8 bits.
    first = hash_bytes(encode(screenshot(a, template=a % 20, size=SMALL)))
    second = hash_bytes(encode(screenshot(b, template=b % 20, size=SMALL)))
    assert hamming(first.phash, second.phash) <= MAX_PHASH_DISTANCE  # pHash alone would accuse
    assert not near(first, second)  # dHash must agree too


def test_png_and_jpeg_of_one_screenshot_hash_alike_at_full_size():
    img = screenshot(42)
    assert img.size == (1080, 2340)
    assert near(hash_bytes(encode(img, "PNG")), hash_bytes(encode(img, "JPEG", 85)))


def test_signed_storage_round_trip():
    for value in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        signed = to_signed(value)
        assert -(1 << 63) <= signed < (1 << 63) and to_unsigned(signed) == value


@pytest.mark.parametrize(
    "data, reason",
    [
        (bomb_png(), "decompression bomb"),
        (bomb_png(7000, 7000), "decompression bomb"),  # 49 MP: over our 40 MP, under twice it (Pillow only warns)
        (b"GIF89a not really", "not a readable image"),
        (b"", "not a readable image"),
        (encode(screenshot(1, size=SMALL))[:300], "not a readable image"),  # truncated
    ],
    ids=["bomb", "over-limit", "garbage", "empty", "truncated"],
)
def test_unsafe_or_broken_images_are_refused_with_a_reason(data, reason):
    with pytest.raises(ImageRejected) as e:
        hash_bytes(data)
    assert reason in str(e.value)


# --- index -------------------------------------------------------------------------------


def test_index_finds_rows_within_both_distances_only():
    rng = random.Random(9)
    index = HashIndex()
    rows = [(n, to_signed(rng.getrandbits(64)), to_signed(rng.getrandbits(64))) for n in range(1, 2001)]
    index.extend(rows)
    assert len(index) == 2000 and index.last_key == 2000
    _, p, d = rows[499]
    flip = lambda v, bits: to_unsigned(v) ^ sum(1 << b for b in bits)  # noqa: E731
    found = index.near(flip(p, range(5)), flip(d, range(3)), max_phash=10, max_dhash=10)
    assert [(m.key, m.phash_distance, m.dhash_distance) for m in found] == [(500, 5, 3)]
    assert index.near(flip(p, range(11)), d, max_phash=10, max_dhash=10) == []
    assert index.near(p, flip(d, range(11)), max_phash=10, max_dhash=10) == []
    assert HashIndex().near(p, d, max_phash=10, max_dhash=10) == []


# --- text and time -----------------------------------------------------------------------


def test_text_is_folded_and_templates_are_ignored():
    assert normalise("  Followed the PAGE!!\n\nscreenshot—attached. ") == "followed the page screenshot attached"
    a = fingerprint("Followed the page, screenshot attached.")
    assert a is not None and a == fingerprint("followed   THE page screenshot attached")
    assert a != fingerprint("Followed the page, screenshot attached twice.")
    for generic in ("Done", "done!!", "Task done.", "OK", "Completed", "see screenshot", "short one", "", None):
        assert fingerprint(generic) is None


def test_busiest_window_and_times():
    from datetime import datetime, timedelta

    t0 = datetime(2026, 1, 1, 12, 0)
    times = [t0 + timedelta(minutes=m) for m in (0, 2, 4, 6, 8, 9, 30)]
    assert busiest_window(times, times[5], 10) == 6
    assert busiest_window(times, times[6], 10) == 1
    assert utc_text("2026-01-01T14:00:00+02:00") == "2026-01-01T12:00:00+00:00"
    assert utc_text("2026-01-01T12:00:00Z") == "2026-01-01T12:00:00+00:00"
    assert utc_text("yesterday") is None and utc_text(None) is None


def test_private_hosts_only_when_rapidworkers_itself_is_on_one():
    assert private_hosts_allowed("http://127.0.0.1:8765")
    assert private_hosts_allowed("http://localhost:8765")
    assert not private_hosts_allowed("https://api.rapidworkers.io")


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
