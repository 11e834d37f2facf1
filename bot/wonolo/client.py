"""Wonolo API v2 client.

Authenticates with the API key pair, keeps the token fresh, pages through
lists, and turns HTTP failures into short, human exceptions.  Secrets (API
key, secret key, token) never reach logs, exceptions or reprs.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.apiclient.coerce import to_bool, to_datetime, to_decimal, to_float, to_int
from bot.apiclient.fields import api_field, from_api
from bot.errors import UpstreamError
from bot.observability import metrics

log = logging.getLogger("gigdesk.wonolo")

API_PREFIX = "/api_v2"
TEST_BASE_URL = "https://test.wonolo.com"
LIVE_BASE_URL = "https://api.wonolo.com"

JOB_REQUEST_STATES = (
    "draft", "unassigned", "posted", "filled", "in_progress",
    "completed", "approved", "cancelled", "unfilled",
)
JOB_STATES = (
    "pending", "rejected", "filled", "in_progress", "completed",
    "approved", "cancelled", "withdrawn", "no_show", "paused",
)
USER_TYPES = ("Worker", "Employer")
# Job states that occupy a slot of their JobRequest (used to derive slots_filled).
_SLOT_STATES = frozenset({"filled", "in_progress", "completed", "approved", "paused"})

MAX_PER_PAGE = 50          # Wonolo caps `per` at 50
MAX_PAGES = 400            # 20,000 items: a guard against a server that ignores `page`
REAUTH_MARGIN = 300.0      # refresh the token when less than 5 minutes remain
MIN_TOKEN_REUSE = 60.0     # never re-authenticate proactively more than once a minute
DEFAULT_TOKEN_TTL = 86400.0
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# --------------------------------------------------------------------------- errors


class WonoloError(UpstreamError):
    """A Wonolo call failed; str() is short, human, and free of secrets."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class WonoloUnauthorized(WonoloError):
    """401: the keys or token were refused (after one re-authentication)."""


class WonoloForbidden(WonoloError):
    """403: the key may not do this (Public Pool keys may not do many writes)."""


class WonoloNotFound(WonoloError):
    """404: no such resource."""


class WonoloInvalid(WonoloError):
    """422 from Wonolo, or a local validation failure; .errors holds any details."""

    def __init__(self, message: str, status: int | None = 422, errors: Any = None) -> None:
        super().__init__(message, status)
        self.errors = errors


class WonoloServerError(WonoloError):
    """5xx from Wonolo."""


class WonoloNetworkError(WonoloError):
    """Connection failure or timeout."""


FORBIDDEN_MESSAGE = (
    "Wonolo refused this action (403). Public Pool API keys may only read "
    "their own job requests and jobs, and many create/update calls are "
    "forbidden for them; a Private Pool key is needed."
)


# --------------------------------------------------------------------------- value coercion


def _id(value: Any) -> int | str | None:
    """Wonolo ids are integers; keep a non-numeric string id as a string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    return text or None


def _dicts(value: Any) -> tuple[dict, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, dict))


def _badge_names(value: Any) -> tuple[str, ...]:
    """user_badges[] items may be strings, {name}, {badge_name} or {badge: {name}}."""
    names: list[str] = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            badge = item.get("badge")
            name = (badge.get("name") if isinstance(badge, dict) else None) \
                or item.get("name") or item.get("badge_name")
            if name:
                names.append(str(name))
    return tuple(names)


# --------------------------------------------------------------------------- resources


class _Resource:
    """from_dict for the resources below: each field declares its API spelling and parser."""

    @classmethod
    def _fallbacks(cls, d: dict) -> dict[str, Any]:
        """Values derived from elsewhere in the object, used when a field is absent."""
        return {}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        """Build from an API object, ignoring anything unexpected."""
        d = dict(d)
        return from_api(cls, d, fallbacks=cls._fallbacks(d), raw=d)


def _user_or_none(value: Any) -> User | None:
    return User.from_dict(value) if isinstance(value, dict) else None


def _tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, list) else ()


@dataclass(frozen=True)
class User(_Resource):
    """A Wonoloer (type "Worker") or a requestor (type "Employer")."""

    id: int | str | None = api_field(parse=_id)
    type: str | None = api_field(default=None)
    first_name: str | None = api_field(default=None)
    last_name: str | None = api_field(default=None)
    email: str | None = api_field(default=None)
    phone: str | None = api_field(default=None)
    rating: float | None = api_field(parse=to_float, default=None)
    suspended: bool | None = api_field(parse=to_bool, default=None)
    address_state: str | None = api_field(default=None)
    badges: tuple[str, ...] = api_field("user_badges", "badges", parse=_badge_names, default=())
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def full_name(self) -> str:
        """First and last name, or a fallback that is never empty."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p).strip()
        return name or self.email or (f"user {self.id}" if self.id is not None else "unknown user")


