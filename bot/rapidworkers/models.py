"""RapidWorkers API models and their tolerant parsing.

The only documentation of the API (``seeds/rapidworkers-api.txt``) contradicts itself about
response shapes and key spelling, so every parser here goes through one tolerant key lookup
(:func:`_get`) and accepts each documented form.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.apiclient.coerce import (
    to_count,
    to_datetime,
    to_decimal,
    to_int,
    to_percent,
    to_text,
)
from bot.apiclient.fields import api_field, from_api
from bot.rapidworkers.errors import RapidWorkersError

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
