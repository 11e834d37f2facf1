"""/rw audit: who did what and when, newest first, PAGE_SIZE a page, with names instead of ids.

`/rw audit [@user | worker <id> | campaign <title or id start>] [since YYYY-MM-DD]`

The Previous / Next / CSV buttons carry only the page and the filter, as compact JSON
(`page_value`); a click is checked field by field (`parse_page_value`) before anything is read,
and the filter is applied again from it, so a forged value can only ask for a page it could have
typed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from bot.errors import UserError
from bot.slack.mrkdwn import escape, truncate
from storage.rows import AuditEntry

PAGE_SIZE = 20
USAGE = "/rw audit [@user | worker <id> | campaign <title or id start>] [since YYYY-MM-DD]"
USER_MENTION = re.compile(r"^<@([UW][A-Z0-9_]{2,})(?:\|[^>]*)?>$")
USER_ID = re.compile(r"^[UW][A-Z0-9_]{2,30}$")
WORKER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_PREFIX = 100
MAX_VALUE = 400  # a button value is at most 2,000 characters; ours stay far below
_PREFIX_OK = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")

# What each audited action is called in the listing (an action not named here shows as recorded).
ACTION_LABELS = {
    "approve": "approve", "reject": "reject", "block": "block worker", "unblock": "unblock worker",
    "recover": "settle at start", "route": "route", "digest": "post the digest", "post-pending": "post pending",
    "job-prefilled": "prefilled job", "job-custom": "custom campaign", "approve-all": "approve all",
    "confirm": "confirm a spend", "spend": "spend report", "audit": "audit", "worker": "worker history",
    "wonolo-book": "Wonolo booking", "wonolo-invite-worker": "Wonolo invitation",
    "wonolo-unfilled-alert": "unfilled-shift alert", "wonolo-assign-worker": "assign Wonolo worker",
    "wonolo-cancel-request": "cancel Wonolo request", "wonolo-cancel-job": "cancel Wonolo job",
    "wonolo-resend-notifications": "resend Wonolo notifications", "wonolo-rerank-workers": "re-rank Wonolo workers",
    "wonolo-message-worker": "message Wonolo worker",
}


@dataclass(frozen=True)
class AuditQuery:
    """What a person asked for: one of user / worker / campaign (a title or id start), and since (local date)."""

    user_id: str | None = None
    user_typed: str | None = None  # `@name` not yet resolved to an id
    worker_id: str | None = None
    campaign: str | None = None
    since: date | None = None

    def describe(self) -> str:
        """The filter in words (mrkdwn; a user as a mention)."""
        parts = []
        if self.user_id:
            parts.append(f"by <@{self.user_id}>")
        if self.worker_id:
            parts.append(f"about worker `{escape(self.worker_id)}`")
        if self.campaign:
            parts.append(f"about campaigns starting with “{truncate(escape(self.campaign), 60)}”")
        if self.since:
            parts.append(f"since {self.since:%-d %b %Y}")
        return ", ".join(parts) or "everything"


def usage_error(message: str) -> UserError:
    return UserError(f"{message}\nUsage: `{escape(USAGE)}`")


def parse(args: list[str]) -> AuditQuery:
    """The command's words -> an AuditQuery (UserError with the usage line when they make none)."""
    words = list(args)
    since = None
    lowered = [w.lower() for w in words]
    if "since" in lowered:
        at = lowered.index("since")
        if at != len(words) - 2:
            raise usage_error("`since` takes one date, at the end.")
        since = parse_date(words[-1])
        words = words[:at]
    if not words:
        return AuditQuery(since=since)
    head = words[0].lower()
    if head == "worker":
        if len(words) != 2 or not WORKER_ID.match(words[1]):
            raise usage_error("Give one worker id after `worker`.")
        return AuditQuery(worker_id=words[1], since=since)
    if head == "campaign":
        prefix = " ".join(words[1:]).strip()
        if not prefix:
            raise usage_error("Give the start of a campaign's title (or its id) after `campaign`.")
        if len(prefix) > MAX_PREFIX:
            raise usage_error("That is longer than any campaign title.")
        return AuditQuery(campaign=prefix, since=since)
    if len(words) == 1:
        found = USER_MENTION.match(words[0])
        if found:
            return AuditQuery(user_id=found.group(1), since=since)
        if USER_ID.match(words[0]):
            return AuditQuery(user_id=words[0], since=since)
        if words[0].startswith("@") and 1 < len(words[0]) <= 80:
            return AuditQuery(user_typed=words[0][1:], since=since)
    raise usage_error(f"I do not know the filter `{truncate(escape(' '.join(words)), 60)}`.")


