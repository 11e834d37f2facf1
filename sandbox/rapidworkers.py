"""RapidWorkers simulator: a real HTTP server on loopback (werkzeug).

Used by ``gigdesk sandbox`` (try the bot without spending money), by the
tests and by the benchmarks. It implements every endpoint of
``seeds/rapidworkers-api.txt`` with the documented bodies, keeps money and
submission state, and has knobs to reproduce what the real API may do:
both documented key spellings (``key_style``), both campaign-list shapes
(``list_shape``), latency, injected failures, and the 1,000/hour rate limit.

Admin endpoints under ``/_sandbox/`` (no API key) let a test drive a sandbox
running in another process.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from bot.rapidworkers.client import (
    COMMISSION_RATE,
    ISO_COUNTRIES,
    MIN_PREFILLED_QUANTITY,
    PREFILLED_KINDS,
    PREFILLED_UNIT_PRICE,
)
from sandbox.loopback import LoopbackServer

__all__ = ["Sandbox", "RecordedRequest", "main", "DEFAULT_API_KEY", "DEFAULT_PORT"]

log = logging.getLogger("gigdesk.sandbox")

DEFAULT_API_KEY = "rw_sandbox_key"  # not a secret: the sandbox moves no real money
DEFAULT_PORT = 8765
IMAGE_HOST = "https://img.sandbox.rapidworkers.invalid"
WINDOW = 3600.0
_CENT = Decimal("0.01")

PREFILLED_LABELS = {
    "facebook-likes": "Facebook likes",
    "facebook-shares": "Facebook shares",
    "instagram-likes": "Instagram likes",
    "instagram-followers": "Instagram followers",
    "twitter-likes": "Twitter likes",
    "twitter-followers": "Twitter followers",
    "twitter-retweets": "Twitter retweets",
    "trustpilot-reviews": "Trustpilot reviews",
    "9gag-upvotes": "9GAG upvotes",
    "youtube-likes": "YouTube likes",
}

HOSTILE_PROOF = "<!channel> click <https://evil.example|bank login> & win"


@dataclass
class RecordedRequest:
    """One API request as the simulator received it (admin calls are not recorded)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any | None
    form: dict[str, str] | None
    files: dict[str, tuple[str, str, int]]
    time: float
    status: int | None = None  # filled in once answered


@dataclass
class _FailRule:
    remaining: int
    status: int
    path_contains: str | None
    mode: str  # "status" | "timeout" | "close" | "after_commit"
    delay: float
    retry_after: int | None


class _ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _Request(Request):
    max_content_length = 20 * 1024 * 1024
    max_form_memory_size = 1024 * 1024


