"""RapidWorkers API client.

The only documentation of the API (``seeds/rapidworkers-api.txt``) contradicts
itself about response shapes and key spelling, so every parser here goes
through one tolerant key lookup (:func:`_get`) and accepts each documented form.

Retries are done by urllib3's ``Retry`` mounted on two sessions:

* the *safe* session (read-only calls: GETs and ``get_balance``) retries
  connection errors, read errors and 429/500/502/503/504;
* the *money* session (approve, reject, bulk approve, job creation,
  block/unblock) retries only when the request certainly did not reach the
  server (connect errors) and on 429 — never after a 5xx or a read timeout,
  because the server may already have moved the money.

Every HTTP attempt, retries included, takes a slot of the client-side
:class:`RequestBudget` (and is counted in ``requests_sent``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import email.utils
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ResponseError,
)
from urllib3.util.retry import Retry

from bot.apiclient.coerce import (
    to_count,
    to_datetime,
    to_decimal,
    to_int,
    to_percent,
    to_str,
    to_text,
)
from bot.apiclient.fields import api_field, from_api
from bot.errors import UpstreamError
from bot.observability import metrics

__all__ = [
    "PREFILLED_KINDS", "PREFILLED_UNIT_PRICE", "MIN_PREFILLED_QUANTITY", "COMMISSION_RATE",
    "CAMPAIGN_STATUSES", "SUBMISSION_STATUSES", "ISO_COUNTRIES", "DEFAULT_BASE_URL",
    "RapidWorkersError", "InvalidInput", "BadRequest", "Unauthorized", "Forbidden",
    "NotFound", "RateLimited", "ServerError", "NetworkError", "BudgetExhausted",
    "Campaign", "ProofImage", "Submission", "Decision", "BlockedWorker", "CreatedJob",
    "RequestBudget", "RapidWorkersClient",
    "prefilled_cost", "custom_job_cost", "validate_link", "validate_countries",
]

log = logging.getLogger("gigdesk.rapidworkers")

DEFAULT_BASE_URL = "https://api.rapidworkers.io"

PREFILLED_KINDS: tuple[str, ...] = (
    "facebook-likes", "facebook-shares", "instagram-likes", "instagram-followers",
    "twitter-likes", "twitter-followers", "twitter-retweets", "trustpilot-reviews",
    "9gag-upvotes", "youtube-likes",
)
PREFILLED_UNIT_PRICE = Decimal("0.05")
MIN_PREFILLED_QUANTITY = 6
COMMISSION_RATE = Decimal("0.10")
CAMPAIGN_STATUSES = ("Active", "Pending", "Completed", "Canceled")
SUBMISSION_STATUSES = ("Pending", "Approved", "Rejected")

# Retry tuning: small so a click never waits long and tests stay fast.
RETRY_TOTAL = 3
RETRY_BACKOFF_FACTOR = 0.2
RETRY_BACKOFF_MAX = 2.0
RETRY_AFTER_MAX = 30  # a longer Retry-After is not waited for: RateLimited at once
SAFE_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_CENT = Decimal("0.01")
_MAX_PAGES = 1000  # guard against a server whose "next" never ends
_MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Ids go into URL paths: plain characters only. The API does not bound their length (a campaign id of
# 200 characters exists); 255 keeps a path sane.
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_LANG_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")

# ISO 3166-1 alpha-2, all 249 officially assigned codes.
ISO_COUNTRIES: frozenset[str] = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

# Common non-ISO spellings people type, with the code they meant.
_COUNTRY_HINTS = {"UK": "GB", "EL": "GR", "EN": "GB", "USA": "US"}


# --------------------------------------------------------------------------- errors


class RapidWorkersError(UpstreamError):
    """Base error; ``str(e)`` is a short human sentence without secrets."""

    status: int | None = None
    error: str | None = None

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None):
        super().__init__(message)
        self.status = status
        self.error = error


class InvalidInput(RapidWorkersError, ValueError):
    """Local validation failed; no request was sent."""


class BadRequest(RapidWorkersError):
    """HTTP 400; ``.error`` holds the API's error text."""


class Unauthorized(RapidWorkersError):
    """HTTP 401: invalid or missing API key."""


class Forbidden(RapidWorkersError):
    """HTTP 403: not your campaign, or the job failed the legitimacy check."""


class NotFound(RapidWorkersError):
    """HTTP 404."""


class RateLimited(RapidWorkersError):
    """HTTP 429; ``retry_after`` in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(RapidWorkersError):
    """HTTP 5xx."""


class NetworkError(RapidWorkersError):
    """Connection error or timeout.

    ``may_have_reached_server`` is False only when the request certainly was
    not delivered (connection refused, DNS failure, connect timeout).
    """

    def __init__(self, message: str, *, may_have_reached_server: bool = True, **kw: Any):
        super().__init__(message, **kw)
        self.may_have_reached_server = may_have_reached_server


class BudgetExhausted(RapidWorkersError):
    """The client-side hourly request budget would be exceeded; no request sent."""

    def __init__(self, message: str, *, retry_in: float | None = None):
        super().__init__(message)
        self.retry_in = retry_in


# --------------------------------------------------------------------------- models


def _lookup(d: Any, names: tuple[str, ...]) -> Any:
    """The models' key lookup: each spelling also tried in snake_case and camelCase (see _get)."""
    return _get(d, *names)