def parse_date(text: str) -> date:
    if not DATE.match(text or ""):
        raise usage_error(f"`{truncate(escape(text), 30)}` is not a date like 2025-05-01.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise usage_error(f"`{escape(text)}` is not a real date.") from None


# --- the buttons' values --------------------------------------------------------------------


# The filters a page button may carry (besides "p", the page), each with its shape.
_PAGE_FILTERS = {"u": USER_ID, "w": WORKER_ID, "c": _PREFIX_OK, "s": DATE}


def page_value(query: AuditQuery, page: int) -> str:
    """What Previous / Next / CSV carry: the page and the (resolved) filter, nothing else."""
    data: dict[str, object] = {"p": page}
    if query.user_id:
        data["u"] = query.user_id
    if query.worker_id:
        data["w"] = query.worker_id
    if query.campaign:
        data["c"] = query.campaign
    if query.since:
        data["s"] = query.since.isoformat()
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _page_fields(value: str) -> dict | None:
    """The button value's JSON object, each filter field a string of its own shape; None otherwise."""
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) - {"p", *_PAGE_FILTERS}:
        return None
    for key, shape in _PAGE_FILTERS.items():
        found = data.get(key)
        if found is not None and not (isinstance(found, str) and shape.match(found)):
            return None
    return data


def parse_page_value(value: str) -> tuple[AuditQuery, int] | None:
    """A button's value back into (query, page); None for anything our buttons never carry."""
    data = _page_fields(value)
    if data is None:
        return None
    page, since = data.get("p"), data.get("s")
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= 100_000:
        return None
    if sum(data.get(k) is not None for k in ("u", "w", "c")) > 1:  # one filter at a time
        return None
    try:
        day = date.fromisoformat(since) if since is not None else None
    except ValueError:
        return None
    return AuditQuery(user_id=data.get("u"), worker_id=data.get("w"), campaign=data.get("c"), since=day), page


# --- one entry in words -------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """What the ids of one page's entries stand for (read once per page)."""

    submissions: dict[int, dict]
    campaigns: dict[str, str | None]
    offers: dict[str, dict]
    workers: dict[str, str]


@dataclass(frozen=True)
class Described:
    """An entry in plain words (escape before showing in mrkdwn)."""

    action: str
    about: str
    outcome: str
    detail: str
    amount: str | None


_SLACK_USER_IN_TEXT = re.compile(r"\b([UW][A-Z0-9]{6,})\b")
_WORKER_DETAIL = re.compile(r"^worker (\S+)$")


def _offer_about(offer: dict) -> str:
    params = offer.get("params") or {}
    if offer.get("action") == "approve-all":
        return f"approve all of {params.get('title') or 'a campaign'}"
    if offer.get("action") == "prefilled":
        return f"{params.get('kind', 'prefilled')} job for {params.get('link', '?')}"
    if offer.get("action") == "custom":
        return f"campaign {params.get('title') or '?'}"
    return str(params.get("title") or params.get("summary") or offer.get("action") or "a spend")


def about(entry: AuditEntry, names: Names) -> str:
    """What the entry acted on, by name: a submission's campaign and worker, a campaign's title, an offer."""
    target = entry.target or ""
    if target.isdigit() and int(target) in names.submissions:
        s = names.submissions[int(target)]
        worker = s.get("worker_name") or "a worker"
        title = s.get("campaign_title") or names.campaigns.get(s.get("campaign_id") or "") or "a campaign"
        return f"submission {target} of {title} by {worker}"
    if target in names.campaigns:
        return names.campaigns[target] or "a campaign"
    if target in names.offers:
        return _offer_about(names.offers[target])
    if target in names.workers:
        return f"worker {names.workers[target]}"
    return target


def describe(entry: AuditEntry, names: Names) -> Described:
    detail = entry.detail or ""
    found = _WORKER_DETAIL.match(detail)
    if found and found.group(1) in names.workers:
        detail = f"worker {names.workers[found.group(1)]}"
    if detail.startswith("confirmation "):
        detail = ""  # the offer itself is named in `about`
    return Described(action=ACTION_LABELS.get(entry.action, entry.action), about=about(entry, names),
                     outcome=entry.outcome, detail=detail, amount=entry.amount)


def mrkdwn_detail(text: str) -> str:
    """Escaped, with the Slack user ids it mentions (second approvals…) as mentions, shown as names."""
    return _SLACK_USER_IN_TEXT.sub(lambda m: f"<@{m.group(1)}>", escape(text))


def ids_to_name(entries: list[AuditEntry]) -> tuple[list[int], list[str], list[str]]:
    """(submission ids, every target and worker id, offer id prefixes) these entries name, for one read each."""
    submissions = [int(e.target) for e in entries if e.target and e.target.isdigit() and len(e.target) <= 18]
    targets = [e.target for e in entries if e.target]  # a worker id is digits too (/rw block 10042)
    workers = [m.group(1) for e in entries if e.detail and (m := _WORKER_DETAIL.match(e.detail))]
    return submissions, targets + workers, [t for t in targets if len(t) == 8 and not t.isdigit()]