class _QuietHandler(WSGIRequestHandler):
    """Request handler that logs only when the sandbox runs verbose (the CLI)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        if getattr(self.server, "sandbox_verbose", False):
            super().log(type, message, *args)


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT))


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _snake_keys(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, list):
            v = [_snake_keys(x) if isinstance(x, dict) else x for x in v]
        elif isinstance(v, dict):
            v = _snake_keys(v)
        out[_snake(k)] = v
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(type(value).__name__)


def _json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, default=_json_default), status=status, headers=headers, mimetype="application/json"
    )


def _valid_link(link: Any) -> bool:
    if not isinstance(link, str) or not link.strip() or any(c.isspace() for c in link.strip()):
        return False
    try:
        parts = urlsplit(link.strip())
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _valid_countries(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        return None
    codes = [c.strip().upper() for c in value]
    return codes if all(c in ISO_COUNTRIES for c in codes) else None


_API_RULES = [
    Rule("/account/get_balance", methods=["POST"], endpoint="balance"),
    Rule("/jobs/add", methods=["POST"], endpoint="job_add"),
    Rule("/api/campaigns", methods=["GET"], endpoint="campaigns"),
    Rule("/api/campaigns/detail/<cid>", methods=["GET"], endpoint="campaign_detail"),
    Rule("/api/campaigns/<cid>/submissions", methods=["GET"], endpoint="submissions"),
    Rule("/api/campaigns/<cid>/submissions/<int:sid>/approve", methods=["POST"], endpoint="approve"),
    Rule("/api/campaigns/<cid>/submissions/<int:sid>/reject", methods=["POST"], endpoint="reject"),
    Rule("/api/campaigns/<cid>/submissions/bulk_action", methods=["POST"], endpoint="bulk"),
    Rule("/api/workers/block", methods=["POST"], endpoint="block"),
    Rule("/api/workers/unblock", methods=["POST"], endpoint="unblock"),
    Rule("/api/workers/blocked", methods=["GET"], endpoint="blocked"),
    Rule("/api/jobs/<kind>", methods=["POST"], endpoint="prefilled"),
]

_ADMIN_RULES = [
    Rule("/_sandbox/state", methods=["GET"], endpoint="state"),
    Rule("/_sandbox/submissions", methods=["POST"], endpoint="add_submission"),
    Rule("/_sandbox/submissions/<int:sid>", methods=["GET"], endpoint="get_submission"),
    Rule("/_sandbox/campaigns", methods=["POST"], endpoint="add_campaign"),
    Rule("/_sandbox/campaigns/<cid>", methods=["GET"], endpoint="get_campaign"),
    Rule("/_sandbox/workers", methods=["POST"], endpoint="add_worker"),
    Rule("/_sandbox/latency", methods=["POST"], endpoint="latency"),
    Rule("/_sandbox/fail", methods=["POST"], endpoint="fail"),
    Rule("/_sandbox/requests", methods=["GET"], endpoint="requests"),
    Rule("/_sandbox/reset_log", methods=["POST"], endpoint="reset_log"),
    Rule("/_sandbox/balance", methods=["POST"], endpoint="set_balance"),
]

# Paths are matched with any trailing slash stripped, so the documented
# "/api/campaigns/" and a bare "/api/campaigns" both work.
_API_MAP = Map(_API_RULES, strict_slashes=False)
_ADMIN_MAP = Map(_ADMIN_RULES, strict_slashes=False)


class Sandbox:
    """In-memory RapidWorkers account behind a real HTTP server.

    Knobs: ``list_shape`` ("bare" list or ``{"results": [...]}`` for the
    campaign and blocked lists), ``key_style`` ("camel" as the doc's examples
    or "snake" as its code samples), ``submissions_shape`` ("nested":
    ``results.submissions``; "flat": ``results`` is the list),
    ``page_size_default`` (rowsPerPage when omitted), ``hourly_limit`` (429
    after that many served requests in the last hour), ``latency``,
    ``echo_proof_requirement`` (False: campaign listings leave out
    ``proof_required_description``, as the doc's list and detail examples do).
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        demo_data: bool = True,
        hourly_limit: int = 1000,
        latency: float = 0.0,
        list_shape: str = "bare",
        key_style: str = "camel",
        balance: Decimal = Decimal("1000.00"),
        page_size_default: int = 1000,
        seed: int = 7,
        submissions_shape: str = "nested",
        verbose: bool = False,
        echo_proof_requirement: bool = True,
    ):
        if list_shape not in ("bare", "results"):
            raise ValueError("list_shape must be 'bare' or 'results'")
        if key_style not in ("camel", "snake"):
            raise ValueError("key_style must be 'camel' or 'snake'")
        if submissions_shape not in ("nested", "flat"):
            raise ValueError("submissions_shape must be 'nested' or 'flat'")
        self.api_key = api_key
        self.hourly_limit = hourly_limit
        self.list_shape = list_shape
        self.key_style = key_style
        self.submissions_shape = submissions_shape
        self.page_size_default = page_size_default
        self.verbose = verbose
        self.echo_proof_requirement = echo_proof_requirement
        self.url = ""
        self.requests: list[RecordedRequest] = []
        self.image_requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) of /_images/ GETs
        # Hostile image knobs: how long a dripping or silent image (keys -4, -5) keeps the
        # connection, and a host name to put in image URLs instead of this server's address
        # (resolved by whoever fetches them, e.g. through sandbox.dns.DnsStandin).
        self.hostile_seconds = 60.0
        self.image_host: str | None = None
        self._stopped = threading.Event()
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._balance = Decimal(str(balance))
        # Every charge to the balance, as a bank statement would list it: (when, amount, what, campaign).
        self.charges: list[tuple[datetime, Decimal, str, str]] = []
        self._campaigns: dict[str, dict[str, Any]] = {}
        self._subs: dict[int, dict[str, Any]] = {}
        self._workers: dict[str, dict[str, Any]] = {}
        self._blocked: dict[str, datetime] = {}
        self._served: dict[str, deque[float]] = {}
        self._fail_rules: list[_FailRule] = []
        self._latency: dict[str | None, float] = {None: latency} if latency else {}
        self._next_sub = 1001
        self._next_worker = 10001
        self._loop = LoopbackServer(self.wsgi_app, name="rw-sandbox", request_handler=_QuietHandler)
        if demo_data:
            self._seed_demo()

    # ------------------------------------------------------------------ server

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread; return the base URL."""
        if self._loop.running:
            return self.url
        self.url = self._loop.start(host, port)
        self._loop.server.sandbox_verbose = self.verbose  # type: ignore[union-attr]
        return self.url

    def stop(self) -> None:
        """Stop serving (idempotent); dripping and silent images end."""
        self._stopped.set()
        self._loop.stop()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ state helpers

    @property
    def balance(self) -> Decimal:
        """Account balance."""
        with self._lock:
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str) -> None:
        with self._lock:
            self._balance = Decimal(str(value))

    def _charge(self, amount: Decimal, what: str, campaign_id: str, at: datetime | None = None) -> None:
        """Take `amount` from the balance and list it (the caller holds the lock)."""
        self._balance -= amount
        self.charges.append((at or datetime.now(UTC), amount, what, campaign_id))

    def charged(self, since: datetime | None = None, until: datetime | None = None) -> Decimal:
        """What was charged in [since, until) (all of it by default)."""
        with self._lock:
            return sum((amount for at, amount, _, _ in self.charges
                        if (since is None or at >= since) and (until is None or at < until)), Decimal("0"))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add_campaign(
        self,
        title: str = "Campaign",
        *,
        status: str = "Active",
        pay: Decimal | str = "0.50",
        total: int = 10,
        owner: str = "me",
        description: str = "...",
        category: str = "Social",
        approve_once_full: bool = False,
        countries: Iterable[str] | None = None,
        created_at: datetime | None = None,
        proof_required_description: str = "Submit a screenshot of the completion page",
        campaign_id: str | None = None,
    ) -> str:
        """Add a campaign; return its id: a UUID, or `campaign_id` (the API does not bound its ids'
        length: a test can give a very long one)."""
        if status not in ("Active", "Pending", "Completed", "Canceled"):
            raise ValueError(f"bad campaign status {status!r}")
        if campaign_id is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", campaign_id):
            raise ValueError("a campaign id is letters, digits, - and _")
        with self._lock:
            cid = campaign_id or self._uuid()
            if cid in self._campaigns:
                raise ValueError(f"campaign {cid} exists")
            self._campaigns[cid] = {
                "id": cid,
                "title": title,
                "status": status,
                "pay": Decimal(str(pay)),
                "total": int(total),
                "owner": owner,
                "description": description,
                "category": category,
                "sub_category": None,
                "proof_required_description": proof_required_description,
                "approve_once_full": approve_once_full,
                "countries": list(countries or []),
                "created_at": created_at or datetime.now(UTC),
                "image": None,
                "link": None,
                "kind": None,
            }
            return cid

    def add_worker(
        self,
        name: str = "worker",
        *,
        worker_id: str | int | None = None,
        country: str = "United States",
        account_age_days: int = 120,
        approval_rate: int = 85,
        completed: int = 47,
    ) -> str:
        """Add a worker; return its id (a numeric string like "10042")."""
        with self._lock:
            if worker_id is None:
                while str(self._next_worker) in self._workers:
                    self._next_worker += 1
                worker_id = self._next_worker
                self._next_worker += 1
            wid = str(worker_id)
            if wid in self._workers:
                raise ValueError(f"worker {wid} exists")
            self._workers[wid] = {
                "id": wid,
                "name": name,
                "country": country,
                "account_age_days": account_age_days,
                "approval_rate": approval_rate,
                "completed": completed,
            }
            return wid

    def add_submission(
        self,
        campaign_id: str,
        *,
        worker_id: str | int | None = None,
        proof_text: str = "Done",
        images: int = 1,
        status: str = "Pending",
        submitted_at: datetime | None = None,
        pictures: list[int | tuple[int, int]] | None = None,
    ) -> int:
        """Add a submission (a new worker is created when ``worker_id`` is None); return its id.

        Each proof image is a generated screenshot served at ``/_images/``;
        ``pictures`` picks them: a key (the same key is the same picture) or
        (key, variant) for a re-encoded near-duplicate of it. By default every
        image is a picture of its own. Negative keys serve broken or hostile
        images: -1 an HTML page, -2 a decompression bomb (a tiny PNG declaring
        50,000 x 50,000 pixels), -3 a 404, -4 an image dripped one byte a
        second (for ``hostile_seconds``), -5 a connection accepted and never
        answered (as long), -6 a valid one-colour PNG of 15,000 x 15,000,
        -7 a valid palette PNG of 20,000 x 20,000.
        """
        if status not in ("Pending", "Approved", "Rejected"):
            raise ValueError(f"bad submission status {status!r}")
        with self._lock:
            camp = self._campaigns.get(campaign_id)
            if camp is None:
                raise KeyError(f"unknown campaign {campaign_id}")
            if worker_id is None:
                worker_id = self.add_worker(f"worker{self._next_worker}")
            wid = str(worker_id)
            if wid not in self._workers:
                raise KeyError(f"unknown worker {wid}")
            sid = self._next_sub
            self._next_sub += 1
            keys = [p if isinstance(p, tuple) else (int(p), 0) for p in pictures or []]
            keys += [(sid * 10 + n, 0) for n in range(len(keys) + 1, int(images) + 1)]
            self._subs[sid] = {
                "id": sid,
                "campaign_id": campaign_id,
                "worker_id": wid,
                "status": status,
                "proof_text": proof_text,
                "images": len(keys),
                "pictures": keys,
                "notes": None if status != "Rejected" else "Does not meet requirements",
                "amount_paid": camp["pay"] if status == "Approved" else None,
                "submitted_at": submitted_at or datetime.now(UTC),
                "decided_at": None,
            }
            self._auto_approve_if_full(camp)
            return sid

    def set_image_urls(self, submission_id: int, urls: list[str]) -> None:
        """The submission's images are these addresses (anywhere), instead of this server's."""
        with self._lock:
            self._subs[submission_id]["image_urls"] = list(urls)

    def set_image_bytes(self, submission_id: int, image_no: int, data: bytes, content_type: str) -> None:
        """This server serves these bytes as the submission's image `image_no`."""
        with self._lock:
            self._subs[submission_id].setdefault("image_bytes", {})[image_no] = (data, content_type)

    def _counts(self, cid: str) -> dict[str, int]:
        counts = {"Pending": 0, "Approved": 0, "Rejected": 0}
        for s in self._subs.values():
            if s["campaign_id"] == cid:
                counts[s["status"]] += 1
        return counts

    def _auto_approve_if_full(self, camp: dict[str, Any]) -> None:
        # approve_once_full jobs were prepaid at creation: approving them here
        # records amount_paid but does not touch the balance again.
        if not camp["approve_once_full"]:
            return
        counts = self._counts(camp["id"])
        if counts["Pending"] and counts["Pending"] + counts["Approved"] >= camp["total"]:
            now = datetime.now(UTC)
            for s in self._subs.values():
                if s["campaign_id"] == camp["id"] and s["status"] == "Pending":
                    s.update(status="Approved", amount_paid=camp["pay"], decided_at=now)
            camp["status"] = "Completed"

    def decide_on_website(self, submission_id: int, status: str, notes: str | None = None) -> None:
        """Approve (paying it) or reject a pending submission as someone on the RapidWorkers
        website would: the state changes and no API request is recorded."""
        if status not in ("Approved", "Rejected"):
            raise ValueError(f"bad decision {status!r}")
        with self._lock:
            sub = self._subs[int(submission_id)]
            if sub["status"] != "Pending":
                raise ValueError(f"submission {submission_id} is already {sub['status']}")
            if status == "Approved":
                self._pay(sub, self._campaigns[sub["campaign_id"]], notes)
            else:
                sub.update(status="Rejected", notes=notes or "Rejected on the website", decided_at=datetime.now(UTC))

    def submission(self, submission_id: int) -> dict[str, Any]:
        """Current state of a submission (status, notes, amount_paid, ...)."""
        with self._lock:
            s = self._subs[int(submission_id)]
            w = self._workers[s["worker_id"]]
            return {**s, "worker_name": w["name"]}

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        """Current state of a campaign, with derived counts."""
        with self._lock:
            c = self._campaigns[campaign_id]
            return {**c, **self._derived(c), "countries": list(c["countries"])}

    def blocked_ids(self) -> set[str]:
        """Ids of blocked workers."""
        with self._lock:
            return set(self._blocked)

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """Number of recorded API requests matching method and path substring."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path_contains is None or path_contains in r.path)
            )

    def reset_log(self) -> None:
        """Forget recorded requests."""
        with self._lock:
            self.requests.clear()

    def reset_rate_limit(self) -> None:
        """Forget the rate-limit window."""
        with self._lock:
            self._served.clear()

    def set_latency(self, seconds: float, path_contains: str | None = None) -> None:
        """Delay matching requests by ``seconds`` (0 removes the delay)."""
        with self._lock:
            if seconds and seconds > 0:
                self._latency[path_contains] = float(seconds)
            else:
                self._latency.pop(path_contains, None)

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        path_contains: str | None = None,
        mode: str = "status",
        delay: float = 16.0,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``n`` matching requests fail without any state change.

        mode "status": answer ``status`` with ``{"error": ...}`` (a 429 gets
        ``Retry-After: retry_after``, default 1); "timeout": sleep ``delay``
        seconds (longer than the client's read timeout) then answer 500;
        "close": drop the connection without an answer.
        """
        if mode not in ("status", "timeout", "close"):
            raise ValueError("mode must be 'status', 'timeout' or 'close'")
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._fail_rules.append(_FailRule(int(n), int(status), path_contains, mode, float(delay), retry_after))

    def fail_after_commit(self, n: int = 1, path_contains: str | None = None) -> None:
        """Apply the next ``n`` matching requests for real, then answer 500 (the answer is 'lost')."""
        with self._lock:
            self._fail_rules.append(_FailRule(int(n), 500, path_contains, "after_commit", 0.0, None))

    def _take_rule(self, path: str) -> _FailRule | None:
        with self._lock:
            for rule in self._fail_rules:
                if rule.remaining > 0 and (rule.path_contains is None or rule.path_contains in path):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._fail_rules.remove(rule)
                    return rule
        return None

    def _delay_for(self, path: str) -> float:
        with self._lock:
            return max(
                (s for p, s in self._latency.items() if p is None or p in path),
                default=0.0,
            )

    # ------------------------------------------------------------------ demo data

    def _seed_demo(self) -> None:
        rng = self._rng
        now = datetime.now(UTC)
        people = [
            ("maria.k", "Philippines"), ("dev_rahul", "India"), ("ana.souza", "Brazil"),
            ("john_smith88", "United States"), ("<!here> totally_legit", "Nigeria"),
            ("li.wei", "Singapore"), ("olga_p", "Ukraine"), ("ahmed.r", "Egypt"),
            ("kwame", "Ghana"), ("lucia_m", "Mexico"), ("newbie_2024", "Bangladesh"),
            ("tom.h", "United Kingdom"),
        ]
        ages = [2, 5, 14, 30, 60, 120, 200, 365, 480, 600, 750, 900]
        rates = [20, 35, 48, 60, 72, 80, 85, 90, 93, 95, 97, 99]
        rng.shuffle(ages)
        rng.shuffle(rates)
        workers = [
            self.add_worker(
                name, country=country, account_age_days=age, approval_rate=rate,
                completed=max(0, age // 3 + rng.randint(0, 40)) if age > 2 else 0,
            )
            for (name, country), age, rate in zip(people, ages, rates, strict=False)
        ]
        proofs = [
            "Followed the page, screenshot attached.",
            "Done! Username is the same as here.",
            "Completed as requested, see the screenshot",
            "Liked and followed. Thanks!",
            "Review posted with 5 stars.",
            "All steps done, confirmation page attached.",
        ]

        def subs(cid: str, statuses: list[str], hostile_first: bool = False) -> None:
            for i, (st, wid) in enumerate(zip(statuses, rng.sample(workers, len(statuses)), strict=False)):
                self.add_submission(
                    cid,
                    worker_id=wid,
                    proof_text=HOSTILE_PROOF if hostile_first and i == 0 else f"{rng.choice(proofs)} ({self._workers[wid]['name']})",
                    images=rng.randint(1, 3),
                    status=st,
                    submitted_at=now - timedelta(minutes=rng.randint(5, 60 * 48)),
                )

        def when(days: int) -> datetime:
            return now - timedelta(days=days, minutes=rng.randint(0, 600))

        c1 = self.add_campaign(
            "Follow our Instagram page", pay="0.10", total=50, category="Social",
            description="Follow @gigdesk_demo on Instagram and send a screenshot.", created_at=when(3),
        )
        subs(c1, ["Pending"] * 5 + ["Approved"] * 3 + ["Rejected"], hostile_first=True)
        c2 = self.add_campaign(
            "Leave a Google Maps review", pay="1.50", total=20, category="Reviews",
            description="Visit our listing and leave an honest review.", countries=["US", "GB"], created_at=when(2),
        )
        subs(c2, ["Pending"] * 4 + ["Approved"] * 2)
        self.add_campaign(
            "Sign up for the newsletter", status="Pending", pay="0.25", total=100, category="Sign up",
            description="Subscribe with a real address and confirm.", created_at=when(1),
        )
        c4 = self.add_campaign(
            "Retweet our launch post", status="Completed", pay="0.08", total=6, category="Social",
            description="Retweet the pinned launch post.", created_at=when(20),
        )
        subs(c4, ["Approved"] * 6)
        c5 = self.add_campaign(
            "Test the checkout flow", status="Canceled", pay="2.00", total=15, category="Testing",
            description="Go through checkout with the test card.", created_at=when(30),
        )
        subs(c5, ["Approved"] * 2 + ["Rejected"])
        c6 = self.add_campaign(
            "Someone else's survey", owner="other", pay="0.75", total=30, category="Survey",
            description="Not yours: the API answers 403.", created_at=when(5),
        )
        subs(c6, ["Pending"] * 2)
        self._plant_reused_proofs([c1, c2])

    def _plant_reused_proofs(self, pending_in: list[str]) -> None:
        """Demo fraud for the proof checks: a screenshot shared by two workers
        (with the same proof text), and one a worker reuses from an earlier task."""
        pending = [s for s in self._subs.values() if s["campaign_id"] in pending_in and s["status"] == "Pending"]
        first, second = pending[-2], pending[-1]  # two workers of the same campaign
        second["pictures"][0] = (first["pictures"][0][0], 1)
        second["proof_text"] = first["proof_text"] = "Left a 5 star review as Sam Porter, screenshot attached."
        # The same worker in two campaigns, the second time with the first screenshot.
        reuser = next((o for o in pending if o["campaign_id"] != pending[0]["campaign_id"] and o is not first), None)
        if reuser is not None:
            reuser["worker_id"] = pending[0]["worker_id"]
            reuser["pictures"][0] = (pending[0]["pictures"][0][0], 2)

    # ------------------------------------------------------------------ rendering

    def _derived(self, c: dict[str, Any]) -> dict[str, Any]:
        counts = self._counts(c["id"])
        approved, pending, rejected = counts["Approved"], counts["Pending"], counts["Rejected"]
        total = c["total"]
        return {
            "pending": pending,
            "approved": approved,
            "rejected": rejected,
            "completed": approved + rejected,
            "remaining": max(0, total - approved - pending),
            "success_rate": f"{round(approved * 100 / total) if total else 0}%",
        }

    def _keys(self, d: dict[str, Any]) -> dict[str, Any]:
        return _snake_keys(d) if self.key_style == "snake" else d

    def _campaign_json(self, c: dict[str, Any]) -> dict[str, Any]:
        d = self._derived(c)
        extra = {"proof_required_description": c["proof_required_description"]} if self.echo_proof_requirement else {}
        return self._keys(extra | {
            "jobId": c["id"],
            "jobTitle": c["title"],
            "jobCategory": c["category"],
            "jobPay": _money(c["pay"]),
            "jobLocation": ", ".join(c["countries"]) or "International",
            "jobCreatedAt": _iso(c["created_at"]),
            "jobStatus": c["status"],
            "jobInstancesCompleted": d["completed"],
            "jobTotalAvailabilities": c["total"],
            "jobSuccessRate": d["success_rate"],
            "description": c["description"],
            "canceled": c["status"] == "Canceled",
            "remainingAvailabilities": d["remaining"],
            "pendingSubmissions": d["pending"],
            "approvedSubmissions": d["approved"],
            "rejectedSubmissions": d["rejected"],
        })

    def _submission_json(self, s: dict[str, Any]) -> dict[str, Any]:
        w = self._workers[s["worker_id"]]
        c = self._campaigns[s["campaign_id"]]
        sid = s["id"]
        return self._keys({
            "submissionId": sid,
            "userId": w["id"],
            "userName": w["name"],
            "userAvatar": f"{IMAGE_HOST}/avatars/{w['id']}.png",
            "campaignId": c["id"],
            "campaignTitle": c["title"],
            "status": s["status"],
            "country_name": w["country"],
            "submittedAt": _iso(s["submitted_at"]),
            "proof_text": s["proof_text"],
            "images": [
                {"id": f"img_{sid}_{n}", "url": url, "thumbnailUrl": url} for n, url in enumerate(s["image_urls"], 1)
            ] if s.get("image_urls") else [
                {
                    "id": f"img_{sid}_{n}",
                    "url": f"{self._image_base()}/{sid}/{n}.{ext}",
                    "thumbnailUrl": f"{self._image_base()}/{sid}/{n}_thumb.{ext}",
                }
                for n, ext in ((n, "jpg" if key % 2 or variant else "png") for n, (key, variant) in enumerate(s["pictures"], 1))
            ],
            "notes": s["notes"],
            "workerAccountAgeDays": w["account_age_days"],
            "workerApprovalRate": f"{w['approval_rate']}%",
            "workerTotalCompleted": w["completed"],
        })

    def _image_base(self) -> str:
        """Where proof images are served: this server once started (or ``image_host`` at its port), else the fake host."""
        if self.url and self.image_host:
            return f"http://{self.image_host}:{urlsplit(self.url).port}/_images"
        return f"{self.url}/_images" if self.url else IMAGE_HOST

    def _image(self, request: Request) -> Response:
        """GET /_images/<sid>/<n>.<ext>: the generated proof image (not an API request)."""
        match = re.fullmatch(r"/_images/(\d{1,9})/(\d{1,2})(_thumb)?\.(png|jpg)", request.path)
        with self._lock:
            sub = self._subs.get(int(match.group(1))) if match else None
            pictures = sub["pictures"] if sub else []
        n = int(match.group(2)) if match else 0
        with self._lock:
            self.image_requests.append((request.path, dict(request.headers)))
        if request.method != "GET" or not 1 <= n <= len(pictures) or pictures[n - 1][0] == -3:
            return _json_response({"error": "Not found"}, 404)
        from sandbox.images import bomb_png, proof_image

        key, variant = pictures[n - 1]
        own = (sub or {}).get("image_bytes", {}).get(n)
        if own is not None:
            return Response(own[0], content_type=own[1])
        if key == -1:
            return Response("<html><body>Sign in to see this image</body></html>", content_type="text/html")
        if key == -2:
            return Response(bomb_png(), content_type="image/png")
        if key == -4:
            return Response(self._drip(), content_type="image/png", direct_passthrough=True)
        if key == -5:
            self._stopped.wait(self.hostile_seconds)
            return _json_response({"error": "Not found"}, 404)
        if key in (-6, -7):
            from sandbox.images import solid_png

            data = solid_png(15_000, 15_000) if key == -6 else solid_png(20_000, 20_000, palette=True)
            return Response(data, content_type="image/png")
        data, content_type = proof_image(key, variant, size=(180, 390) if match.group(3) else (360, 780))
        return Response(data, content_type=content_type)

    def _drip(self) -> Iterable[bytes]:
        """A PNG signature and then one byte a second until hostile_seconds pass (or the simulator stops)."""
        started = time.monotonic()
        yield b"\x89PNG\r\n\x1a\n"
        while time.monotonic() - started < self.hostile_seconds and not self._stopped.wait(1.0):
            yield b"\0"

    def _list(self, items: list[dict[str, Any]]) -> Any:
        return items if self.list_shape == "bare" else {"count": len(items), "results": items}

    # ------------------------------------------------------------------ WSGI

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI application (usable without :meth:`start`)."""
        request = _Request(environ)
        try:
            if request.path.startswith("/_sandbox/"):
                response = self._admin(request)
            elif request.path.startswith("/_images/"):
                response = self._image(request)
            else:
                response = self._api(request)
        except Exception:  # never leak a traceback page; tests see a clean 500
            log.exception("sandbox error on %s %s", request.method, request.path)
            response = _json_response({"error": "Internal sandbox error"}, 500)
        return response(environ, start_response)

    def _record(self, request: Request) -> RecordedRequest:
        body_json = request.get_json(silent=True) if request.is_json else None
        form = request.form.to_dict() if request.form else None
        files: dict[str, tuple[str, str, int]] = {}
        for name, storage in request.files.items():
            size = len(storage.read())
            storage.seek(0)
            files[name] = (storage.filename or "", storage.mimetype or "", size)
        rec = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.args.to_dict(),
            json=body_json,
            form=form,
            files=files,
            time=time.time(),
        )
        with self._lock:
            self.requests.append(rec)
        return rec

    def _api(self, request: Request) -> Response:
        rec = self._record(request)
        delay = self._delay_for(request.path)
        if delay:
            time.sleep(delay)
        rule = self._take_rule(request.path)
        if rule is not None and rule.mode != "after_commit":
            response = self._injected(request, rule)
        else:
            try:
                self._check_key(request)
                self._check_rate()
                response = self._dispatch(request)
            except _ApiError as e:
                response = _json_response({"error": e.message}, e.status, e.headers)
            if rule is not None:  # after_commit: the change above stays, the answer is lost
                response = _json_response({"error": "Internal server error"}, 500)
        rec.status = response.status_code
        return response

    def _injected(self, request: Request, rule: _FailRule) -> Response:
        if rule.mode == "timeout":
            time.sleep(rule.delay)
            return _json_response({"error": "Internal server error"}, 500)
        if rule.mode == "close":
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # werkzeug's write then fails quietly
                except OSError:
                    pass
            return Response(b"", status=500)
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else None
        message = "Rate limit exceeded" if rule.status == 429 else "Simulated failure"
        return _json_response({"error": message}, rule.status, headers)

    def _check_key(self, request: Request) -> None:
        if request.headers.get("X-API-Key", "") != self.api_key:
            raise _ApiError(401, "Invalid or missing API key")

    def _check_rate(self) -> None:
        now = time.monotonic()
        with self._lock:
            window = self._served.setdefault(self.api_key, deque())
            while window and window[0] <= now - WINDOW:
                window.popleft()
            if len(window) >= self.hourly_limit:
                wait = max(1, math.ceil(window[0] + WINDOW - now)) if window else 1
                raise _ApiError(429, "Rate limit exceeded", {"Retry-After": str(wait)})
            window.append(now)

    def _dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        adapter = _API_MAP.bind("sandbox.invalid")
        try:
            endpoint, args = adapter.match(path, method=request.method)
        except MethodNotAllowed:
            raise _ApiError(405, "Method not allowed") from None
        except HTTPException:
            raise _ApiError(404, "Not found") from None
        return getattr(self, f"_ep_{endpoint}")(request, **args)

    # ------------------------------------------------------------------ API endpoints

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.get_data():
            return {}
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise _ApiError(400, "Invalid data: expected a JSON object")
        return data

    def _owned(self, cid: str) -> dict[str, Any]:
        camp = self._campaigns.get(cid)
        if camp is None:
            raise _ApiError(404, "Campaign not found")
        if camp["owner"] != "me":
            raise _ApiError(403, "You don't own this campaign")
        return camp

    def _ep_balance(self, request: Request) -> Response:
        with self._lock:
            return _json_response({"balance": _money(self._balance)})

    def _ep_campaigns(self, request: Request) -> Response:
        status = request.args.get("status")
        if status and status.capitalize() not in ("Active", "Pending", "Completed", "Canceled"):
            raise _ApiError(400, "Invalid status")
        with self._lock:
            items = [
                self._campaign_json(c)
                for c in self._campaigns.values()
                if c["owner"] == "me" and (not status or c["status"] == status.capitalize())
            ]
        return _json_response(self._list(items))

    def _ep_campaign_detail(self, request: Request, cid: str) -> Response:
        with self._lock:
            return _json_response(self._campaign_json(self._owned(cid)))

    def _ep_submissions(self, request: Request, cid: str) -> Response:
        args = request.args
        status = args.get("status")
        if status and status.capitalize() not in ("Pending", "Approved", "Rejected"):
            raise _ApiError(400, "Invalid status")
        try:
            page = int(args.get("page", 1))
            per_page = int(args.get("rowsPerPage", self.page_size_default))
        except ValueError:
            raise _ApiError(400, "Invalid page or rowsPerPage") from None
        if page < 1 or per_page < 1:
            raise _ApiError(400, "Invalid page or rowsPerPage")
        search = (args.get("search") or "").lower()
        with self._lock:
            self._owned(cid)
            matching = [
                s
                for s in sorted(self._subs.values(), key=lambda s: s["id"])
                if s["campaign_id"] == cid
                and (not status or s["status"] == status.capitalize())
                and (not search or search in self._workers[s["worker_id"]]["name"].lower())
            ]
            total = len(matching)
            pages = max(1, math.ceil(total / per_page))
            chunk = [self._submission_json(s) for s in matching[(page - 1) * per_page : page * per_page]]

        def link(p: int) -> str:
            query = [(k, v) for k, v in args.items(multi=True) if k != "page"] + [("page", str(p))]
            return f"{request.base_url}?{urlencode(query)}"

        pagination = self._keys(
            {"totalCount": total, "pageCount": pages, "currentPage": page, "rowsPerPage": per_page}
        )
        results: Any = {"submissions": chunk, "pagination": pagination}
        if self.submissions_shape == "flat":
            results = chunk
        return _json_response({
            "count": total,
            "next": link(page + 1) if page < pages else None,
            "previous": link(page - 1) if 1 < page <= pages + 1 else None,
            "results": results,
        })

    def _submission_for(self, cid: str, sid: int) -> tuple[dict[str, Any], dict[str, Any]]:
        camp = self._owned(cid)
        sub = self._subs.get(sid)
        if sub is None or sub["campaign_id"] != cid:
            raise _ApiError(404, "Submission not found")
        return camp, sub

    def _ep_approve(self, request: Request, cid: str, sid: int) -> Response:
        notes = self._body(request).get("notes")
        with self._lock:
            camp, sub = self._submission_for(cid, sid)
            if sub["status"] != "Pending":
                raise _ApiError(400, "Submission already processed")
            if self._balance < camp["pay"]:
                raise _ApiError(400, "Insufficient funds")
            self._pay(sub, camp, notes)
            user = self._workers[sub["worker_id"]]["name"]
        return _json_response({
            "success": True,
            "message": "Submission approved successfully",
            "submission": {"id": sid, "user": user, "status": "Approved", "amount_paid": _money(camp["pay"])},
        })

    def _pay(self, sub: dict[str, Any], camp: dict[str, Any], notes: Any) -> None:
        self._charge(camp["pay"], f"approved submission {sub['id']}", camp["id"])
        sub.update(
            status="Approved",
            amount_paid=camp["pay"],
            notes=str(notes) if notes else None,
            decided_at=datetime.now(UTC),
        )
        self._workers[sub["worker_id"]]["completed"] += 1

    def _ep_reject(self, request: Request, cid: str, sid: int) -> Response:
        notes = self._body(request).get("notes")
        with self._lock:
            _, sub = self._submission_for(cid, sid)
            if sub["status"] != "Pending":
                raise _ApiError(400, "Submission already processed")
            if not isinstance(notes, str) or not notes.strip():
                raise _ApiError(400, "Missing rejection reason")
            sub.update(status="Rejected", notes=notes, decided_at=datetime.now(UTC))
            user = self._workers[sub["worker_id"]]["name"]
        return _json_response({
            "success": True,
            "message": "Submission rejected",
            "submission": {"id": sid, "user": user, "status": "Rejected", "notes": notes},
        })

    def _ep_bulk(self, request: Request, cid: str) -> Response:
        notes = self._body(request).get("notes")
        with self._lock:
            camp = self._owned(cid)
            pending = sorted(
                (s for s in self._subs.values() if s["campaign_id"] == cid and s["status"] == "Pending"),
                key=lambda s: s["id"],
            )
            if not pending:
                raise _ApiError(404, "No pending submissions found")
            if self._balance < camp["pay"] * len(pending):
                raise _ApiError(400, "Insufficient funds")
            for s in pending:
                self._pay(s, camp, notes)
            items = [
                {"id": s["id"], "status": "Approved", "user": self._workers[s["worker_id"]]["name"]}
                for s in pending
            ]
        return _json_response(
            {"success": True, "message": "All submissions approved successfully.", "submissions": items}
        )

    def _worker_arg(self, request: Request) -> tuple[Any, str]:
        raw = self._body(request).get("worker_id")
        if raw is None or raw == "" or isinstance(raw, bool):
            raise _ApiError(400, "Missing worker_id")
        wid = str(raw)
        if wid not in self._workers:
            raise _ApiError(404, "Worker not found")
        return raw, wid

    def _ep_block(self, request: Request) -> Response:
        with self._lock:
            raw, wid = self._worker_arg(request)
            if wid in self._blocked:
                raise _ApiError(400, "Worker already blocked")
            self._blocked[wid] = datetime.now(UTC)
        return _json_response({"success": True, "message": "Worker blocked successfully", "worker_id": raw}, 201)

    def _ep_unblock(self, request: Request) -> Response:
        with self._lock:
            raw, wid = self._worker_arg(request)
            if wid not in self._blocked:
                raise _ApiError(400, "Worker is not blocked")
            del self._blocked[wid]
        return _json_response({"success": True, "message": "Worker unblocked successfully", "worker_id": raw})

    def _ep_blocked(self, request: Request) -> Response:
        with self._lock:
            items = [
                {
                    "worker_id": int(wid) if wid.isdigit() else wid,
                    "worker_name": self._workers[wid]["name"],
                    "blocked_at": _iso(at),
                }
                for wid, at in self._blocked.items()
            ]
        return _json_response(self._list(items))

    def _ep_prefilled(self, request: Request, kind: str) -> Response:
        if kind not in PREFILLED_KINDS:
            raise _ApiError(404, "Not found")
        body = self._body(request)
        link = body.get("link")
        if not _valid_link(link):
            raise _ApiError(400, "Invalid data: link must be a valid http(s) URL")
        quantity = body.get("quantity")
        if isinstance(quantity, str) and quantity.strip().isdigit():
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise _ApiError(400, "Invalid data: quantity must be an integer")
        if quantity < MIN_PREFILLED_QUANTITY:
            raise _ApiError(400, f"Quantity must be at least {MIN_PREFILLED_QUANTITY}")
        countries: list[str] = []
        if body.get("countries") is not None:
            parsed = _valid_countries(body["countries"])
            if parsed is None:
                raise _ApiError(400, "Invalid data: countries must be a list of ISO country codes")
            countries = parsed
        cost = (PREFILLED_UNIT_PRICE * quantity).quantize(_CENT)
        label = PREFILLED_LABELS[kind]
        with self._lock:
            if self._balance < cost:
                raise _ApiError(400, "Insufficient balance")
            cid = self.add_campaign(
                f"{label}: {link.strip()}", pay=PREFILLED_UNIT_PRICE, total=quantity, category="Social",
                description=f"{label} for {link.strip()}", approve_once_full=True, countries=countries,
            )
            self._campaigns[cid].update(kind=kind, link=link.strip(), language=body.get("language"))
            self._charge(cost, f"{kind} job", cid)
        return _json_response(
            {"success": True, "message": "Job created successfully", "job_id": cid, "total_cost": _money(cost)}, 201
        )

    def _ep_job_add(self, request: Request) -> Response:
        if request.mimetype != "multipart/form-data":
            raise _ApiError(400, "Invalid data: multipart/form-data required")

        def field(name: str) -> str | None:
            if name in request.form:
                return request.form[name]
            # The doc's own example sends some text fields as file parts.
            if name in request.files and name != "campaign_image":
                storage = request.files[name]
                text = storage.read().decode("utf-8", "replace")
                storage.seek(0)
                return text
            return None

        values = {}
        for name in ("title", "description", "pay_rate", "total_availabilities", "proof_required_description", "category"):
            value = field(name)
            if value is None or not value.strip():
                raise _ApiError(400, f"Invalid data: {name} is required")
            values[name] = value.strip()
        try:
            pay = Decimal(values["pay_rate"])
            if not pay.is_finite() or pay <= 0:
                raise InvalidOperation
        except InvalidOperation:
            raise _ApiError(400, "Invalid data: pay_rate must be a positive decimal") from None
        try:
            total = int(values["total_availabilities"])
            if total < 1:
                raise ValueError
        except ValueError:
            raise _ApiError(400, "Invalid data: total_availabilities must be a positive integer") from None
        countries: list[str] = []
        raw_countries = field("countries")
        if raw_countries:
            try:
                parsed = _valid_countries(json.loads(raw_countries))
            except ValueError:
                parsed = None
            if parsed is None:
                raise _ApiError(400, "Invalid data: countries must be a JSON array of ISO country codes")
            countries = parsed
        once_full = (field("approve_once_full") or "false").strip().lower()
        if once_full not in ("true", "false", "1", "0"):
            raise _ApiError(400, "Invalid data: approve_once_full must be true or false")
        if re.search(r"\bscam\b", values["title"], re.IGNORECASE):
            raise _ApiError(403, "Job rejected by legitimacy check")
        image = request.files.get("campaign_image")
        image_info = None
        if image is not None:
            image_info = (image.filename or "", image.mimetype or "", len(image.read()))
        total_cost = (pay * total).quantize(_CENT)
        commission = (total_cost * COMMISSION_RATE).quantize(_CENT)
        deducted = total_cost + commission
        with self._lock:
            if self._balance < deducted:
                raise _ApiError(400, "Insufficient balance")
            cid = self.add_campaign(
                values["title"], pay=pay, total=total, category=values["category"],
                description=values["description"], approve_once_full=once_full in ("true", "1"),
                countries=countries,
            )
            self._campaigns[cid].update(
                sub_category=field("sub_category"),
                proof_required_description=values["proof_required_description"],
                image=image_info,
            )
            self._charge(deducted, "custom campaign (with commission)", cid)
            new_balance = self._balance
        return _json_response(
            {
                "success": True,
                "message": "Job created successfully",
                "job": {
                    "public_id": cid,
                    "title": values["title"],
                    "status": "Active",
                    "pay_rate": _money(pay),
                    "total_availabilities": total,
                },
                "deduction_details": {
                    "total_cost": _money(total_cost),
                    "commission": _money(commission),
                    "total_deducted": _money(deducted),
                    "new_balance": _money(new_balance),
                },
            },
            201,
        )

    # ------------------------------------------------------------------ admin endpoints

    def _admin(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        adapter = _ADMIN_MAP.bind("sandbox.invalid")
        try:
            endpoint, args = adapter.match(path, method=request.method)
        except MethodNotAllowed:
            return _json_response({"error": "Method not allowed"}, 405)
        except HTTPException:
            return _json_response({"error": "Not found"}, 404)
        body = request.get_json(silent=True) if request.get_data() else {}
        if not isinstance(body, dict):
            return _json_response({"error": "expected a JSON object"}, 400)
        try:
            return _json_response(getattr(self, f"_admin_{endpoint}")(request, body, **args))
        except (KeyError, ValueError, TypeError, InvalidOperation) as e:
            return _json_response({"error": f"{type(e).__name__}: {e}"}, 400)

    def _admin_state(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            subs = {"Pending": 0, "Approved": 0, "Rejected": 0}
            for s in self._subs.values():
                subs[s["status"]] += 1
            return {
                "balance": _money(self._balance),
                "campaigns": len(self._campaigns),
                "campaign_ids": list(self._campaigns),
                "submissions": subs,
                "workers": len(self._workers),
                "blocked": sorted(self._blocked),
                "requests": len(self.requests),
            }

    def _admin_add_submission(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        sid = self.add_submission(
            body["campaign_id"],
            worker_id=body.get("worker_id"),
            proof_text=body.get("proof_text", "Done"),
            images=int(body.get("images", 1)),
            status=body.get("status", "Pending"),
            pictures=[tuple(p) if isinstance(p, list) else int(p) for p in body.get("pictures") or []],
        )
        return {"submission_id": sid}

    def _admin_get_submission(self, request: Request, body: dict[str, Any], sid: int) -> dict[str, Any]:
        return self.submission(sid)

    def _admin_add_campaign(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {"status", "pay", "total", "owner", "description", "category", "approve_once_full", "countries"}
        kw = {k: v for k, v in body.items() if k in allowed}
        return {"campaign_id": self.add_campaign(body.get("title", "Campaign"), **kw)}

    def _admin_get_campaign(self, request: Request, body: dict[str, Any], cid: str) -> dict[str, Any]:
        return self.campaign(cid)

    def _admin_add_worker(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {"worker_id", "country", "account_age_days", "approval_rate", "completed"}
        kw = {k: v for k, v in body.items() if k in allowed}
        return {"worker_id": self.add_worker(body.get("name", "worker"), **kw)}

    def _admin_latency(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.set_latency(float(body.get("seconds", 0)), body.get("path_contains"))
        return {"ok": True}

    def _admin_fail(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("mode") == "after_commit" or body.get("after_commit"):
            self.fail_after_commit(int(body.get("n", 1)), body.get("path_contains"))
        else:
            retry_after = body.get("retry_after")
            self.fail_next(
                int(body.get("n", 1)),
                status=int(body.get("status", 500)),
                path_contains=body.get("path_contains"),
                mode=body.get("mode", "status"),
                delay=float(body.get("delay", 16.0)),
                retry_after=None if retry_after is None else int(retry_after),
            )
        return {"ok": True}

    def _admin_requests(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {"count": self.count(request.args.get("method"), request.args.get("path_contains"))}

    def _admin_reset_log(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.reset_log()
        return {"ok": True}

    def _admin_set_balance(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.balance = Decimal(str(body["balance"]))
        return {"balance": _money(self.balance)}


def main(argv: list[str] | None = None) -> int:
    """``gigdesk sandbox``: serve the simulator until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="gigdesk sandbox", description="Run the RapidWorkers simulator.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
    parser.add_argument("--hourly-limit", type=int, default=1000, help="requests per hour before 429")
    parser.add_argument("--no-demo", action="store_true", help="start with no campaigns")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    if args.hourly_limit < 1 or args.latency < 0 or not 0 <= args.port <= 65535:
        parser.error("--hourly-limit must be >= 1, --latency >= 0, --port 0..65535")
    sandbox = Sandbox(
        demo_data=not args.no_demo, hourly_limit=args.hourly_limit, latency=args.latency, verbose=not args.quiet
    )
    try:
        url = sandbox.start(args.host, args.port)
    except OSError as e:
        print(f"gigdesk sandbox: cannot listen on {args.host}:{args.port}: {e.strerror or e}")
        return 1
    print(f"RapidWorkers sandbox on {url}  api key: {sandbox.api_key}. Settings for .env:", flush=True)
    print(f"RAPIDWORKERS_BASE_URL={url}", flush=True)
    print(f"RAPIDWORKERS_API_KEY={sandbox.api_key}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