def _amount(value: Any) -> Decimal:
    return to_decimal(value) or Decimal("0")


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


@dataclass(frozen=True)
class Campaign:
    """One campaign as listed by ``/api/campaigns/``."""

    id: str = api_field("jobId", "publicId", "id", parse=to_text)
    title: str = api_field("jobTitle", "title", parse=to_text)
    category: str = api_field("jobCategory", "category", parse=to_text)
    pay: Decimal = api_field("jobPay", "payRate", "pay", parse=_amount)
    location: str = api_field("jobLocation", "location", parse=to_text)
    created_at: datetime | None = api_field("jobCreatedAt", "createdAt", parse=to_datetime)
    status: str = api_field("jobStatus", "status", parse=to_text)
    completed: int = api_field("jobInstancesCompleted", "completed", parse=to_count)
    total: int = api_field("jobTotalAvailabilities", "totalAvailabilities", "total", parse=to_count)
    success_rate: str = api_field("jobSuccessRate", "successRate", parse=to_text)
    description: str = api_field("description", "jobDescription", parse=to_text)
    canceled: bool = api_field("canceled", "cancelled", parse=_true)
    remaining: int = api_field("remainingAvailabilities", "remaining", parse=to_count)
    pending: int = api_field("pendingSubmissions", "pending", parse=to_count)
    approved: int = api_field("approvedSubmissions", "approved", parse=to_count)
    rejected: int = api_field("rejectedSubmissions", "rejected", parse=to_count)
    # What a worker must submit (set by /jobs/add); None when a listing does not include it.
    proof_required_description: str | None = api_field("proof_required_description", "jobProofRequiredDescription", default=None)


@dataclass(frozen=True)
class ProofImage:
    """A proof screenshot of a submission."""

    id: str = api_field("id", parse=to_text)
    url: str = api_field("url", parse=to_text)
    thumbnail_url: str | None = api_field("thumbnailUrl", "thumbUrl")


def _images(value: Any) -> tuple[ProofImage, ...]:
    """A submission's images; one without an id is named by its place (img_1, img_2...)."""
    items = value if isinstance(value, list) else []
    return tuple(from_api(ProofImage, i, lookup=_lookup, fallbacks={"id": f"img_{n}"})
                 for n, i in enumerate(items, 1) if isinstance(i, Mapping))


@dataclass(frozen=True)
class Submission:
    """A worker's submission with worker metadata."""

    id: int = api_field("submissionId", "id", parse=to_count)
    campaign_id: str = api_field("campaignId", "jobId", parse=to_text)
    campaign_title: str = api_field("campaignTitle", "jobTitle", parse=to_text)
    worker_id: str = api_field("userId", "workerId", parse=to_text)
    worker_name: str = api_field("userName", "workerName", "user", parse=to_text)
    worker_avatar: str | None = api_field("userAvatar", "workerAvatar")
    status: str = api_field("status", parse=to_text)
    country: str | None = api_field("countryName", "country")
    submitted_at: datetime | None = api_field("submittedAt", "createdAt", parse=to_datetime)
    proof_text: str = api_field("proofText", "proof", parse=to_text)
    images: tuple[ProofImage, ...] = api_field("images", parse=_images)
    notes: str | None = api_field("notes")
    worker_account_age_days: int | None = api_field("workerAccountAgeDays", parse=to_int)
    worker_approval_rate: float | None = api_field("workerApprovalRate", parse=to_percent)
    worker_total_completed: int | None = api_field("workerTotalCompleted", parse=to_int)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict; :meth:`from_dict` restores an equal object."""
        d = dataclasses.asdict(self)
        d["images"] = [dict(i) for i in d["images"]]
        d["submitted_at"] = self.submitted_at.isoformat() if self.submitted_at else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Submission:
        """Inverse of :meth:`to_dict`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in fields}
        kw["images"] = tuple(ProofImage(**i) for i in d.get("images") or ())
        kw["submitted_at"] = to_datetime(d.get("submitted_at"))
        return cls(**kw)


@dataclass(frozen=True)
class Decision:
    """Outcome of approve/reject (one item of a bulk approve)."""

    submission_id: int = api_field("id", "submissionId", parse=to_int)
    worker: str | None = api_field("user", "userName", "workerName")
    status: str = api_field("status", parse=to_text)
    amount_paid: Decimal | None = api_field("amountPaid", parse=to_decimal)
    notes: str | None = api_field("notes")


@dataclass(frozen=True)
class BlockedWorker:
    """An entry of ``/api/workers/blocked/``."""

    worker_id: str = api_field("workerId", "userId", "id", parse=to_text)
    worker_name: str | None = api_field("workerName", "userName", "name")
    blocked_at: datetime | None = api_field("blockedAt", "createdAt", parse=to_datetime)


