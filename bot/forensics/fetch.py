"""Download one proof image with a guard: one hard deadline, the vetted address only, images only.

* One wall-clock deadline (DEADLINE_SECONDS) covers the whole fetch: the DNS
  look-up, every connect, TLS handshake, header and body read, and every
  redirect hop. A timer shuts the socket down when it passes, so a server
  that drips one byte a second (headers or body) cannot hold a read past it;
  the body is read in small pieces and the deadline checked between them.
* The host is looked up once per hop (Resolver, within the deadline), every
  address it gave is vetted (is_public), and the connection goes to that very
  address (Host header, TLS SNI and certificate check keep the name). Nothing
  resolves the name a second time, so a name that answers a public address
  first and 127.0.0.1 next (DNS rebinding) still reaches only the first.
* Private, loopback, link-local, multicast, reserved and other special
  addresses are refused, including IPv4 in IPv6 disguise (::ffff:a.b.c.d,
  ::a.b.c.d, 6to4, NAT64). The one exception is SandboxOrigin: RapidWorkers'
  own origin when its base URL is a private address (the simulator).
* Redirects (at most MAX_REDIRECTS) are vetted hop by hop like the first URL.
* A host that timed out or refused the connection is skipped for
  SKIP_HOST_SECONDS (HostBreaker): "host skipped", no connection at all.
* Anonymous (no credentials, cookies or proxies), http(s) only, at most
  MAX_BYTES, Content-Type image/* only, no content decoding.

A failure raises FetchFailed with a short reason a reviewer can read.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from urllib3.connection import HTTPConnection, HTTPSConnection

if TYPE_CHECKING:
    import dns.resolver

DEADLINE_SECONDS = 5.0
MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 3
READ_SIZE = 16 * 1024  # the deadline is checked after each read of at most this much
SKIP_HOST_SECONDS = 300.0
REDIRECTS = (301, 302, 303, 307, 308)

TIMED_OUT = "timed out"
HOST_SKIPPED = "host skipped"
PRIVATE = "host is on a private network"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the last 32 bits are an IPv4 address
# Special-purpose ranges that ipaddress.is_global (Python 3.11) still calls global.
_NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in (
    "192.88.99.0/24",  # 6to4 relay anycast
    "64:ff9b:1::/48",  # local-use NAT64
    "3fff::/20",  # documentation
    "5f00::/16",  # SRv6 SIDs
    "fec0::/10",  # site-local (deprecated)
))


class FetchFailed(Exception):
    """The image could not be downloaded; str() is a short reason."""


class HostDown(FetchFailed):
    """The host timed out or refused the connection: the breaker skips it for a while."""


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    data: bytes


def is_public(address: IPAddress) -> bool:
    """Whether proof images may be fetched from this address: a global unicast address,
    and not an IPv4 address of the kind refused wrapped in IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None or int(address) >> 32 == 0:
            return False  # ::ffff:a.b.c.d and ::a.b.c.d (and ::, ::1) are IPv4 in disguise
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
    if any(address in network for network in _NOT_GLOBAL):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_link_local)