@dataclass(frozen=True)
class Job(_Resource):
    """One Wonoloer's place on a JobRequest."""

    id: int | str | None = api_field(parse=_id)
    state: str | None = api_field(default=None)
    job_request_id: int | str | None = api_field(parse=_id, default=None)
    worker: User | None = api_field(parse=_user_or_none, default=None)
    employer: User | None = api_field(parse=_user_or_none, default=None)
    hours_worked: float | None = api_field(parse=to_float, default=None)
    actual_duration: int | None = api_field(parse=to_int, default=None)
    confirmed_at: datetime | None = api_field(parse=to_datetime, default=None)
    started_at: datetime | None = api_field(parse=to_datetime, default=None)
    completed_at: datetime | None = api_field(parse=to_datetime, default=None)
    requestor_notes: str | None = api_field(default=None)
    transitions: tuple[dict, ...] = api_field(parse=_dicts, default=())
    updated_at: datetime | None = api_field(parse=to_datetime, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _fallbacks(cls, d: dict) -> dict[str, Any]:
        """The job request's id may come only inside an embedded job_request."""
        jr = d.get("job_request")
        return {"job_request_id": _id(jr.get("id"))} if isinstance(jr, dict) else {}


@dataclass(frozen=True)
class JobRequest(_Resource):
    """A request for Wonoloers; its state mostly follows its Jobs' states."""

    id: int | str | None = api_field(parse=_id)
    state: str | None = api_field(default=None)
    request_name: str | None = api_field(default=None)
    category: str | None = api_field(default=None)
    description: str | None = api_field(default=None)
    address: str | None = api_field(default=None)
    city: str | None = api_field(default=None)
    zip: str | None = api_field(default=None)
    venue: str | None = api_field(default=None)
    start_time: datetime | None = api_field(parse=to_datetime, default=None)
    duration: int | None = api_field(parse=to_int, default=None)
    slots: int | None = api_field(parse=to_int, default=None)
    slots_filled: int | None = api_field(parse=to_int, default=None)
    wage: Decimal | None = api_field(parse=to_decimal, default=None)
    employer_id: int | str | None = api_field(parse=_id, default=None)
    company_id: int | str | None = api_field(parse=_id, default=None)
    timezone: str | None = api_field(default=None)
    multi_day_job_request_id: int | str | None = api_field(parse=_id, default=None)
    badge_requirements: tuple = api_field(parse=_tuple, default=())
    updated_at: datetime | None = api_field(parse=to_datetime, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _fallbacks(cls, d: dict) -> dict[str, Any]:
        """Without slots_filled, count the embedded jobs that hold a slot (a job
        without a state is assumed to)."""
        if not isinstance(d.get("jobs"), list):
            return {}
        return {"slots_filled": sum(
            1 for j in d["jobs"]
            if isinstance(j, dict) and (j.get("state") is None or j.get("state") in _SLOT_STATES)
        )}


def estimated_cost(slots: int | None, duration_minutes: int | None, wage: Decimal | None) -> Decimal | None:
    """Wages of a job request if every slot works its full length: slots x hours x wage.

    Wonolo's own fees are not public, so they are not included. None when a
    factor is unknown.
    """
    if slots is None or duration_minutes is None or wage is None or slots < 0 or duration_minutes < 0:
        return None
    return (Decimal(slots) * Decimal(duration_minutes) / 60 * wage).quantize(Decimal("0.01"))


def open_slots(slots: int | None, filled: int | None) -> int | None:
    """Slots nobody holds yet; None when Wonolo did not say how many slots there are."""
    if slots is None:
        return None
    return max(0, slots - (filled or 0))


@dataclass(frozen=True)
class Badge(_Resource):
    """A qualification required to accept a JobRequest."""

    id: int | str | None = api_field(parse=_id)
    name: str | None = api_field(default=None)
    description: str | None = api_field(default=None)
    info_url: str | None = api_field(default=None)
    remote_icon_url: str | None = api_field(default=None)
    is_soft: bool | None = api_field(parse=to_bool, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Message(_Resource):
    """An in-app message between a requestor and a Wonoloer about a Job."""

    id: int | str | None = api_field(parse=_id)
    sender_id: int | str | None = api_field(parse=_id, default=None)
    receiver_id: int | str | None = api_field(parse=_id, default=None)
    job_id: int | str | None = api_field(parse=_id, default=None)
    body: str | None = api_field(default=None)
    created_at: datetime | None = api_field(parse=to_datetime, default=None)
    raw: dict = field(default_factory=dict, repr=False, compare=False)


# --------------------------------------------------------------------------- helpers


def default_base_url(api_key: str) -> str:
    """Test keys talk to the test host; live and unknown keys to the live host."""
    return TEST_BASE_URL if (api_key or "").startswith("pk_test_") else LIVE_BASE_URL


class _CappedRetry(Retry):
    """Retry whose Retry-After wait is capped: a Slack handler must not hang."""

    MAX_RETRY_AFTER = 5.0

    def get_retry_after(self, response):
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.MAX_RETRY_AFTER)


def _make_session() -> requests.Session:
    """A session whose adapter retries only GETs (connect errors are safe for all)."""
    retry = _CappedRetry(
        total=3,
        connect=2,            # nothing reached the server: safe for any method
        read=2,               # only for allowed_methods (GET)
        status=2,
        other=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=(429, 500, 502, 503, 504),
        backoff_factor=0.2,
        backoff_max=2.0,
        raise_on_status=False,  # hand back the last response so we map it ourselves
        raise_on_redirect=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _encode(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Rails-style form encoding: a[b][c]=v, lists as a[b][]=v."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _encode(f"{prefix}[{k}]", v)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        out = []
        for v in value:
            out += _encode(f"{prefix}[]", v)
        return out
    return [(prefix, _form_value(value))]


def _flat(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in params.items():
        out += _encode(str(k), v)
    return out


def _nested(resource: str, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in fields.items():
        out += _encode(f"{resource}[{k}]", v)
    return out


def _check_id(value: Any, what: str) -> str:
    """Ids go into URL paths: accept only plain tokens (no '/', '..', spaces)."""
    if isinstance(value, bool) or value is None:
        raise WonoloInvalid(f"A {what} id is required.", status=None)
    text = str(value).strip()
    if not _ID_RE.match(text):
        raise WonoloInvalid(f"That is not a valid {what} id.", status=None)
    return text


def _require(what: str, **values: Any) -> None:
    missing = [k for k, v in values.items() if v is None or (isinstance(v, str) and not v.strip())]
    if missing:
        raise WonoloInvalid(f"{what} needs: {', '.join(missing)}.", status=None,
                            errors={k: ["is required"] for k in missing})


def _check_state(state: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if state is None:
        return None
    norm = str(state).strip().lower()
    if norm not in allowed:
        shown = str(state)[:30]
        raise WonoloInvalid(
            f"Unknown {what} state “{shown}”. Use one of: {', '.join(allowed)}.", status=None)
    return norm


def _unwrap_list(data: Any, key: str) -> list[dict]:
    """Accept {key: [...]}, {"data": [...]}, a bare list, or a lone list value."""
    if isinstance(data, list):
        return [x for x in data if isinstance(x, dict)]
    if isinstance(data, dict):
        for k in (key, "data", "results", "items"):
            if isinstance(data.get(k), list):
                return [x for x in data[k] if isinstance(x, dict)]
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            return [x for x in lists[0] if isinstance(x, dict)]
        if not data:
            return []
    raise WonoloError("Wonolo sent a list in a shape gigdesk does not understand.")


def _unwrap_obj(data: Any, key: str) -> dict:
    """Accept {key: {...}}, {"data": {...}} or the bare object."""
    if isinstance(data, dict):
        for k in (key, "data"):
            if isinstance(data.get(k), dict):
                return data[k]
        return data
    noun = key.replace("_", " ")
    raise WonoloError(f"Wonolo sent a {noun} in a shape gigdesk does not understand.")


def _parse_expiry(value: Any) -> float | None:
    parsed = to_datetime(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # Wonolo uses Z; a naive time is taken as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


_SINGULAR = {
    "job_requests": "job request", "jobs": "job", "users": "user", "badges": "badge",
    "messages": "message", "customers": "customer",
    "multi_day_job_requests": "multi-day job request",
}


def _describe(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p]
    noun = _SINGULAR.get(parts[0], parts[0].replace("_", " ")) if parts else "resource"
    return f"{noun} {parts[1]}" if len(parts) > 1 else noun


# --------------------------------------------------------------------------- client


class WonoloClient:
    """Thread-safe Wonolo API v2 client."""

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        base_url: str | None = None,
        *,
        timeout: float = 15.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key or not secret_key:
            raise WonoloInvalid("Wonolo API key and secret key are both required.", status=None)
        self._api_key = api_key
        self._secret_key = secret_key
        base = (base_url or default_base_url(api_key)).rstrip("/")
        if base.endswith(API_PREFIX):  # tolerate a base URL given with /api_v2
            base = base[: -len(API_PREFIX)]
        self.base_url = base
        self.timeout = timeout
        self._session = session if session is not None else _make_session()
        self._clock = clock
        self._lock = threading.RLock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.expires_at: float | None = None  # epoch seconds of the current token

    def __repr__(self) -> str:
        return f"WonoloClient(base_url={self.base_url!r}, authenticated={self._token is not None})"

    __str__ = __repr__

    # ----------------------------------------------------------- auth

    def authenticate(self) -> None:
        """Obtain a fresh token (POST /authenticate)."""
        with self._lock:
            self._authenticate_locked()

    def _authenticate_locked(self) -> None:
        resp = self._send("POST", "/authenticate",
                          form=[("api_key", self._api_key), ("secret_key", self._secret_key)])
        if resp.status_code == 401:
            raise WonoloUnauthorized(
                "Wonolo rejected the API key or secret key (401). "
                "Check WONOLO_API_KEY and WONOLO_SECRET_KEY.", 401)
        if resp.status_code == 422:
            raise WonoloInvalid("Wonolo says the API key or secret key is missing (422).", 422)
        data = self._handle(resp, "POST", "/authenticate")
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise WonoloError("Wonolo's sign-in answer had no token.", resp.status_code)
        now = self._clock()
        expires = _parse_expiry(data.get("expires_at"))
        if expires is None:
            expires = now + DEFAULT_TOKEN_TTL
        self._token = token
        self.expires_at = expires
        # At least MIN_TOKEN_REUSE between proactive refreshes, so clock skew or a
        # very short TTL cannot cause a sign-in per call (a 401 still refreshes).
        self._refresh_at = max(expires - REAUTH_MARGIN, now + MIN_TOKEN_REUSE)
        log.info("authenticated with Wonolo at %s", self.base_url)

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                if self._token is not None:
                    log.info("Wonolo token close to expiry; signing in again")
                self._authenticate_locked()
            assert self._token is not None
            return self._token

    def _refresh_after_401(self, stale: str) -> str:
        with self._lock:
            # Another thread may already have replaced the stale token.
            if self._token == stale or self._token is None:
                log.info("Wonolo answered 401; signing in again once")
                self._authenticate_locked()
            assert self._token is not None
            return self._token

    # ----------------------------------------------------------- transport

    def _send(self, method: str, path: str, *, params: list[tuple[str, str]] | None = None,
              form: list[tuple[str, str]] | None = None) -> requests.Response:
        url = f"{self.base_url}{API_PREFIX}{path}"
        started = time.monotonic()
        failure: WonoloNetworkError | None = None
        try:
            resp = self._session.request(
                method, url, params=params, data=form, timeout=self.timeout,
                allow_redirects=False,  # a redirect would carry ?token= to another host
                headers={"Accept": "application/json", "User-Agent": "gigdesk"},
            )
        except requests.Timeout:
            failure = WonoloNetworkError(self._network_message(method, "did not answer in time"))
        except requests.RequestException:
            failure = WonoloNetworkError(self._network_message(method, "could not be reached"))
        if failure is not None:
            # Raised outside `except` so no chained exception (whose text holds the
            # URL with ?token=) travels with it.
            log.warning("Wonolo %s %s%s failed: %s", method, API_PREFIX, path, failure)
            metrics.upstream_call("wonolo", method, time.monotonic() - started, None)
            raise failure
        log.debug("Wonolo %s %s%s -> %s (%.2fs)", method, API_PREFIX, path,
                  resp.status_code, time.monotonic() - started)
        metrics.upstream_call("wonolo", method, time.monotonic() - started, resp.status_code)
        return resp

    @staticmethod
    def _network_message(method: str, what: str) -> str:
        if method == "GET":
            return f"Wonolo {what}. Try again in a moment."
        return f"Wonolo {what}; the change may or may not have been made. Check before retrying."

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None = None,
              form: list[tuple[str, str]] | None = None) -> Any:
        """Send with the token; on 401 sign in again once and retry once."""
        query = _flat(params or {})
        body = list(form or [])
        token = self._current_token()
        for attempt in (1, 2):
            if method in ("GET", "DELETE"):
                resp = self._send(method, path, params=query + [("token", token)])
            else:
                resp = self._send(method, path, params=query or None,
                                  form=body + [("token", token)])
            if resp.status_code != 401 or attempt == 2:
                break
            # A 401 means nothing was done, so even a write is safe to resend.
            token = self._refresh_after_401(token)
        return self._handle(resp, method, path)

    def _handle(self, resp: requests.Response, method: str, path: str) -> Any:
        status = resp.status_code
        if 200 <= status < 300:
            if status == 204 or not resp.content.strip():
                return {}
            try:
                return resp.json()
            except ValueError:
                raise WonoloError("Wonolo sent an answer gigdesk could not read.",
                                  status) from None
        what = _describe(path)
        write = method != "GET"
        if status == 401:
            raise WonoloUnauthorized(
                "Wonolo refused the API token even after signing in again (401).", 401)
        if status == 403:
            raise WonoloForbidden(FORBIDDEN_MESSAGE, 403)
        if status == 404:
            raise WonoloNotFound(f"Wonolo has no {what}.", 404)
        if status == 422:
            errors, summary = self._error_details(resp)
            detail = f": {summary}" if summary else "."
            raise WonoloInvalid(f"Wonolo rejected the {what} request{detail}", 422, errors)
        if status == 429:
            raise WonoloError("Wonolo is rate limiting gigdesk; try again in a minute.", 429)
        if status >= 500:
            tail = " The change may not have been made." if write else ""
            raise WonoloServerError(
                f"Wonolo had a server error ({status}); try again later.{tail}", status)
        if 300 <= status < 400:
            raise WonoloError(f"Wonolo answered with an unexpected redirect ({status}).", status)
        raise WonoloError(f"Wonolo refused the request ({status}).", status)

    def _redact(self, value: Any) -> Any:
        """Replace any secret that an error body might echo."""
        if isinstance(value, str):
            for secret in (self._api_key, self._secret_key, self._token):
                if secret:
                    value = value.replace(secret, "[redacted]")
            return value
        if isinstance(value, list):
            return [self._redact(v) for v in value]
        if isinstance(value, dict):
            return {self._redact(k): self._redact(v) for k, v in value.items()}
        return value

    def _error_details(self, resp: requests.Response) -> tuple[Any, str]:
        """(errors, one-line summary) from a 422 body, if it has any."""
        try:
            body = resp.json()
        except ValueError:
            return None, ""
        errors: Any = None
        if isinstance(body, dict):
            for key in ("errors", "error", "message", "messages"):
                if body.get(key):
                    errors = body[key]
                    break
        elif isinstance(body, list):
            errors = body
        if errors is None:
            return None, ""
        errors = self._redact(errors)
        if isinstance(errors, dict):
            parts = []
            for k, v in errors.items():
                msgs = v if isinstance(v, list) else [v]
                parts.append(f"{k} {', '.join(str(m) for m in msgs)}")
            summary = "; ".join(parts)
        elif isinstance(errors, list):
            summary = "; ".join(str(e) for e in errors)
        else:
            summary = str(errors)
        return errors, summary[:200]

    # ----------------------------------------------------------- generic verbs

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call("GET", path, params)

    def _write(self, method: str, path: str, form: list[tuple[str, str]]) -> Any:
        return self._call(method, path, form=form)

    def _list(self, path: str, key: str, params: Mapping[str, Any]) -> list[dict]:
        """Read pages of `per` (<= 50) until a short page; `page=` asks for one page."""
        params = {k: v for k, v in params.items() if v is not None}
        try:
            per = max(1, min(int(params.pop("per", MAX_PER_PAGE)), MAX_PER_PAGE))
        except (TypeError, ValueError):
            raise WonoloInvalid("`per` must be a number.", status=None) from None
        if "page" in params:
            return _unwrap_list(self._get(path, {**params, "per": per}), key)
        out: list[dict] = []
        previous_ids: list[Any] | None = None
        for page in range(1, MAX_PAGES + 1):
            items = _unwrap_list(self._get(path, {**params, "page": page, "per": per}), key)
            ids = [item.get("id") for item in items]
            if items and ids == previous_ids:  # the server ignores `page`: stop, don't loop
                break
            out.extend(items)
            if len(items) < per:
                break
            previous_ids = ids
        else:
            log.warning("Wonolo list %s stopped after %d pages", path, MAX_PAGES)
        return out

    def _fields(self, fields: Mapping[str, Any], what: str) -> dict[str, Any]:
        clean = {k: v for k, v in fields.items() if v is not None}
        if not clean:
            raise WonoloInvalid(f"Nothing to send for the {what}.", status=None)
        return clean

    # ----------------------------------------------------------- info

    def info(self) -> dict:
        """GET /info (no token needed)."""
        resp = self._send("GET", "/info")
        data = self._handle(resp, "GET", "/info")
        return data if isinstance(data, dict) else {"info": data}

    # ----------------------------------------------------------- badges

    def list_badges(self, **filters: Any) -> list[Badge]:
        """All badges visible to this key."""
        return [Badge.from_dict(d) for d in self._list("/badges", "badges", filters)]

    def get_badge(self, id: int | str) -> Badge:
        """One badge."""
        bid = _check_id(id, "badge")
        return Badge.from_dict(_unwrap_obj(self._get(f"/badges/{bid}"), "badge"))

    def create_badge(self, name: str, description: str, info_url: str | None = None,
                     remote_icon_url: str | None = None, is_soft: bool | None = None) -> Badge:
        """Create a badge; name and description are required."""
        _require("A badge", name=name, description=description)
        form = _nested("badge", {"name": name, "description": description, "info_url": info_url,
                                 "remote_icon_url": remote_icon_url, "is_soft": is_soft})
        return Badge.from_dict(_unwrap_obj(self._write("POST", "/badges", form), "badge"))

    def update_badge(self, id: int | str, **fields: Any) -> Badge:
        """PATCH a badge."""
        bid = _check_id(id, "badge")
        form = _nested("badge", self._fields(fields, "badge"))
        return Badge.from_dict(_unwrap_obj(self._write("PATCH", f"/badges/{bid}", form), "badge"))

    def delete_badge(self, id: int | str) -> None:
        """DELETE a badge."""
        bid = _check_id(id, "badge")
        self._call("DELETE", f"/badges/{bid}")

    # ----------------------------------------------------------- customers

    def list_customers(self, **filters: Any) -> list[dict]:
        """Customers of the company (no public field list, so plain dicts)."""
        return self._list("/customers", "customers", filters)

    def get_customer(self, id: int | str) -> dict:
        """One customer."""
        cid = _check_id(id, "customer")
        return _unwrap_obj(self._get(f"/customers/{cid}"), "customer")

    def create_customer(self, **fields: Any) -> dict:
        """Create a customer."""
        form = _nested("customer", self._fields(fields, "customer"))
        return _unwrap_obj(self._write("POST", "/customers", form), "customer")

    def update_customer(self, id: int | str, **fields: Any) -> dict:
        """PATCH a customer."""
        cid = _check_id(id, "customer")
        form = _nested("customer", self._fields(fields, "customer"))
        return _unwrap_obj(self._write("PATCH", f"/customers/{cid}", form), "customer")

    def customer_exists(self, name: str) -> bool:
        """Whether a customer with this name exists (answer shape not public)."""
        _require("A customer lookup", name=name)
        try:
            data = self._get("/customers/exists", {"name": name})
        except WonoloNotFound:
            return False
        if isinstance(data, bool):
            return data
        if isinstance(data, dict):
            for key in ("exists", "exist", "result", "success"):
                if key in data:
                    return bool(to_bool(data[key]))
            return bool(data.get("customer") or data.get("id"))
        return bool(data)

    # ----------------------------------------------------------- job requests

    def list_job_requests(self, state: str | None = None, **filters: Any) -> list[JobRequest]:
        """Job requests, optionally in one state; filters like updated_after pass through."""
        state = _check_state(state, JOB_REQUEST_STATES, "job request")
        items = self._list("/job_requests", "job_requests", {"state": state, **filters})
        return [JobRequest.from_dict(d) for d in items]

    def create_job_request(self, **fields: Any) -> JobRequest:
        """Create a job request (fields nested as job_request[...])."""
        form = _nested("job_request", self._fields(fields, "job request"))
        return JobRequest.from_dict(
            _unwrap_obj(self._write("POST", "/job_requests", form), "job_request"))

    def update_job_request(self, id: int | str, **fields: Any) -> JobRequest:
        """PATCH a job request."""
        jid = _check_id(id, "job request")
        form = _nested("job_request", self._fields(fields, "job request"))
        return JobRequest.from_dict(
            _unwrap_obj(self._write("PATCH", f"/job_requests/{jid}", form), "job_request"))

    def get_job_request(self, id: int | str) -> JobRequest:
        """One job request."""
        jid = _check_id(id, "job request")
        return JobRequest.from_dict(_unwrap_obj(self._get(f"/job_requests/{jid}"), "job_request"))

    def job_request_rankings(self, id: int | str) -> list[dict]:
        """Wonoloers ranked for a job request."""
        jid = _check_id(id, "job request")
        data = self._get(f"/job_requests/{jid}/rankings")
        return _unwrap_list(data, "rankings")

    def resend_notifications(self, id: int | str) -> dict:
        """Ask Wonolo to notify workers about this job request again."""
        jid = _check_id(id, "job request")
        data = self._write("POST", f"/job_requests/{jid}/resend_notifications", [])
        return data if isinstance(data, dict) else {"result": data}

    def re_rank_workers(self, id: int | str) -> dict:
        """Ask Wonolo to re-rank workers for this job request."""
        jid = _check_id(id, "job request")
        data = self._write("POST", f"/job_requests/{jid}/re_rank_workers", [])
        return data if isinstance(data, dict) else {"result": data}

    # ----------------------------------------------------------- jobs

    def list_jobs(self, state: str | None = None, job_request_id: int | str | None = None,
                  **filters: Any) -> list[Job]:
        """Jobs, optionally by state and/or job request."""
        state = _check_state(state, JOB_STATES, "job")
        if job_request_id is not None:
            job_request_id = _check_id(job_request_id, "job request")
        items = self._list("/jobs", "jobs",
                           {"state": state, "job_request_id": job_request_id, **filters})
        return [Job.from_dict(d) for d in items]

    def create_job(self, **fields: Any) -> Job:
        """Create a job (fields nested as job[...])."""
        form = _nested("job", self._fields(fields, "job"))
        return Job.from_dict(_unwrap_obj(self._write("POST", "/jobs", form), "job"))

    def assign_job(self, worker_id: int | str, job_request_id: int | str,
                   requestor_notes: str | None = None) -> Job:
        """Assign a Wonoloer to a job request (POST /jobs/assign)."""
        wid = _check_id(worker_id, "worker")
        jrid = _check_id(job_request_id, "job request")
        form = _nested("job", {"worker_id": wid, "job_request_id": jrid,
                               "requestor_notes": requestor_notes})
        return Job.from_dict(_unwrap_obj(self._write("POST", "/jobs/assign", form), "job"))

    def update_job(self, id: int | str, **fields: Any) -> Job:
        """PATCH a job (state, cancelled_reason, actual_duration, ...)."""
        jid = _check_id(id, "job")
        if "state" in fields:
            fields["state"] = _check_state(fields["state"], JOB_STATES, "job")
        form = _nested("job", self._fields(fields, "job"))
        return Job.from_dict(_unwrap_obj(self._write("PATCH", f"/jobs/{jid}", form), "job"))

    def cancel_job(self, id: int | str, reason: str) -> Job:
        """Cancel a job; Wonolo wants a cancelled_reason (e.g. decided_to_cancel)."""
        _require("Cancelling a job", reason=reason)
        return self.update_job(id, state="cancelled", cancelled_reason=reason.strip())

    def set_actual_duration(self, id: int | str, minutes: int) -> Job:
        """Record how long the job really took, in minutes."""
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise WonoloInvalid(
                "The actual duration must be a whole, non-negative number of minutes.",
                status=None)
        return self.update_job(id, actual_duration=minutes)

    def get_job(self, id: int | str) -> Job:
        """One job."""
        jid = _check_id(id, "job")
        return Job.from_dict(_unwrap_obj(self._get(f"/jobs/{jid}"), "job"))

    # ----------------------------------------------------------- messages

    def list_messages(self, **filters: Any) -> list[Message]:
        """In-app messages (filters such as job_id pass through)."""
        return [Message.from_dict(d) for d in self._list("/messages", "messages", filters)]

    def create_message(self, sender_id: int | str, receiver_id: int | str, job_id: int | str,
                       body: str) -> Message:
        """Send an in-app message about a job."""
        _require("A message", sender_id=sender_id, receiver_id=receiver_id, job_id=job_id,
                 body=body)
        form = _nested("message", {"sender_id": sender_id, "receiver_id": receiver_id,
                                   "job_id": job_id, "body": body})
        return Message.from_dict(_unwrap_obj(self._write("POST", "/messages", form), "message"))

    def get_message(self, id: int | str) -> Message:
        """One message."""
        mid = _check_id(id, "message")
        return Message.from_dict(_unwrap_obj(self._get(f"/messages/{mid}"), "message"))

    # ----------------------------------------------------------- multi-day job requests

    def create_multi_day_job_request(self, **fields: Any) -> dict:
        """Create a multi-day job request (same_workers, repeat_type, repeat_number, ...)."""
        form = _nested("multi_day_job_request", self._fields(fields, "multi-day job request"))
        return _unwrap_obj(self._write("POST", "/multi_day_job_requests", form),
                           "multi_day_job_request")

    def update_multi_day_job_request(self, id: int | str, **fields: Any) -> dict:
        """PATCH a multi-day job request."""
        mid = _check_id(id, "multi-day job request")
        form = _nested("multi_day_job_request", self._fields(fields, "multi-day job request"))
        return _unwrap_obj(self._write("PATCH", f"/multi_day_job_requests/{mid}", form),
                           "multi_day_job_request")

    def get_multi_day_job_request(self, id: int | str) -> dict:
        """One multi-day job request."""
        mid = _check_id(id, "multi-day job request")
        return _unwrap_obj(self._get(f"/multi_day_job_requests/{mid}"), "multi_day_job_request")

    # ----------------------------------------------------------- search

    def search(self, **params: Any) -> dict:
        """GET /search (parameters are not public; passed through as given)."""
        data = self._get("/search", params)
        return data if isinstance(data, dict) else {"results": data}

    # ----------------------------------------------------------- users

    def list_users(self, type: str | None = None, email: str | None = None,
                   **filters: Any) -> list[User]:
        """Users, optionally by type (Worker/Employer), email, names, external_id."""
        if type is not None:
            matches = [t for t in USER_TYPES if t.lower() == str(type).strip().lower()]
            if not matches:
                raise WonoloInvalid("User type must be Worker or Employer.", status=None)
            type = matches[0]
        items = self._list("/users", "users", {"type": type, "email": email, **filters})
        return [User.from_dict(d) for d in items]

    def create_user(self, **fields: Any) -> User:
        """Create a user (fields nested as user[...])."""
        form = _nested("user", self._fields(fields, "user"))
        return User.from_dict(_unwrap_obj(self._write("POST", "/users", form), "user"))

    def invite_user(self, **fields: Any) -> dict:
        """Invite a worker into Wonolo."""
        form = _nested("user", self._fields(fields, "invitation"))
        data = self._write("POST", "/users/invite", form)
        return data if isinstance(data, dict) else {"result": data}

    def update_user(self, id: int | str, **fields: Any) -> User:
        """PATCH a user."""
        uid = _check_id(id, "user")
        form = _nested("user", self._fields(fields, "user"))
        return User.from_dict(_unwrap_obj(self._write("PATCH", f"/users/{uid}", form), "user"))

    def get_user(self, id: int | str) -> User:
        """One user."""
        uid = _check_id(id, "user")
        return User.from_dict(_unwrap_obj(self._get(f"/users/{uid}"), "user"))

    def user_tracking(self, id: int | str) -> dict:
        """Tracking data for a user."""
        uid = _check_id(id, "user")
        data = self._get(f"/users/{uid}/tracking")
        return data if isinstance(data, dict) else {"tracking": data}

    def sync_auth_token(self, **fields: Any) -> dict:
        """POST /sync_auth_token for an external user (fields sent flat: not documented)."""
        data = self._write("POST", "/sync_auth_token", _flat(self._fields(fields, "token sync")))
        return data if isinstance(data, dict) else {"result": data}
