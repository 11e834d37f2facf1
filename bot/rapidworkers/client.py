"""RapidWorkers API client: one method per endpoint, over the budgeted, retrying sessions.

The package in rooms:
* errors.py: what the API answered, as exceptions a person can act on;
* models.py: the API's records (Campaign, Submission, ...) and their tolerant parsing;
* inputs.py: what is checked before a call (ids, countries, links, statuses) and a job's money;
* transport.py: the request budget and the two retrying sessions (safe and money);
* client.py (here): RapidWorkersClient. Every public name of the package is importable from here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from bot.apiclient.coerce import (
    to_decimal,
    to_int,
    to_str,
)
from bot.apiclient.fields import from_api
from bot.observability import metrics
from bot.rapidworkers.errors import (
    _FALLBACK_MESSAGES,
    BadRequest,
    BudgetExhausted,
    Forbidden,
    InvalidInput,
    NetworkError,
    NotFound,
    RapidWorkersError,
    RateLimited,
    ServerError,
    Unauthorized,
)
from bot.rapidworkers.inputs import (
    CAMPAIGN_STATUSES,
    COMMISSION_RATE,
    ISO_COUNTRIES,
    MIN_PREFILLED_QUANTITY,
    PREFILLED_KINDS,
    PREFILLED_UNIT_PRICE,
    SUBMISSION_STATUSES,
    _norm_language,
    _norm_status,
    _pay_rate,
    _quantity,
    _require_id,
    _require_submission_id,
    _require_text,
    custom_job_cost,
    prefilled_cost,
    validate_countries,
    validate_link,
)
from bot.rapidworkers.models import (
    BlockedWorker,
    Campaign,
    CreatedJob,
    Decision,
    ProofImage,
    Submission,
    _campaign,
    _decision,
    _get,
    _items,
    _lookup,
    _submissions_page,
)
from bot.rapidworkers.transport import (
    _CALL,
    RequestBudget,
    _CallContext,
    _money_retry,
    _mount,
    _network_message,
    _never_reached,
    _retry_after_seconds,
    _safe_retry,
    _Shared,
)

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
_MAX_PAGES = 1000  # guard against a server whose "next" never ends
_MAX_IMAGE_BYTES = 10 * 1024 * 1024


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

