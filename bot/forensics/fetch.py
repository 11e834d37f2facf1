"""Download one proof image with a guard: bounded, short, anonymous, images only.

Only http(s); connect/read timeouts of a few seconds; no credentials,
cookies or proxies from the environment (a fresh session that trusts no
.netrc); at most MAX_REDIRECTS redirects, each re-checked; Content-Length and
the streamed body both capped at MAX_BYTES; Content-Type must be image/*.
Unless allowed (the simulator runs on loopback), hosts that resolve to
private, loopback or link-local addresses are refused, so a crafted image
URL cannot reach the bot's own network.

A failure raises FetchFailed with a short reason a reviewer can read.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = (3.0, 3.0)  # connect, read (between bytes)
MAX_REDIRECTS = 3
TOTAL_SECONDS = 10.0  # a server dripping bytes just under the read timeout is cut here
_CHUNK = 64 * 1024


class FetchFailed(Exception):
    """The image could not be downloaded; str() is a short reason."""


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    data: bytes


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies, no .netrc credentials from the environment
    session.headers = {"User-Agent": "gigdesk-proof-check/1", "Accept": "image/*"}
    return session


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse (FetchFailed) a URL we must not fetch."""
    if not isinstance(url, str) or len(url) > 3000:
        raise FetchFailed("not a web address")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed("not an http(s) address")
    if parts.username or parts.password:
        raise FetchFailed("address carries credentials")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise FetchFailed("host not found") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise FetchFailed("host is on a private network")


def fetch_image(url: str, *, allow_private: bool = False, max_bytes: int = MAX_BYTES, timeout=TIMEOUT, session: requests.Session | None = None) -> Fetched:
    """GET an image within the limits above; FetchFailed with a short reason otherwise."""
    own = session is None
    session = session or _session()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private=allow_private)
            try:
                response = session.get(url, stream=True, timeout=timeout, allow_redirects=False, auth=None, cookies=None)
            except requests.Timeout:
                raise FetchFailed("timed out") from None
            except requests.RequestException as e:
                raise FetchFailed(f"download failed ({type(e).__name__})") from None
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                return _read(response, url, max_bytes)
        raise FetchFailed("too many redirects")
    finally:
        if own:
            session.close()


def _read(response: requests.Response, url: str, max_bytes: int) -> Fetched:
    if response.status_code != 200:
        raise FetchFailed(f"HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not content_type.startswith("image/"):
        raise FetchFailed(f"not an image ({content_type[:40] or 'no content type'})")
    length = response.headers.get("Content-Length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        raise FetchFailed(f"larger than {max_bytes // (1024 * 1024)} MB")
    body = bytearray()
    deadline = time.monotonic() + TOTAL_SECONDS
    try:
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if time.monotonic() > deadline:
                raise FetchFailed("timed out")
            if len(body) > max_bytes:
                raise FetchFailed(f"larger than {max_bytes // (1024 * 1024)} MB")
    except requests.RequestException as e:
        reason = "timed out" if "timed out" in str(e).lower() or isinstance(e, requests.Timeout) else f"download failed ({type(e).__name__})"
        raise FetchFailed(reason) from None
    return Fetched(url=url, content_type=content_type, data=bytes(body))