@dataclass(frozen=True)
class SandboxOrigin:
    """The one private origin proof images may come from: RapidWorkers' own, when its base
    URL is a private address (the simulator on loopback). Same scheme, address and port only;
    every other private address stays refused."""

    scheme: str
    addresses: frozenset[IPAddress]
    port: int

    @classmethod
    def of(cls, rapidworkers_base_url: str) -> SandboxOrigin | None:
        parts = urlsplit(rapidworkers_base_url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        if host == "localhost":
            return cls(parts.scheme, frozenset(_LOOPBACK), port)
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None  # a name: a real RapidWorkers, no exception
        return None if is_public(address) else cls(parts.scheme, frozenset({address}), port)

    def admits(self, scheme: str, address: IPAddress, port: int) -> bool:
        return scheme == self.scheme and port == self.port and address in self.addresses


_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


class Deadline:
    """A point in time; left() is what remains, and raises HostDown(timed out) once it has passed."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise HostDown(TIMED_OUT)
        return remaining


class Resolver:
    """Host names to addresses for proof images: one look-up per hop, within the fetch's deadline.

    dnspython, with the system's DNS servers, or `nameserver` (host, port) when given
    (GIGDESK_PROOF_DNS). The address looked up is the one connected to: urllib3 is
    only ever given addresses.
    """

    def __init__(self, nameserver: tuple[str, int] | None = None):
        self.nameserver = nameserver
        self._resolver: dns.resolver.Resolver | None = None
        self._lock = threading.Lock()

    def _dns(self) -> dns.resolver.Resolver:
        import dns.resolver  # noqa: PLC0415 (dnspython on first look-up: a bot that checks no image does not load it)

        with self._lock:
            if self._resolver is None:
                if self.nameserver is None:
                    self._resolver = dns.resolver.Resolver(configure=True)
                else:
                    resolver = dns.resolver.Resolver(configure=False)
                    resolver.nameservers = [self.nameserver[0]]
                    resolver.port = self.nameserver[1]
                    self._resolver = resolver
            return self._resolver

    def addresses(self, host: str, deadline: Deadline) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host.rstrip(".").lower() == "localhost":
            return list(_LOOPBACK)
        import dns.exception  # noqa: PLC0415 (dnspython on first look-up (see _dns))
        import dns.resolver  # noqa: PLC0415 (dnspython on first look-up (see _dns))

        try:
            answers = self._dns().resolve_name(host, lifetime=deadline.left())
            found = [ipaddress.ip_address(a) for a in answers.addresses()]
        except dns.exception.Timeout:
            raise HostDown(TIMED_OUT) from None
        except (dns.exception.DNSException, UnicodeError, ValueError):
            raise FetchFailed("host not found") from None
        if not found:
            raise FetchFailed("host not found")
        return sorted(found, key=lambda a: a.version)  # IPv4 first: more often reachable


@dataclass
class HostBreaker:
    """Hosts (name and port) that timed out or refused, skipped until `seconds` after."""

    seconds: float = SKIP_HOST_SECONDS
    clock: object = time.monotonic
    _down: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse_if_down(self, key: str) -> None:
        with self._lock:
            until = self._down.get(key)
            if until is not None and until > self.clock():  # type: ignore[operator]
                raise FetchFailed(HOST_SKIPPED)
            self._down.pop(key, None)

    def trip(self, key: str) -> None:
        with self._lock:
            self._down[key] = self.clock() + self.seconds  # type: ignore[operator]


class _Cutoff:
    """Shuts the connection's socket down when the deadline passes, whatever is waiting on it
    (a TLS handshake, a header line, a body read). Armed at connect, disarmed before close:
    under one lock, so it can never touch a descriptor that was closed and reused."""

    def __init__(self, deadline: Deadline):
        self.deadline = deadline
        self.fired = False
        self._fd: int | None = None
        self._done = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def arm(self, sock: socket.socket) -> None:
        with self._lock:
            self._fd = sock.fileno()
            self._timer = threading.Timer(max(0.0, self.deadline.end - time.monotonic()), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done or self._fd is None:
                return
            self.fired = True
            cut = socket.socket(fileno=self._fd)
            try:
                cut.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                cut.detach()  # the descriptor stays the connection's to close

    def disarm(self) -> None:
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()


class _Pinned:
    """A urllib3 connection to one vetted address: the socket is checked to be connected to it
    and handed to the cutoff before anything is sent."""

    address: IPAddress
    cutoff: _Cutoff

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        peer = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
        if peer != self.address:
            sock.close()
            raise FetchFailed(PRIVATE)
        self.cutoff.arm(sock)
        return sock


class _PinnedHTTP(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, HTTPSConnection):
    pass


@dataclass(frozen=True)
class _Hop:
    url: str
    scheme: str
    host: str  # as in the URL, lower case, IDNA
    port: int
    target: str  # path and query
    addresses: tuple[IPAddress, ...]

    @property
    def key(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


def _ca_certs() -> str | None:
    try:
        import certifi  # noqa: PLC0415 (optional: the system CA store without it)
    except ImportError:  # the system's store then
        return None
    return certifi.where()


class ImageFetcher:
    """fetch(url) -> Fetched within the limits above; one instance (its breaker) per bot."""

    def __init__(self, *, sandbox: SandboxOrigin | None = None, resolver: Resolver | None = None,
                 breaker: HostBreaker | None = None, seconds: float = DEADLINE_SECONDS, max_bytes: int = MAX_BYTES):
        self.sandbox = sandbox
        self.resolver = resolver or Resolver()
        self.breaker = breaker or HostBreaker()
        self.seconds = seconds
        self.max_bytes = max_bytes

    def fetch(self, url: str) -> Fetched:
        deadline = Deadline(self.seconds)
        for _ in range(MAX_REDIRECTS + 1):
            key = None
            try:
                hop = self._hop(url)
                key = hop.key
                self.breaker.refuse_if_down(key)
                hop = self._vet(hop, deadline)
                got = self._get(hop, deadline)
            except HostDown:
                if key is not None:
                    self.breaker.trip(key)
                raise
            if isinstance(got, Fetched):
                return got
            url = got
        raise FetchFailed("too many redirects")

    @staticmethod
    def _hop(url: str) -> _Hop:
        if not isinstance(url, str) or len(url) > 3000:
            raise FetchFailed("not a web address")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed("not an http(s) address")
        if parts.username or parts.password:
            raise FetchFailed("address carries credentials")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            host = parts.hostname.rstrip(".")
            if not host.isascii():
                host = host.encode("idna").decode("ascii")
        except (ValueError, UnicodeError):
            raise FetchFailed("not a web address") from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return _Hop(url, parts.scheme, host, port, target, ())

    def _vet(self, hop: _Hop, deadline: Deadline) -> _Hop:
        """Look the host up once; every address must be public, or the sandbox's own origin."""
        addresses = self.resolver.addresses(hop.host, deadline)
        for address in addresses:
            if not is_public(address) and not (self.sandbox and self.sandbox.admits(hop.scheme, address, hop.port)):
                raise FetchFailed(PRIVATE)
        return _Hop(hop.url, hop.scheme, hop.host, hop.port, hop.target, tuple(addresses))

    def _connect(self, hop: _Hop, cutoff: _Cutoff, deadline: Deadline) -> HTTPConnection:
        refused = False
        for address in hop.addresses:
            conn: _PinnedHTTP | _PinnedHTTPS
            if hop.scheme == "https":
                conn = _PinnedHTTPS(str(address), hop.port, timeout=deadline.left(), server_hostname=hop.host,
                                    assert_hostname=hop.host, cert_reqs="CERT_REQUIRED", ca_certs=_ca_certs())
            else:
                conn = _PinnedHTTP(str(address), hop.port, timeout=deadline.left())
            conn.address, conn.cutoff = address, cutoff
            try:
                conn.connect()
                return conn
            except FetchFailed:
                conn.close()
                raise
            except Exception as e:
                conn.close()
                if cutoff.fired or "timed out" in str(e).lower():
                    raise HostDown(TIMED_OUT) from None
                if isinstance(e, ssl.SSLError) or "certificate" in str(e).lower():
                    raise FetchFailed("certificate not valid for the host") from None
                refused = refused or "refused" in str(e).lower()
        raise HostDown("connection refused" if refused else "could not connect")

    def _get(self, hop: _Hop, deadline: Deadline) -> Fetched | str:
        """One request to a vetted hop: the image, or the next URL of a redirect."""
        cutoff = _Cutoff(deadline)
        conn = None
        try:
            conn = self._connect(hop, cutoff, deadline)
            conn.request("GET", hop.target, headers={
                "Host": hop.host_header, "User-Agent": "gigdesk-proof-check/1", "Accept": "image/*",
                "Accept-Encoding": "identity", "Connection": "close",
            }, preload_content=False, decode_content=False)
            conn.timeout = deadline.left()  # getresponse sets the socket's timeout from it
            response = conn.getresponse()
            if response.status in REDIRECTS and response.headers.get("Location"):
                return urljoin(hop.url, response.headers["Location"])
            return self._read(response, hop, cutoff, deadline)
        except FetchFailed:
            raise
        except Exception as e:  # urllib3, http.client, ssl and socket errors: the cut shows as any of them
            if cutoff.fired or isinstance(e, TimeoutError) or "timed out" in str(e).lower():
                raise HostDown(TIMED_OUT) from None
            raise FetchFailed(f"download failed ({type(e).__name__})") from None
        finally:
            cutoff.disarm()
            if conn is not None:
                conn.close()

    def _read(self, response, hop: _Hop, cutoff: _Cutoff, deadline: Deadline) -> Fetched:
        if response.status != 200:
            raise FetchFailed(f"HTTP {response.status}")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            raise FetchFailed(f"not an image ({content_type[:40] or 'no content type'})")
        too_large = f"larger than {self.max_bytes // (1024 * 1024)} MB"
        length = response.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            raise FetchFailed(too_large)
        body = bytearray()
        while True:
            deadline.left()
            piece = response.read1(READ_SIZE)
            if cutoff.fired:
                raise HostDown(TIMED_OUT)
            if not piece:
                break
            body += piece
            if len(body) > self.max_bytes:
                raise FetchFailed(too_large)
        if length is not None and len(body) != int(length):
            raise FetchFailed("download failed (incomplete)")
        return Fetched(url=hop.url, content_type=content_type, data=bytes(body))


def fetch_image(url: str, *, sandbox: SandboxOrigin | None = None, seconds: float = DEADLINE_SECONDS,
                max_bytes: int = MAX_BYTES) -> Fetched:
    """One fetch with a fresh fetcher (no breaker memory): for tools and tests."""
    return ImageFetcher(sandbox=sandbox, seconds=seconds, max_bytes=max_bytes).fetch(url)
