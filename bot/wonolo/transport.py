"""The Wonolo connection: the session and its retries, sign-in and token refresh, form
encoding, pages, and HTTP answers turned into bot.wonolo.errors. Secrets (API key, secret
key, token) never reach logs, exceptions or reprs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.apiclient.coerce import to_datetime
from bot.apiclient.fields import is_safe_id
from bot.observability import metrics
from bot.wonolo.errors import (
    FORBIDDEN_MESSAGE,
    WonoloError,
    WonoloForbidden,
    WonoloInvalid,
    WonoloNetworkError,
    WonoloNotFound,
    WonoloServerError,
    WonoloUnauthorized,
)

log = logging.getLogger("gigdesk.wonolo")

API_PREFIX = "/api_v2"
TEST_BASE_URL = "https://test.wonolo.com"
LIVE_BASE_URL = "https://api.wonolo.com"

MAX_PER_PAGE = 50          # Wonolo caps `per` at 50
MAX_PAGES = 400            # 20,000 items: a guard against a server that ignores `page`
REAUTH_MARGIN = 300.0      # refresh the token when less than 5 minutes remain
MIN_TOKEN_REUSE = 60.0     # never re-authenticate proactively more than once a minute
DEFAULT_TOKEN_TTL = 86400.0


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


def flat_form(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in params.items():
        out += _encode(str(k), v)
    return out


def nested_form(resource: str, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, v in fields.items():
        out += _encode(f"{resource}[{k}]", v)
    return out


def check_id(value: Any, what: str) -> str:
    """Ids go into URL paths: accept only plain tokens (no '/', '..', spaces)."""
    if isinstance(value, bool) or value is None:
        raise WonoloInvalid(f"A {what} id is required.", status=None)
    text = str(value).strip()
    if not is_safe_id(text):
        raise WonoloInvalid(f"That is not a valid {what} id.", status=None)
    return text


def require_fields(what: str, **values: Any) -> None:
    missing = [k for k, v in values.items() if v is None or (isinstance(v, str) and not v.strip())]
    if missing:
        raise WonoloInvalid(f"{what} needs: {', '.join(missing)}.", status=None,
                            errors={k: ["is required"] for k in missing})


def check_state(state: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if state is None:
        return None
    norm = str(state).strip().lower()
    if norm not in allowed:
        shown = str(state)[:30]
        raise WonoloInvalid(
            f"Unknown {what} state “{shown}”. Use one of: {', '.join(allowed)}.", status=None)
    return norm


def unwrap_list(data: Any, key: str) -> list[dict]:
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


def unwrap_obj(data: Any, key: str) -> dict:
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




class WonoloTransport:
    """Signs in, keeps the token fresh and sends; WonoloClient adds the endpoints."""

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
        return f"{type(self).__name__}(base_url={self.base_url!r}, authenticated={self._token is not None})"

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
        query = flat_form(params or {})
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
            return unwrap_list(self._get(path, {**params, "per": per}), key)
        out: list[dict] = []
        previous_ids: list[Any] | None = None
        for page in range(1, MAX_PAGES + 1):
            items = unwrap_list(self._get(path, {**params, "page": page, "per": per}), key)
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