@dataclass(frozen=True)
class CreatedJob:
    """Result of a job creation (custom or prefilled)."""

    job_id: str
    title: str | None
    status: str | None
    total_cost: Decimal | None
    commission: Decimal | None
    total_deducted: Decimal | None
    new_balance: Decimal | None
    pay_rate: Decimal | None
    total_availabilities: int | None


# --------------------------------------------------------------------------- pricing & validation


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def prefilled_cost(quantity: int) -> Decimal:
    """Cost of a prefilled job: $0.05 per unit, no commission."""
    return _cents(PREFILLED_UNIT_PRICE * int(quantity))


def custom_job_cost(pay_rate: Decimal, availabilities: int) -> tuple[Decimal, Decimal, Decimal]:
    """(total_cost, 10 % commission, total deducted) of a custom job, in cents."""
    total_cost = _cents(Decimal(str(pay_rate)) * int(availabilities))
    commission = _cents(total_cost * COMMISSION_RATE)
    return total_cost, commission, total_cost + commission


def validate_link(link: Any) -> str:
    """Return the stripped link if it is an http(s) URL with a host."""
    if not isinstance(link, str) or not link.strip():
        raise InvalidInput("A link is required, e.g. https://instagram.com/yourpage.")
    link = link.strip()
    if len(link) > 2048 or any(c.isspace() or ord(c) < 32 for c in link):
        raise InvalidInput("The link must be a single URL without spaces.")
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        raise InvalidInput("The link is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("The link must start with http:// or https://.")
    if not host:
        raise InvalidInput("The link must include a host name, e.g. https://instagram.com/...")
    return link


def validate_countries(codes: Iterable[str] | str | None) -> list[str]:
    """Upper-cased, de-duplicated ISO 3166-1 alpha-2 codes (``"us, gb"`` accepted)."""
    if codes is None:
        return []
    if isinstance(codes, str):
        codes = [c for c in re.split(r"[\s,;]+", codes) if c]
    out: list[str] = []
    for raw in codes:
        if not isinstance(raw, str):
            raise InvalidInput(f"Country codes must be text, got {type(raw).__name__}.")
        code = raw.strip().upper()
        if code not in ISO_COUNTRIES:
            hint = _COUNTRY_HINTS.get(code)
            extra = f" (did you mean {hint}?)" if hint else ""
            shown = code[:10] or "(empty)"
            raise InvalidInput(
                f"Unknown country code {shown!r}{extra}: use ISO 3166-1 alpha-2 codes like US, GB, DE."
            )
        if code not in out:
            out.append(code)
    return out


def _require_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required.")
    return value.strip()


def _require_id(name: str, value: Any) -> str:
    # Ids end up in URL paths: allow only what UUIDs and numeric ids need, so
    # "../" or "?" can never change which endpoint is called.
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _ID_RE.match(text):
        raise InvalidInput(f"{name} must be a plain id (letters, digits, '-' or '_').")
    return text


def _require_submission_id(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidInput("submission_id must be a positive integer.")
    try:
        sid = int(value) if isinstance(value, (int, str)) else None
    except ValueError:
        sid = None
    if sid is None or sid <= 0:
        raise InvalidInput("submission_id must be a positive integer.")
    return sid


def _norm_status(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is None:
        return None
    for s in allowed:
        if isinstance(value, str) and value.strip().lower() == s.lower():
            return s
    raise InvalidInput(f"Unknown {what} status {str(value)[:20]!r}; use one of {', '.join(allowed)}.")


def _norm_language(language: str | None) -> str | None:
    if language is None:
        return None
    if not isinstance(language, str) or not _LANG_RE.match(language.strip()):
        raise InvalidInput("language must be a language code like 'en'.")
    return language.strip()


def _quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput(f"quantity must be a whole number of at least {MIN_PREFILLED_QUANTITY}.")
    if quantity < MIN_PREFILLED_QUANTITY:
        raise InvalidInput(f"quantity must be at least {MIN_PREFILLED_QUANTITY} (got {quantity}).")
    return quantity


def _pay_rate(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInput("pay_rate must be an amount like 0.50.")
    try:
        rate = Decimal(str(value).strip().lstrip("$"))
    except (InvalidOperation, ValueError):
        raise InvalidInput("pay_rate must be an amount like 0.50.") from None
    if not rate.is_finite() or rate <= 0:
        raise InvalidInput("pay_rate must be greater than 0.")
    if rate != rate.quantize(_CENT):
        # Sub-cent rates make the deducted total ambiguous.
        raise InvalidInput("pay_rate can have at most 2 decimal places.")
    return rate.quantize(_CENT)


# --------------------------------------------------------------------------- tolerant parsing


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _get(d: Mapping[str, Any] | None, *names: str, default: Any = None) -> Any:
    """First non-None value under any of ``names``, each tried as written, snake_case and camelCase."""
    if not isinstance(d, Mapping):
        return default
    for name in names:
        for key in (name, _snake(name), _camel(name)):
            value = d.get(key)
            if value is not None:
                return value
    return default


def _items(data: Any, *nested: str) -> list[Mapping[str, Any]]:
    """Items of a bare list, ``{"results": [...]}``, or ``{"results": {nested: [...]}}``."""
    if isinstance(data, Mapping):
        data = data.get("results", data)
        if isinstance(data, Mapping):
            data = next((data[k] for k in nested if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        raise RapidWorkersError("RapidWorkers sent a response in an unexpected format.", status=200)
    return [x for x in data if isinstance(x, Mapping)]


def _campaign(d: Mapping[str, Any]) -> Campaign:
    return from_api(Campaign, d, lookup=_lookup)


def _submission(d: Mapping[str, Any], campaign_id: str) -> Submission:
    return from_api(Submission, d, lookup=_lookup, fallbacks={"campaign_id": campaign_id})


def _decision(d: Mapping[str, Any], submission_id: int, status: str, notes: str | None) -> Decision:
    """A decision as the API reports it; what it leaves out is what was asked."""
    return from_api(Decision, d, lookup=_lookup,
                    fallbacks={"submission_id": submission_id, "status": status, "notes": notes})


def _submissions_page(data: Any, campaign_id: str) -> tuple[list[Submission], bool, int | None]:
    """(submissions, more pages?, total count) of one page of the submissions list."""
    subs = [_submission(x, campaign_id) for x in _items(data, "submissions")]
    if not isinstance(data, Mapping):
        return subs, False, None
    results = data.get("results")
    pagination = _get(results, "pagination") or _get(data, "pagination") or {}
    current = to_int(_get(pagination, "currentPage", "page"))
    pages = to_int(_get(pagination, "pageCount", "totalPages"))
    more = bool(data.get("next")) or (current is not None and pages is not None and current < pages)
    total = to_int(data.get("count")) or to_int(_get(pagination, "totalCount"))
    return subs, more, total


# --------------------------------------------------------------------------- budget


class RequestBudget:
    """Thread-safe sliding one-hour window of request timestamps, in tiers.

    The last ``priority_reserve`` slots are kept for *priority* calls
    (decisions and the review sync), so no amount of commands can starve
    them; background work also stops ``interactive_reserve`` slots earlier
    than a person's click. With the defaults of gigdesk serve (1,000/hour):
    digest and alerts 700, commands 800, the review sync 900, decisions 1,000.
    """

    def __init__(
        self,
        hourly_limit: int = 1000,
        interactive_reserve: int = 100,
        *,
        priority_reserve: int = 0,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if hourly_limit < 1 or interactive_reserve < 0 or priority_reserve < 0 \
                or interactive_reserve + priority_reserve > hourly_limit:
            raise ValueError("need hourly_limit >= 1 and reserves >= 0 that add up to at most hourly_limit")
        self.hourly_limit = hourly_limit
        self.interactive_reserve = interactive_reserve
        self.priority_reserve = priority_reserve
        self.window = window
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def _limit(self, background: bool, priority: bool = False) -> int:
        return (self.hourly_limit
                - (self.interactive_reserve if background else 0)
                - (0 if priority else self.priority_reserve))

    def _prune(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()

    def try_acquire(self, background: bool = False, priority: bool = False) -> bool:
        """Take one slot if available."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            if len(self._stamps) >= self._limit(background, priority):
                return False
            self._stamps.append(now)
            return True

    def acquire(self, background: bool = False, priority: bool = False) -> None:
        """Take one slot or raise :class:`BudgetExhausted`."""
        if self.try_acquire(background, priority):
            return
        wait = self.seconds_until_free(background, priority)
        who = ("decisions" if not background else "the review sync") if priority else (
            "background" if background else "interactive")
        raise BudgetExhausted(
            f"RapidWorkers request budget used up for {who} calls "
            f"({self._limit(background, priority)} per hour); try again in {max(1, round(wait / 60))} min.",
            retry_in=wait,
        )

    def used(self) -> int:
        """Requests counted in the current window."""
        with self._lock:
            self._prune(self._clock())
            return len(self._stamps)

    def remaining(self, background: bool = False, priority: bool = False) -> int:
        """Slots still available to this kind of caller."""
        return max(0, self._limit(background, priority) - self.used())

    def seconds_until_free(self, background: bool = False, priority: bool = False) -> float:
        """Seconds until one more slot frees up for this kind of caller (0 if free now)."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            excess = len(self._stamps) - self._limit(background, priority)
            if excess < 0:
                return 0.0
            if excess >= len(self._stamps):
                return self.window
            return max(0.0, self._stamps[excess] + self.window - now)


# --------------------------------------------------------------------------- retries


@dataclass
class _CallContext:
    budget: RequestBudget
    background: bool
    count: Callable[[], None]
    priority: bool = False


# Set around each HTTP call so the urllib3 retry hook (same thread) can charge
# the right budget: a requests adapter's Retry object is shared by all callers.
_CALL: contextvars.ContextVar[_CallContext | None] = contextvars.ContextVar("rw_call", default=None)


class _BudgetedRetry(Retry):
    """Retry that charges every retry to the budget and skips long Retry-After waits."""

    def parse_retry_after(self, retry_after: str) -> float:
        # urllib3 raises on fractional or malformed values; treat those leniently.
        seconds = _retry_after_seconds(retry_after)
        return 0.0 if seconds is None else min(seconds, float(self.retry_after_max))

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and self.respect_retry_after_header:
            wait = _retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                # Not worth blocking a thread that long: surface RateLimited now.
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {wait:.0f} s is too long"))
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        ctx = _CALL.get()
        if ctx is not None:
            if not ctx.budget.try_acquire(ctx.background, ctx.priority):
                # Stop retrying; the caller sees the last error/response.
                raise MaxRetryError(_pool, url, error or ResponseError("request budget exhausted"))
            ctx.count()
        cause = type(error).__name__ if error else getattr(response, "status", "?")
        log.info("retrying %s %s after %s", method, _path_of(url), cause)
        return new


class _MoneyRetry(_BudgetedRetry):
    # Only 429 may be retried on a money call even with a Retry-After header:
    # a 503 may come after the server already acted.
    RETRY_AFTER_STATUS_CODES = frozenset({429})


def _safe_retry() -> Retry:
    return _BudgetedRetry(
        total=RETRY_TOTAL,
        status_forcelist=SAFE_RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST"}),  # the only POST on this session is get_balance
        backoff_factor=RETRY_BACKOFF_FACTOR,
        backoff_max=RETRY_BACKOFF_MAX,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def _money_retry() -> Retry:
    return _MoneyRetry(
        total=RETRY_TOTAL,
        connect=RETRY_TOTAL,  # connect errors: the request never left
        read=0,  # read timeout / dropped connection: the server may have acted
        other=0,
        status=RETRY_TOTAL,
        status_forcelist=frozenset({429}),
        allowed_methods=frozenset({"GET", "POST"}),
        backoff_factor=RETRY_BACKOFF_FACTOR,
        backoff_max=RETRY_BACKOFF_MAX,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def _mount(session: requests.Session, retry: Retry) -> requests.Session:
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _retry_after_seconds(header: str | None) -> float | None:
    """Seconds of a Retry-After header (delta or HTTP date); None if absent or malformed."""
    if not header or not header.strip():
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _path_of(url: str | None) -> str:
    try:
        return urlsplit(url or "").path or "/"
    except ValueError:
        return "?"


def _never_reached(exc: BaseException) -> bool:
    """True when the request certainly did not reach the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: BaseException | None = exc
    for _ in range(5):
        if isinstance(seen, (NewConnectionError, ConnectTimeoutError)):
            return True  # refused, DNS failure (NameResolutionError), connect timeout
        if isinstance(seen, MaxRetryError):
            seen = seen.reason
        elif isinstance(seen, requests.RequestException) and seen.args and isinstance(seen.args[0], BaseException):
            seen = seen.args[0]
        else:
            return False
    return False


def _network_message(exc: BaseException, reached: bool) -> str:
    if not reached:
        return "Could not connect to RapidWorkers; nothing was sent. Try again in a moment."
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc).lower():
        return "RapidWorkers did not answer in time; the request may or may not have been applied."
    return "The connection to RapidWorkers broke; the request may or may not have been applied."


# --------------------------------------------------------------------------- client


class _Shared:
    """State shared by a client and its background view."""

    def __init__(self, safe: requests.Session, money: requests.Session, budget: RequestBudget):
        self.safe = safe
        self.money = money
        self.budget = budget
        self.sent = 0
        self.lock = threading.Lock()

    def count(self) -> None:
        with self.lock:
            self.sent += 1


_FALLBACK_MESSAGES = {
    400: "RapidWorkers refused the request as invalid.",
    401: "RapidWorkers rejected the API key (invalid or missing).",
    403: "RapidWorkers says this is not allowed for your account.",
    404: "RapidWorkers could not find that.",
    429: "RapidWorkers rate limit reached; try again later.",
}


class RapidWorkersClient:
    """Client for the RapidWorkers API (thread-safe)."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 15.0,
        connect_timeout: float = 3.05,
        hourly_limit: int = 1000,
        interactive_reserve: int = 100,
        priority_reserve: int = 0,
        budget: RequestBudget | None = None,
        background: bool = False,
        session: requests.Session | None = None,
    ):
        if not isinstance(api_key, str) or not api_key.strip():
            raise InvalidInput("The RapidWorkers API key is empty.")
        base = (base_url or "").strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("The RapidWorkers base URL must be an http(s) URL.")
        self._api_key = api_key.strip()
        self.base_url = base
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.background = bool(background)
        self.priority = False
        # A caller-provided session serves the read-only calls (it gets the
        # retrying adapter mounted); money calls always use a private session
        # whose adapter never retries once the request may have been sent.
        safe = _mount(session or requests.Session(), _safe_retry())
        money = _mount(requests.Session(), _money_retry())
        self._shared = _Shared(safe, money, budget or RequestBudget(hourly_limit, interactive_reserve, priority_reserve=priority_reserve))

    def __repr__(self) -> str:
        kind = ("background" if self.background else "interactive") + (" priority" if self.priority else "")
        return f"<RapidWorkersClient {self.base_url} {kind}>"

    # -- plumbing -----------------------------------------------------------

    def background_view(self) -> RapidWorkersClient:
        """Same sessions and budget, but calls count as background work."""
        view = object.__new__(RapidWorkersClient)
        view.__dict__.update(self.__dict__)
        view.background = True
        return view

    def sync_view(self) -> RapidWorkersClient:
        """The review sync's view: background, but it may use the priority reserve."""
        view = self.background_view()
        view.priority = True
        return view

    @property
    def budget(self) -> RequestBudget:
        """The (shared) request budget."""
        return self._shared.budget

    @property
    def requests_sent(self) -> int:
        """HTTP attempts made by this client and its views, retries included."""
        with self._shared.lock:
            return self._shared.sent

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key in text else text

    def _request(
        self,
        method: str,
        path: str,
        *,
        money: bool = False,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        files: list[tuple[str, tuple[Any, ...]]] | None = None,
        decision: bool = False,
    ) -> Any:
        """Send one logical call; return the parsed JSON body (``{}`` if none).

        ``decision``: approve, reject, block… may use the priority reserve.
        """
        shared = self._shared
        priority = self.priority or decision
        shared.budget.acquire(self.background, priority)
        session = shared.money if money else shared.safe
        params = {k: v for k, v in (params or {}).items() if v is not None}
        ctx = _CallContext(shared.budget, self.background, shared.count, priority)
        token = _CALL.set(ctx)
        shared.count()
        started = time.monotonic()
        try:
            resp = session.request(
                method,
                self.base_url + path,
                headers={"X-API-Key": self._api_key, "Accept": "application/json"},
                params=params or None,
                json=json_body,
                files=files,
                timeout=(self.connect_timeout, self.timeout),
                allow_redirects=False,  # a redirect elsewhere would carry X-API-Key along
            )
        except requests.RequestException as exc:
            ms = (time.monotonic() - started) * 1000
            reached = not _never_reached(exc)
            log.warning("%s %s -> network error (%s) in %.0f ms", method, path, type(exc).__name__, ms)
            metrics.upstream_call("rapidworkers", method, ms / 1000, None)
            # The chained requests error names host and path only, never headers.
            raise NetworkError(_network_message(exc, reached), may_have_reached_server=reached) from exc
        finally:
            _CALL.reset(token)
        ms = (time.monotonic() - started) * 1000
        status = resp.status_code
        level = logging.WARNING if status >= 500 or status == 429 else logging.INFO
        log.log(level, "%s %s -> %s in %.0f ms", method, path, status, ms)
        metrics.upstream_call("rapidworkers", method, ms / 1000, status)
        try:
            body: Any = resp.json() if resp.content else {}
        except ValueError:
            body = None
        if 200 <= status < 300:
            if body is None:
                if money:
                    # The action happened; an unreadable body must not look like a failure.
                    log.warning("%s %s: unreadable success body", method, path)
                    return {}
                raise RapidWorkersError("RapidWorkers sent an unreadable response.", status=status)
            return body
        raise self._error(status, body, resp.headers.get("Retry-After"))

    def _error(self, status: int, body: Any, retry_after: str | None) -> RapidWorkersError:
        api_text = None
        if isinstance(body, Mapping):
            raw = body.get("error") or body.get("detail") or body.get("message")
            if raw is not None:
                api_text = self._scrub(" ".join(str(raw).split()))[:200]
        if api_text:
            message = f"RapidWorkers: {api_text.rstrip('.')}."
        elif status >= 500:
            message = f"RapidWorkers had a server error ({status}); try again later."
        else:
            message = _FALLBACK_MESSAGES.get(status, f"RapidWorkers answered with HTTP {status}.")
        kw: dict[str, Any] = {"status": status, "error": api_text}
        if status == 400:
            return BadRequest(message, **kw)
        if status == 401:
            return Unauthorized(message, **kw)
        if status == 403:
            return Forbidden(message, **kw)
        if status == 404:
            return NotFound(message, **kw)
        if status == 429:
            wait = _retry_after_seconds(retry_after)
            return RateLimited(message, retry_after=wait, **kw)
        if status >= 500:
            return ServerError(message, **kw)
        return RapidWorkersError(message, **kw)

    # -- account & campaigns -------------------------------------------------

    def get_balance(self) -> Decimal:
        """Current account balance."""
        data = self._request("POST", "/account/get_balance", json_body={})
        balance = to_decimal(_get(data, "balance"))
        if balance is None:
            raise RapidWorkersError("RapidWorkers sent a balance in an unexpected format.", status=200)
        return balance

    def list_campaigns(self, status: str | None = None, language: str | None = None) -> list[Campaign]:
        """Campaigns you own, optionally filtered by status."""
        params = {
            "status": _norm_status(status, CAMPAIGN_STATUSES, "campaign"),
            "language": _norm_language(language),
        }
        data = self._request("GET", "/api/campaigns/", params=params)
        return [_campaign(x) for x in _items(data, "campaigns")]

    def get_campaign(self, campaign_id: str, language: str | None = None) -> Campaign:
        """Details and counts of one campaign."""
        cid = _require_id("campaign_id", campaign_id)
        params = {"language": _norm_language(language)}
        data = self._request("GET", f"/api/campaigns/detail/{quote(cid)}/", params=params)
        if isinstance(data, Mapping) and isinstance(data.get("results"), Mapping):
            data = data["results"]
        if not isinstance(data, Mapping):
            raise RapidWorkersError("RapidWorkers sent a campaign in an unexpected format.", status=200)
        return _campaign(data)

    def list_submissions(
        self,
        campaign_id: str,
        status: str | None = None,
        search: str | None = None,
        rows_per_page: int | None = None,
        language: str | None = None,
    ) -> list[Submission]:
        """All submissions of a campaign, following pagination to the last page."""
        cid = _require_id("campaign_id", campaign_id)
        if rows_per_page is not None and (
            isinstance(rows_per_page, bool) or not isinstance(rows_per_page, int) or rows_per_page < 1
        ):
            raise InvalidInput("rows_per_page must be a positive whole number.")
        if search is not None and not isinstance(search, str):
            raise InvalidInput("search must be text.")
        base = {
            "status": _norm_status(status, SUBMISSION_STATUSES, "submission"),
            "search": search or None,
            "rowsPerPage": rows_per_page,
            "language": _norm_language(language),
        }
        path = f"/api/campaigns/{quote(cid)}/submissions/"
        found: dict[int, Submission] = {}
        # Pages are requested by number rather than by following "next": the
        # next URL could point at another host, and the key would go with it.
        for page in range(1, _MAX_PAGES + 1):
            data = self._request("GET", path, params={**base, "page": page})
            subs, more, total = _submissions_page(data, cid)
            before = len(found)
            for s in subs:
                found.setdefault(s.id, s)  # items may shift between pages
            if len(found) == before or not more or (total is not None and len(found) >= total):
                break  # a page with nothing new also ends it: never loop on a confused server
        return list(found.values())

    # -- decisions -------------------------------------------------------------

    def approve(self, campaign_id: str, submission_id: int, notes: str | None = None) -> Decision:
        """Approve one submission (pays the worker)."""
        cid = _require_id("campaign_id", campaign_id)
        sid = _require_submission_id(submission_id)
        if notes is not None and not isinstance(notes, str):
            raise InvalidInput("notes must be text.")
        body = {"notes": notes} if notes and notes.strip() else {}
        data = self._request(
            "POST", f"/api/campaigns/{quote(cid)}/submissions/{sid}/approve/", money=True, json_body=body, decision=True
        )
        return _decision(_get(data, "submission", default={}), sid, "Approved", body.get("notes"))

    def reject(self, campaign_id: str, submission_id: int, notes: str) -> Decision:
        """Reject one submission; the API requires a reason."""
        cid = _require_id("campaign_id", campaign_id)
        sid = _require_submission_id(submission_id)
        reason = _require_text("A rejection reason", notes)
        data = self._request(
            "POST",
            f"/api/campaigns/{quote(cid)}/submissions/{sid}/reject/",
            money=True,
            json_body={"notes": reason},
            decision=True,
        )
        return _decision(_get(data, "submission", default={}), sid, "Rejected", reason)

    def bulk_approve(self, campaign_id: str, notes: str | None = None) -> list[Decision]:
        """Approve every pending submission of a campaign."""
        cid = _require_id("campaign_id", campaign_id)
        if notes is not None and not isinstance(notes, str):
            raise InvalidInput("notes must be text.")
        body = {"notes": notes} if notes and notes.strip() else {}
        data = self._request(
            "POST", f"/api/campaigns/{quote(cid)}/submissions/bulk_action/", money=True, json_body=body, decision=True
        )
        items = _get(data, "submissions", "results", default=[])
        return [
            _decision(x, 0, "Approved", body.get("notes"))
            for x in (items if isinstance(items, list) else [])
            if isinstance(x, Mapping)
        ]

    # -- workers ---------------------------------------------------------------

    @staticmethod
    def _worker_payload(worker_id: str | int) -> dict[str, Any]:
        wid = _require_id("worker_id", worker_id)
        # The doc sends numeric ids as JSON numbers.
        return {"worker_id": int(wid) if wid.isdigit() else wid}

    def block_worker(self, worker_id: str | int) -> None:
        """Block a worker from all your campaigns."""
        self._request("POST", "/api/workers/block/", money=True, json_body=self._worker_payload(worker_id), decision=True)

    def unblock_worker(self, worker_id: str | int) -> None:
        """Unblock a previously blocked worker."""
        self._request("POST", "/api/workers/unblock/", money=True, json_body=self._worker_payload(worker_id), decision=True)

    def list_blocked(self) -> list[BlockedWorker]:
        """Workers you have blocked."""
        data = self._request("GET", "/api/workers/blocked/")
        return [from_api(BlockedWorker, x, lookup=_lookup) for x in _items(data, "workers", "blocked")]

    # -- jobs --------------------------------------------------------------------

    def create_job(
        self,
        *,
        title: str,
        description: str,
        pay_rate: Decimal,
        total_availabilities: int,
        proof_required_description: str,
        category: str,
        sub_category: str | None = None,
        countries: Iterable[str] | str | None = None,
        approve_once_full: bool = False,
        image: tuple[str, bytes, str] | None = None,
    ) -> CreatedJob:
        """Create a custom campaign (multipart/form-data, as in the doc's example)."""
        fields = {
            "title": _require_text("title", title),
            "description": _require_text("description", description),
            "proof_required_description": _require_text("proof_required_description", proof_required_description),
            "category": _require_text("category", category),
        }
        rate = _pay_rate(pay_rate)
        if isinstance(total_availabilities, bool) or not isinstance(total_availabilities, int):
            raise InvalidInput("total_availabilities must be a whole number.")
        if total_availabilities < 1:
            raise InvalidInput("total_availabilities must be at least 1.")
        if sub_category is not None and not isinstance(sub_category, str):
            raise InvalidInput("sub_category must be text.")
        codes = validate_countries(countries)
        parts: list[tuple[str, tuple[Any, ...]]] = [
            ("title", (None, fields["title"])),
            ("description", (None, fields["description"])),
            ("pay_rate", (None, str(rate))),
            ("total_availabilities", (None, str(total_availabilities))),
            ("proof_required_description", (None, fields["proof_required_description"])),
            ("category", (None, fields["category"])),
        ]
        if sub_category and sub_category.strip():
            parts.append(("sub_category", (None, sub_category.strip())))
        if codes:  # omitted = all countries
            parts.append(("countries", (None, json.dumps(codes))))
        parts.append(("approve_once_full", (None, "true" if approve_once_full else "false")))
        if image is not None:
            parts.append(("campaign_image", _image_part(image)))
        data = self._request("POST", "/jobs/add", money=True, files=parts)
        job = _get(data, "job", default={})
        ded = _get(data, "deductionDetails", default={})
        return CreatedJob(
            job_id=str(_get(job, "publicId", "jobId", "id", default=_get(data, "jobId", default=""))),
            title=to_str(_get(job, "title", default=fields["title"])),
            status=to_str(_get(job, "status")),
            total_cost=to_decimal(_get(ded, "totalCost")),
            commission=to_decimal(_get(ded, "commission")),
            total_deducted=to_decimal(_get(ded, "totalDeducted")),
            new_balance=to_decimal(_get(ded, "newBalance")),
            pay_rate=to_decimal(_get(job, "payRate")) or rate,
            total_availabilities=to_int(_get(job, "totalAvailabilities")) or total_availabilities,
        )

    def create_prefilled_job(
        self,
        kind: str,
        link: str,
        quantity: int,
        countries: Iterable[str] | str | None = None,
        language: str | None = None,
    ) -> CreatedJob:
        """Create a prefilled social job ($0.05 per unit, auto-approved once full)."""
        if kind not in PREFILLED_KINDS:
            raise InvalidInput(f"Unknown job kind {str(kind)[:30]!r}; use one of: {' '.join(PREFILLED_KINDS)}.")
        body: dict[str, Any] = {"link": validate_link(link), "quantity": _quantity(quantity)}
        codes = validate_countries(countries)
        if codes:
            body["countries"] = codes
        lang = _norm_language(language)
        if lang:
            body["language"] = lang
        data = self._request("POST", f"/api/jobs/{kind}/", money=True, json_body=body)
        return CreatedJob(
            job_id=str(_get(data, "jobId", "publicId", default="")),
            title=to_str(_get(data, "title")),
            status=to_str(_get(data, "status")),
            total_cost=to_decimal(_get(data, "totalCost")),
            commission=to_decimal(_get(data, "commission")),
            total_deducted=to_decimal(_get(data, "totalDeducted")),
            new_balance=to_decimal(_get(data, "newBalance")),
            pay_rate=PREFILLED_UNIT_PRICE,
            total_availabilities=quantity,
        )


def _image_part(image: Any) -> tuple[str, bytes, str]:
    if not (isinstance(image, tuple) and len(image) == 3):
        raise InvalidInput("image must be (filename, bytes, content_type).")
    filename, content, ctype = image
    if not isinstance(filename, str) or not filename.strip():
        raise InvalidInput("The image needs a file name.")
    if not isinstance(content, (bytes, bytearray)) or not content:
        raise InvalidInput("The image is empty.")
    if len(content) > _MAX_IMAGE_BYTES:
        raise InvalidInput("The image is larger than 10 MB.")
    if not isinstance(ctype, str) or not ctype.startswith("image/"):
        raise InvalidInput("The image content type must be image/...")
    return filename.strip(), bytes(content), ctype
