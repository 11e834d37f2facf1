"""Finding a campaign without its id: title prefixes, type-ahead, list order and pages.

Pure functions over the campaign list (bot.rapidworkers.client.Campaign
objects, which come from CommandService's 30 s answer cache): nothing here
calls RapidWorkers or Slack.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.text import closest

# Most pending first: the list is where reviewers go to see what needs them,
# and a campaign with submissions waiting is what needs them; newest breaks ties.
# "newest" is the other order (what did we just create?), on request.
SORTS = ("most-pending", "newest")
DEFAULT_SORT = "most-pending"
SORT_WORDS = {"newest": "newest", "new": "newest", "latest": "newest", "recent": "newest",
              "most-pending": "most-pending", "busiest": "most-pending"}
STATUS_WORDS = ("all", "active", "pending", "completed", "canceled")

PAGE_ROWS = 10  # campaigns on one page of /rw campaigns (two blocks each)
MAX_PAGE = 1000  # a pager value past this is forged
MAX_CANDIDATES = 10  # listed when a prefix matches several campaigns
MAX_OPTIONS = 100  # Slack shows at most 100 options in an external select
OPTION_TEXT = 75  # Slack's limit for an option's text

# What a button, menu option or type-ahead option carries for a campaign: its id when short and
# plain (a UUID), else a key. Slack allows 150 characters in an option value (75 more go to the
# row menu's "<what>|"), and RapidWorkers does not bound its ids.
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEY_MARK = "~"  # never in an id (ids are [A-Za-z0-9_-]), so a key is never read as one
KEY_VALUE = re.compile(r"^~[A-Za-z0-9_-]{22}$")

_PAGE_VALUE = re.compile(rf"^([1-9][0-9]{{0,3}})\|({'|'.join(SORTS)})\|({'|'.join(STATUS_WORDS)})$")
_OLDEST = datetime.min.replace(tzinfo=UTC)


def folded(text: object) -> str:
    """Case- and spacing-insensitive form used for comparing titles."""
    return " ".join(str(text or "").split()).casefold()


def _created(c) -> datetime:
    at = getattr(c, "created_at", None)
    if not isinstance(at, datetime):
        return _OLDEST
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def ordered(campaigns: list, sort: str) -> list:
    """`most-pending`: most pending submissions first, newest first among equals; `newest`: newest first."""
    if sort == "newest":
        return sorted(campaigns, key=lambda c: (_created(c), c.pending), reverse=True)
    return sorted(campaigns, key=lambda c: (c.pending, _created(c)), reverse=True)


def campaign_value(campaign_id: str) -> str:
    """The value a campaign rides in: its id when it is short and plain, else `~` and 22 characters
    of its SHA-256 (the caller stores key -> id so a click finds the campaign again)."""
    if PLAIN_VALUE.fullmatch(campaign_id):
        return campaign_id
    digest = base64.urlsafe_b64encode(hashlib.sha256(campaign_id.encode()).digest()).decode()
    return KEY_MARK + digest[:22]


def page_value(page: int, sort: str, status: str) -> str:
    """What a pager button carries: page number, order, status filter — nothing else."""
    return f"{page}|{sort}|{status}"


def parse_page_value(value: object) -> tuple[int, str, str] | None:
    """(page, sort, status word) of a pager button, or None when it is not one we made."""
    if not isinstance(value, str):
        return None
    m = _PAGE_VALUE.fullmatch(value)
    if m is None or int(m.group(1)) > MAX_PAGE:
        return None
    return int(m.group(1)), m.group(2), m.group(3)


@dataclass
class Found:
    """The result of looking a campaign up by id or title prefix."""

    campaign: Any = None  # the one match (a Campaign)
    candidates: list = field(default_factory=list)  # several matches: nothing happens, they are listed
    near: str | None = None  # no match: the closest title, for "did you mean"


def find(query: str, campaigns: list) -> Found:
    """An exact id, else a unique case-insensitive title prefix (an exact title wins among several)."""
    wanted = folded(query)
    if not wanted:
        return Found()
    by_id = [c for c in campaigns if str(c.id).casefold() == wanted]
    if by_id:
        return Found(campaign=by_id[0])
    starting = [c for c in campaigns if folded(c.title).startswith(wanted)]
    if len(starting) == 1:
        return Found(campaign=starting[0])
    exact = [c for c in starting if folded(c.title) == wanted]
    if len(exact) == 1:
        return Found(campaign=exact[0])
    if starting:
        return Found(candidates=starting)
    return Found(near=_near(wanted, campaigns))


def _near(wanted: str, campaigns: list) -> str | None:
    """The title whose start is closest to what was typed."""
    starts: dict[str, str] = {}
    for c in campaigns:
        start = folded(c.title)[: len(wanted)]
        if start:
            starts.setdefault(start, c.title)
    found = closest(wanted, starts)
    return starts[found] if found is not None else None


def suggestions(query: str, campaigns: list, *, limit: int = MAX_OPTIONS) -> list:
    """Type-ahead: title prefix matches, then titles containing it, then id prefixes; most pending first."""
    wanted = folded(query)
    if not wanted:
        return []
    ranked = ordered(campaigns, DEFAULT_SORT)
    tiers: list[list] = [[], [], []]
    for c in ranked:
        title = folded(c.title)
        if title.startswith(wanted):
            tiers[0].append(c)
        elif wanted in title:
            tiers[1].append(c)
        elif str(c.id).casefold().startswith(wanted):
            tiers[2].append(c)
    return (tiers[0] + tiers[1] + tiers[2])[:limit]
