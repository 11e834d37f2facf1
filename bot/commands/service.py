"""`/rw`: parsing and validating the command text, and every money rule, once.

Listeners (handlers/rw_command.py) only ack, call one method here and show
the returned Reply (or open the returned modal).

Money rules:

* job creation and approve-all first *offer*: what will happen, the cost,
  the balance before and after, Confirm / Cancel. The offer is a row in the
  `confirmations` table (random id, 10-minute expiry); the Confirm button
  carries that id and nothing else, so the parameters always come from the DB.
* Confirm takes the row atomically (offered -> executing) — once, only by
  the user who asked, only before it expires, only within the daily spending
  limit — and only then calls the API. Above GIGDESK_SECOND_APPROVAL_ABOVE the
  requester's Confirm only asks (offered -> awaiting_second, posted in the
  review channel) and a second, different spender's Confirm runs it
  (bot/spending/rules.py has the rules on who may spend and the limits;
  bot/spending/offers.py the offer state machine, shared with /wonolo book).
* Approve-all offers exactly the pending submissions it listed (flagged ones
  only when the user explicitly includes them) and Confirm approves those
  still pending one by one, each through the same decided-once guard as a
  click, within the hourly request budget; never `bulk_action`, which would
  pay for submissions nobody saw.
* A money call that certainly did not take effect (400, 401, 403, 404, 429,
  connection refused) puts the offer back to 'offered' so Confirm can be
  clicked again; after a 5xx or a timeout it is 'failed' and never retried
  behind the user's back (the job may exist: check `/rw campaigns`).
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from slack_sdk.errors import SlackApiError

from bot.commands import blocks as ui
from bot.commands import finder
from bot.commands.fair_use import Allowance, AnswerCache, SingleFlight
from bot.config import CHANNEL_ID
from bot.errors import UserError
from bot.forensics.blocks import worker_message
from bot.observability import metrics
from bot.permissions import require_allowed
from bot.rapidworkers.client import (
    MIN_PREFILLED_QUANTITY,
    PREFILLED_KINDS,
    PREFILLED_UNIT_PRICE,
    BadRequest,
    BudgetExhausted,
    Campaign,
    Forbidden,
    InvalidInput,
    NetworkError,
    NotFound,
    RapidWorkersError,
    RateLimited,
    ServerError,
    Unauthorized,
    custom_job_cost,
    prefilled_cost,
    validate_countries,
    validate_link,
)
from bot.slack.mrkdwn import escape, mention, money, truncate
from bot.slack.replies import OpenModal, Reply
from bot.spending.offers import CONFIRM_MINUTES, SpendOffers
from bot.spending.rules import SECOND_APPROVAL_HOURS, SpendingRules, cents
from bot.text import suggest
from storage import forensics as proof_records
from storage import records
from storage.db import utcnow
from storage.rows import Offer

T = TypeVar("T")
log = logging.getLogger("gigdesk.commands")

BULK_PROGRESS_FROM = 6  # bulk approvals of at least this many show progress (a few response_url updates)
BULK_LEAVES_FREE = 2  # × the budget's interactive reserve (at most half the budget): left for the sync and single clicks
MAX_QUANTITY = 100_000
MAX_PAY_RATE = Decimal("1000")
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_CACHE_SECONDS = CONFIRM_MINUTES * 60 + 60
TYPE_AHEAD_WAIT = 1.5  # s a cold type-ahead waits for RapidWorkers: Slack drops an options answer after 3 s
MAX_IMAGE_REDIRECTS = 3

SUBCOMMANDS = ("help", "balance", "campaigns", "campaign", "job", "new", "approve-all", "blocked", "block", "unblock", "digest", "worker",
               "route", "routes", "spend", "audit")
ALIASES = {
    "?": "help", "-h": "help", "--help": "help", "usage": "help",
    "approveall": "approve-all", "approve_all": "approve-all", "bulk-approve": "approve-all",
}
STATUSES = {"active": "Active", "pending": "Pending", "completed": "Completed", "canceled": "Canceled", "cancelled": "Canceled", "all": None}

# The site a prefilled kind's link must be on: the host is the domain or ends
# with "." + the domain (www., m., …); evil-instagram.com is not instagram.com.
KIND_DOMAINS = {
    "facebook": ("facebook.com", "fb.com"),
    "instagram": ("instagram.com",),
    "twitter": ("twitter.com", "x.com"),
    "trustpilot": ("trustpilot.com",),
    "9gag": ("9gag.com",),
    "youtube": ("youtube.com", "youtu.be"),
}

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
CONFIRMATION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FILE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")
SLACK_LINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^|>\s]*)(?:\|[^>]*)?>", re.IGNORECASE)
LINK_FORBIDDEN = set('\\<>"{}|^`')
ALL_COUNTRIES = {"all", "any", "*", "-", "everywhere"}

ACTION_LABEL = {"prefilled": "job-prefilled", "custom": "job-custom", "approve-all": "approve-all"}


def _reply(pair: tuple[str, list[dict]], *, replace: bool = False) -> Reply:
    text, blocks = pair
    return Reply(text, blocks, replace)


def problem(message: str, usage: str | None = None) -> Reply:
    """A short explanation of what is wrong (mrkdwn), plus the usage line."""
    text = f":warning: {message}"
    if usage:
        text += f"\nUsage: {ui.usage_line(usage)}"
    return _reply(ui.text_message(truncate(text, 2900)))


class BadInput(UserError):
    """Bad command input; `usage` names the usage line to show with it."""

    def __init__(self, message: str, usage: str | None = None):
        super().__init__(message)
        self.usage = usage


def shown(text: object, limit: int = 60) -> str:
    """User or API text echoed back: escaped and short."""
    return truncate(escape(" ".join(str(text).split())), limit)


# --- parsing (pure) -----------------------------------------------------------------


def unwrap(text: str) -> str:
    """Slack's <https://…|label> and <https://…> become the bare URL; &amp; &lt; &gt; are undone."""
    text = SLACK_LINK_RE.sub(lambda m: m.group(1), text or "")
    return html.unescape(text) if "&" in text else text


def split_command(text: str) -> tuple[str, list[str]]:
    """(subcommand lower-cased, arguments); empty text is 'help'."""
    tokens = unwrap(text).split()
    if not tokens:
        return "help", []
    name = tokens[0].lower()
    return ALIASES.get(name, name), tokens[1:]


def opens_modal(text: str) -> bool:
    """`/rw job`, `/rw new`, `/rw approve-all` and `/rw campaign` alone open a form (the listener does it at once, while the trigger is fresh)."""
    name, args = split_command(text)
    return not args and name in ("job", "new", "approve-all", "campaign")


def kind_domains(kind: str) -> tuple[str, ...]:
    return KIND_DOMAINS[kind.split("-", 1)[0]]


def check_kind(kind: str) -> str:
    kind = (kind or "").strip().lower()
    if kind not in PREFILLED_KINDS:
        raise BadInput(f"Unknown job kind `{shown(kind, 40)}`.{suggest(kind, PREFILLED_KINDS)} Kinds: {ui.JOB_KINDS_HELP}.", "job")
    return kind


def check_link(kind: str, link: str) -> str:
    """An http(s) link on the kind's own site."""
    link = (link or "").strip()
    if not link:
        raise BadInput("A link is required.", "job")
    if not re.match(r"^https?://", link, re.IGNORECASE):
        raise BadInput(f"The link must start with http:// or https:// (got `{shown(link)}`).", "job")
    if any(c in LINK_FORBIDDEN for c in link):
        raise BadInput("The link contains characters a URL cannot have.", "job")
    try:
        link = validate_link(link)
        host = (urlsplit(link).hostname or "").rstrip(".").lower()
    except (InvalidInput, ValueError) as e:
        raise BadInput(escape(str(e)), "job") from None
    domains = kind_domains(kind)
    if not any(host == d or host.endswith("." + d) for d in domains):
        raise BadInput(f"{'An' if kind[0] in 'aeiou' else 'A'} {kind} link must be on {' or '.join(domains)}, not `{shown(host)}`.", "job")
    return link


def check_quantity(raw: str | None) -> int:
    if raw is None or not str(raw).strip():
        raise BadInput(f"The quantity is missing (at least {MIN_PREFILLED_QUANTITY}).", "job")
    text = str(raw).strip().replace(",", "").replace("_", "")
    if not re.fullmatch(r"[0-9]{1,12}", text):
        raise BadInput(f"The quantity must be a whole number, not `{shown(raw, 30)}`.", "job")
    quantity = int(text)
    if quantity < MIN_PREFILLED_QUANTITY:
        raise BadInput(f"The quantity must be at least {MIN_PREFILLED_QUANTITY} (got {quantity}).", "job")
    if quantity > MAX_QUANTITY:
        raise BadInput(f"The quantity must be at most {MAX_QUANTITY:,} (got {quantity:,}).", "job")
    return quantity


def check_countries(raw: str | list[str] | None, usage: str | None = "job") -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        if raw.strip().lower() in ALL_COUNTRIES or not raw.strip():
            return []
    try:
        return validate_countries(raw)
    except InvalidInput as e:
        raise BadInput(escape(str(e)), usage) from None


def check_language(raw: str | None, usage: str | None = "job") -> str | None:
    if raw is None or not raw.strip():
        return None
    if not LANGUAGE_RE.match(raw.strip()):
        raise BadInput(f"The language must be a code like `en` or `pt-BR`, not `{shown(raw, 30)}`.", usage)
    return raw.strip()


def parse_job_args(args: list[str]) -> dict:
    """`<kind> <link> <quantity> [CC,CC…] [language]` -> validated params."""
    kind = check_kind(args[0])
    link = check_link(kind, args[1] if len(args) > 1 else "")
    quantity = check_quantity(args[2] if len(args) > 2 else None)
    rest = re.sub(r"\s*,\s*", ",", " ".join(args[3:])).split()
    if len(rest) > 2:
        raise BadInput("Too many words after the quantity: give countries as one list like `US,GB`, then the language.", "job")
    try:
        countries = check_countries(rest[0]) if rest else []
    except BadInput as e:
        if len(rest) == 1 and LANGUAGE_RE.match(rest[0]) and "," not in rest[0]:
            raise BadInput(f"{e} To give only a language, put `all` before it: `… {quantity} all {shown(rest[0], 10)}`.", "job") from None
        raise
    language = check_language(rest[1]) if len(rest) > 1 else None
    return {"kind": kind, "link": link, "quantity": quantity, "countries": countries, "language": language}


def check_id(raw: str | None, what: str, usage: str) -> str:
    if raw is None or not raw.strip():
        raise BadInput(f"The {what} is missing.", usage)
    value = raw.strip()
    if not ID_RE.match(value):
        raise BadInput(f"`{shown(value, 40)}` is not a valid {what}.", usage)
    return value


def channel_from_metadata(private_metadata: str | None, fallback: str) -> str:
    """The channel a modal was opened from; the review channel if missing or odd."""
    try:
        data = json.loads(private_metadata or "{}")
        channel = data.get("channel") if isinstance(data, dict) else None
    except ValueError:
        channel = None
    return channel if isinstance(channel, str) and CHANNEL_ID.match(channel) else fallback


def _input(values: dict, block_id: str) -> dict:
    found = (values or {}).get(block_id) or {}
    return found.get(ui.INPUT) or (next(iter(found.values()), {}) if isinstance(found, dict) and found else {}) or {}


def _text(values: dict, block_id: str) -> str:
    value = _input(values, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def _selected(values: dict, block_id: str) -> list[str]:
    item = _input(values, block_id)
    options = item.get("selected_options")
    if options is None and item.get("selected_option"):
        options = [item["selected_option"]]
    return [str(o.get("value")) for o in options or [] if isinstance(o, dict) and o.get("value")]


def _countries_from_view(values: dict, errors: dict) -> list[str]:
    picked = _selected(values, ui.COUNTRIES_BLOCK)
    more = _text(values, ui.MORE_COUNTRIES_BLOCK)
    try:
        codes = check_countries(picked, None)
    except BadInput as e:
        errors[ui.COUNTRIES_BLOCK] = html.unescape(str(e))[:150]
        codes = []
    if more:
        try:
            codes += [c for c in check_countries(more, None) if c not in codes]
        except BadInput as e:
            errors[ui.MORE_COUNTRIES_BLOCK] = html.unescape(str(e))[:150]
    return codes


def _field_error(e: BadInput) -> str:
    # Modal errors are plain text: undo the mrkdwn escaping and code marks.
    return html.unescape(str(e)).replace("`", "")[:150]


def parse_job_view(values: dict) -> tuple[dict, dict[str, str]]:
    """The job modal's values -> (params, errors by block_id)."""
    errors: dict[str, str] = {}
    params: dict = {}
    kinds = _selected(values, ui.JOB_KIND_BLOCK)
    try:
        params["kind"] = check_kind(kinds[0] if kinds else "")
    except BadInput:
        errors[ui.JOB_KIND_BLOCK] = "Pick one of the job kinds."
    if "kind" in params:
        try:
            params["link"] = check_link(params["kind"], _text(values, ui.JOB_LINK_BLOCK))
        except BadInput as e:
            errors[ui.JOB_LINK_BLOCK] = _field_error(e)
    try:
        params["quantity"] = check_quantity(_text(values, ui.JOB_QUANTITY_BLOCK))
    except BadInput as e:
        errors[ui.JOB_QUANTITY_BLOCK] = _field_error(e)
    params["countries"] = _countries_from_view(values, errors)
    try:
        params["language"] = check_language(_text(values, ui.LANGUAGE_BLOCK), None)
    except BadInput as e:
        errors[ui.LANGUAGE_BLOCK] = _field_error(e)
    return params, errors


def parse_new_view(values: dict) -> tuple[dict, dict[str, str]]:
    """The custom campaign modal's values -> (params, errors by block_id)."""
    errors: dict[str, str] = {}
    params: dict = {}
    for block, key, limit in (
        (ui.NEW_TITLE_BLOCK, "title", 200),
        (ui.NEW_DESCRIPTION_BLOCK, "description", 3000),
        (ui.NEW_PROOF_BLOCK, "proof_required_description", 3000),
        (ui.NEW_CATEGORY_BLOCK, "category", 100),
    ):
        value = _text(values, block)
        if not value:
            errors[block] = "This is required."
        elif len(value) > limit:
            errors[block] = f"At most {limit} characters."
        params[key] = value
    sub = _text(values, ui.NEW_SUB_CATEGORY_BLOCK)
    if len(sub) > 100:
        errors[ui.NEW_SUB_CATEGORY_BLOCK] = "At most 100 characters."
    params["sub_category"] = sub or None

    raw_pay = _text(values, ui.NEW_PAY_BLOCK).lstrip("$").strip()
    try:
        pay = Decimal(raw_pay)
        if not pay.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[ui.NEW_PAY_BLOCK] = "Enter an amount like 0.50."
    else:
        if pay <= 0:
            errors[ui.NEW_PAY_BLOCK] = "The pay rate must be more than $0."
        elif pay > MAX_PAY_RATE:
            errors[ui.NEW_PAY_BLOCK] = f"The pay rate must be at most {money(MAX_PAY_RATE)}."
        elif pay != pay.quantize(Decimal("0.01")):
            errors[ui.NEW_PAY_BLOCK] = "Use at most 2 decimal places (whole cents)."
        else:
            params["pay_rate"] = str(pay.quantize(Decimal("0.01")))

    raw_n = _text(values, ui.NEW_AVAILABILITIES_BLOCK).replace(",", "")
    if not re.fullmatch(r"[0-9]{1,12}", raw_n):
        errors[ui.NEW_AVAILABILITIES_BLOCK] = "Enter a whole number of tasks."
    elif not 1 <= int(raw_n) <= MAX_QUANTITY:
        errors[ui.NEW_AVAILABILITIES_BLOCK] = f"Between 1 and {MAX_QUANTITY:,}."
    else:
        params["total_availabilities"] = int(raw_n)

    params["countries"] = _countries_from_view(values, errors)
    params["approve_once_full"] = bool(_selected(values, ui.NEW_APPROVE_FULL_BLOCK))

    files = _input(values, ui.NEW_IMAGE_BLOCK).get("files") or []
    params["image"] = None
    if files:
        first = files[0] if isinstance(files[0], dict) else {}
        file_id = str(first.get("id") or "")
        mimetype = str(first.get("mimetype") or "")
        if not FILE_ID_RE.match(file_id):
            errors[ui.NEW_IMAGE_BLOCK] = "Upload the image again, please."
        elif mimetype and not mimetype.startswith("image/"):
            errors[ui.NEW_IMAGE_BLOCK] = "The campaign image must be an image (PNG, JPG, GIF or WebP)."
        elif isinstance(first.get("size"), int) and first["size"] > MAX_IMAGE_BYTES:
            errors[ui.NEW_IMAGE_BLOCK] = "The image must be 10 MB or smaller."
        else:
            params["image"] = {"file_id": file_id}
    return params, errors


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, default ports filled in; ("", "", 0) if unreadable."""
    try:
        parts = urlsplit(url or "")
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").rstrip(".").lower(), parts.port or {"https": 443, "http": 80}.get(scheme, 0)
    except ValueError:
        return "", "", 0


# --- explaining API errors ----------------------------------------------------------------


def explain(e: RapidWorkersError, *, creating: bool = False) -> str:
    """An API error in plain words (mrkdwn, escaped)."""
    detail = escape(e.error or "") if getattr(e, "error", None) else ""
    low = (e.error or str(e)).lower()
    if isinstance(e, (InvalidInput, BudgetExhausted)):
        return escape(str(e))
    if isinstance(e, BadRequest):
        if "insufficient" in low or "balance" in low or "funds" in low:
            return "RapidWorkers says the balance is too low for this. Top up your RapidWorkers account, then try again."
        return f"RapidWorkers refused the request as invalid: {detail or 'no reason given'}."
    if isinstance(e, Unauthorized):
        return "RapidWorkers did not accept the bot's API key. Ask whoever runs gigdesk to check RAPIDWORKERS_API_KEY."
    if isinstance(e, Forbidden):
        if creating:
            return ("RapidWorkers rejected this job in its legitimacy check"
                    + (f" ({detail})" if detail else "") + ". Reword the job or contact RapidWorkers support.")
        return "RapidWorkers says your account may not do this" + (f" ({detail})" if detail else "") + "."
    if isinstance(e, RateLimited):
        wait = f"{int(e.retry_after)} s" if e.retry_after else "a minute"
        return f"RapidWorkers is limiting how fast we call it (too many requests). Wait {wait} and try again."
    if isinstance(e, NotFound):
        return "RapidWorkers could not find that" + (f" ({detail})" if detail else "") + "."
    if isinstance(e, ServerError):
        return "RapidWorkers had a server error."
    if isinstance(e, NetworkError):
        return escape(str(e))
    return escape(str(e)) or "RapidWorkers answered unexpectedly."


def certainly_not_applied(e: RapidWorkersError) -> bool:
    """True when a money call surely did not take effect (so Confirm may be clicked again)."""
    if isinstance(e, NetworkError):
        return not e.may_have_reached_server
    return isinstance(e, (InvalidInput, BudgetExhausted, BadRequest, Unauthorized, Forbidden, NotFound, RateLimited))


# --- the service ----------------------------------------------------------------------


class CommandService:
    """Everything `/rw` does; constructed once as CommandService(services)."""

    def __init__(self, services):
        self.s = services
        self._images: dict[str, tuple[float, tuple[str, bytes, str]]] = {}
        self._images_lock = threading.Lock()
        self._answers = AnswerCache()  # balance, campaign lists (bot.commands.fair_use)
        self._allowance = Allowance()  # per-user look-ups that reach RapidWorkers
        self._syncs = SingleFlight()  # Post pending for review: one sync at a time
        self._refresh_lock = threading.Lock()
        self._refreshing: Future | None = None  # the type-ahead's campaign list read under way
        self.spending = SpendingRules(services)
        self.offers = SpendOffers(services, self.spending, actions=ACTION_LABEL, check_hint="`/rw campaigns`")

    @property
    def db(self):
        return self.s.store.db

    @property
    def settings(self):
        return self.s.settings

    # -- entry point ---------------------------------------------------------------

    def run(self, text: str, user_id: str, channel_id: str | None = None, progress=None) -> Reply | OpenModal:
        """Handle `/rw <text>`; never raises for bad input or API errors. `progress(Reply)`, if given,
        shows that a slow answer (`spend`) is under way."""
        name, args = split_command(text)
        handler = {
            "help": self.help,
            "balance": self.balance,
            "campaigns": self.campaigns,
            "campaign": self.campaign,
            "job": self.job,
            "new": self.new,
            "approve-all": self.approve_all,
            "blocked": self.blocked,
            "block": self.block,
            "unblock": self.unblock,
            "digest": self.digest,
            "worker": self.worker,
            "route": self.route,
            "routes": self.routes,
            # Reports (bot/reports): spend by campaign with a chart and a CSV, the audit log.
            "spend": lambda args, user_id, channel_id: self.s.reports.spend(args, user_id, progress),
            "audit": lambda args, user_id, channel_id: self.s.reports.audit(args, user_id),
        }.get(name)
        if handler is None:
            return _reply(ui.help_message(f"Unknown command `{shown(name, 30)}`.{suggest(name, SUBCOMMANDS)}"))
        return self.guard(lambda: handler(args, user_id, channel_id))

    def guard(self, call: Callable[[], T]) -> T | Reply:
        """/rw's own wording of known errors (usage lines, RapidWorkers errors explained); a
        Reply, so App Home can show it in a modal. Anything else goes to the one funnel."""
        try:
            return call()
        except BadInput as e:
            return problem(str(e), e.usage)
        except UserError as e:
            return problem(str(e))
        except RapidWorkersError as e:
            return problem(explain(e))

    def _no_args(self, name: str, args: list[str]) -> None:
        if args:
            raise BadInput(f"`/rw {name}` takes no arguments.", name)

    # -- read-only -------------------------------------------------------------------

    def help(self, args, user_id, channel_id) -> Reply:
        return _reply(ui.help_message())

    def _reaches_rapidworkers(self, user_id: str) -> None:
        """Count one command that calls RapidWorkers against the user's allowance."""
        self._allowance.take(user_id)

    def _cached(self, key, compute, user_id: str):
        """A read-only answer from the short cache; a miss counts against the user's allowance."""
        return self._answers.get(key, compute, before_compute=lambda: self._reaches_rapidworkers(user_id))

    def balance(self, args, user_id, channel_id) -> Reply:
        self._no_args("balance", args)
        balance = self._cached("balance", self.s.rw.get_balance, user_id)
        return _reply(ui.balance_message(balance, self.settings.low_balance))

    def campaigns(self, args, user_id, channel_id) -> Reply:
        """`/rw campaigns [status] [newest]`: page 1 of the list, most pending first unless `newest`."""
        if len(args) > 2:
            raise BadInput("Give at most a status and an order.", "campaigns")
        status_word, sort = "all", finder.DEFAULT_SORT
        for arg in args:
            word = arg.lower()
            if word in finder.SORT_WORDS:
                sort = finder.SORT_WORDS[word]
            elif word in STATUSES:
                status_word = "canceled" if word == "cancelled" else word
            else:
                words = [*STATUSES, *finder.SORT_WORDS]
                raise BadInput(f"Unknown status or order `{shown(word, 30)}`.{suggest(word, words)}", "campaigns")
        return self._campaigns_page(1, sort, status_word, user_id)

    def campaigns_page(self, value: str, user_id: str) -> Reply:
        """Next / Previous / sort on a campaign list: that page replaces the list (forged values: refused, no API call)."""
        found = finder.parse_page_value(value)
        if found is None:
            return problem("That button does not belong to a campaign list I made.")
        page, sort, status_word = found
        # The page replaces the list; a problem (e.g. the allowance) comes as a new reply, keeping the list.
        return self.guard(lambda: self._campaigns_page(page, sort, status_word, user_id, replace=True))

    def _campaign_list(self, status: str | None, user_id: str | None) -> list:
        """Campaigns from the short answer cache; a miss counts against `user_id`'s allowance (None: already counted)."""
        def compute():
            return self.s.rw.list_campaigns(status=status)

        if user_id is None:
            return self._answers.get(("campaigns", status), compute)
        return self._cached(("campaigns", status), compute, user_id)

    def _campaigns_page(self, page: int, sort: str, status_word: str, user_id: str, *, replace: bool = False) -> Reply:
        status = STATUSES[status_word]
        campaigns = finder.ordered(self._campaign_list(status, user_id), sort)
        size = finder.PAGE_ROWS
        pages = max(1, -(-len(campaigns) // size))
        page = min(page, pages)  # the list may have shrunk since the button was made
        values = {"sort": finder.page_value(1, "newest" if sort == "most-pending" else "most-pending", status_word)}
        if page > 1:
            values["previous"] = finder.page_value(page - 1, sort, status_word)
        if page < pages:
            values["next"] = finder.page_value(page + 1, sort, status_word)
        rows = campaigns[(page - 1) * size: page * size]
        self._remember_keys(c.id for c in rows)
        return _reply(ui.campaigns_message(rows, status, page=page, pages=pages, sort=sort, values=values), replace=replace)

    def _campaign(self, campaign_id: str):
        try:
            return self.s.rw.get_campaign(campaign_id)
        except NotFound:
            raise UserError(f"No campaign with id `{shown(campaign_id)}`.") from None
        except Forbidden:
            raise UserError(f"Campaign `{shown(campaign_id)}` is not one of yours.") from None

    def resolve_campaign(self, query: str, usage: str) -> Campaign | str | Reply:
        """A campaign from an id or a unique title prefix: the Campaign when it was read by id,
        its id when found in the list, or a Reply when there is none or several (nothing happens then).

        Titles come from the 30 s campaign list cache, so typing costs no extra RapidWorkers
        request. An id-shaped query is read by id first while the list is not cached (the
        read the details need anyway), and also when it is not in the list (another
        owner's campaign, or one created since the list was read).
        """
        query = " ".join((query or "").split())
        if not query:
            raise BadInput("The campaign id or the start of its title is missing.", usage)
        if len(query) > 200:
            raise BadInput("That is longer than any campaign title or id.", usage)
        id_shaped = bool(ID_RE.match(query))
        listed = self._answers.peek(("campaigns", None))
        if listed is None and id_shaped:
            by_id = self._campaign_by_id(query)
            if by_id is not None:
                return by_id
        found = finder.find(query, listed if listed is not None else self._campaign_list(None, None))
        if found.campaign is not None:
            return found.campaign.id
        if found.candidates:
            self._remember_keys(c.id for c in found.candidates[:finder.MAX_CANDIDATES])
            return _reply(ui.candidates_message(query, found.candidates, limit=finder.MAX_CANDIDATES))
        near = f" Did you mean *{truncate(escape(found.near), 100)}*?" if found.near else ""
        if id_shaped:
            by_id = self._campaign_by_id(query) if listed is not None else None
            if by_id is not None:
                return by_id
            raise BadInput(f"No campaign with id `{shown(query)}`, and no campaign title starts with it.{near}", usage)
        raise BadInput(f"No campaign starts with `{shown(query)}`.{near}", usage)

    def _campaign_by_id(self, campaign_id: str) -> Campaign | None:
        """The campaign with this id, None when there is none; someone else's is refused."""
        try:
            return self.s.rw.get_campaign(campaign_id)
        except NotFound:
            return None
        except Forbidden:
            raise UserError(f"Campaign `{shown(campaign_id)}` is not one of yours.") from None

    def campaign(self, args, user_id, channel_id) -> Reply | OpenModal:
        """`/rw campaign <id or title start>`: the details, or the candidates when several titles start so; alone, a form."""
        if not args:
            return OpenModal(ui.campaign_modal(channel_id))
        self._reaches_rapidworkers(user_id)
        found = self.resolve_campaign(" ".join(args), "campaign")
        if isinstance(found, Reply):
            return found
        return self._details(self._campaign(found) if isinstance(found, str) else found)

    def _details(self, c: Campaign) -> Reply:
        self._remember_keys([c.id])
        return _reply(ui.campaign_message(c))

    def campaign_details(self, campaign: str, user_id: str) -> Reply:
        """A Details / View campaign button (or the campaign form): the campaign's details, as `/rw campaign <id>`."""
        def run():
            cid = self.campaign_id_of(campaign, "campaign")
            self._reaches_rapidworkers(user_id)
            return self._details(self._campaign(cid))

        return self.guard(run)

    def row_menu(self, value: str, user_id: str) -> Reply:
        """The overflow on a campaign row: Approve all… (the usual offer) or Post pending for review."""
        what, _, cid = (value or "").partition("|")
        if what == ui.ROW_APPROVE_ALL:
            return self.offer_approve_all(cid, user_id)
        if what == ui.ROW_POST_PENDING:
            return self.post_pending(cid, user_id)
        return problem("That menu does not belong to a campaign list I made.")

    def campaign_suggestions(self, query: str, user_id: str) -> list[dict]:
        """Options of the campaign type-ahead, answered inside Slack's 3 s whatever RapidWorkers does.

        From the cached campaign list, however old; a list older than the cache's 30 s is
        refreshed behind, on the work pool (once, however many keystrokes). With no list at all
        it waits up to TYPE_AHEAD_WAIT for that refresh, then says it is still loading."""
        query = " ".join((query or "").split())[:200]
        if not query:
            return []
        listed, fresh = self._answers.latest(("campaigns", None))
        if not fresh:
            try:
                refresh = self._refresh_campaigns(user_id)
            except UserError as e:  # the allowance for this minute is used up
                return ui.type_ahead_notice(str(e)) if listed is None else self._options(query, listed)
            if listed is None:
                try:
                    listed = refresh.result(timeout=TYPE_AHEAD_WAIT)
                except TimeoutError:
                    return ui.type_ahead_notice("Loading campaigns from RapidWorkers… type another letter in a moment.")
                except (UserError, RapidWorkersError) as e:
                    log.info("campaign type-ahead without options: %s", type(e).__name__)
                    return []
        return self._options(query, listed)

    def _options(self, query: str, campaigns) -> list[dict]:
        found = finder.suggestions(query, campaigns, limit=finder.MAX_OPTIONS)
        self._remember_keys(c.id for c in found)
        return ui.campaign_options(found)

    def _refresh_campaigns(self, user_id: str) -> Future:
        """Read the campaign list into the cache on the work pool; one read at a time (the one
        under way is shared). Counts against the user's allowance when it starts one."""
        with self._refresh_lock:
            if self._refreshing is not None and not self._refreshing.done():
                return self._refreshing
            self._reaches_rapidworkers(user_id)
            pool = self.s.work
            if pool is None:  # no pool (a bare Services): read it now
                done: Future = Future()
                done.set_result(self._campaign_list(None, None))
                self._refreshing = done
            else:
                self._refreshing = pool.submit(self._campaign_list, None, None)
            return self._refreshing

    # -- campaign values: what a button or option carries for a campaign -----------------------

    def _remember_keys(self, campaign_ids: Iterable[str]) -> None:
        """Store the key of each long id about to be shown (finder.campaign_value), so a click on
        it finds its campaign again, after a restart too."""
        keys = {finder.campaign_value(cid): cid for cid in campaign_ids}
        keys = {key: cid for key, cid in keys.items() if key != cid}
        if keys:
            records.remember_campaign_keys(self.db, keys)

    def campaign_id_of(self, value: object, usage: str) -> str:
        """The campaign a button or option names: a key looked up (nothing else happens when it is
        unknown), else an id checked like a typed one."""
        if isinstance(value, str) and finder.KEY_VALUE.fullmatch(value):
            found = records.campaign_of_key(self.db, value)
            if found is None:
                raise UserError("That button names a campaign I do not know (any more): run `/rw campaigns` again.")
            return found
        return check_id(value if isinstance(value, str) else None, "campaign id", usage)

    def blocked(self, args, user_id, channel_id) -> Reply:
        self._no_args("blocked", args)
        self._reaches_rapidworkers(user_id)
        workers = self.s.rw.list_blocked()
        by = {}
        for w in workers:
            local = records.block_of(self.db, str(w.worker_id))
            by[str(w.worker_id)] = local.get("blocked_by") if local else None
        return _reply(ui.blocked_message(workers, by))

    def digest(self, args, user_id, channel_id) -> Reply:
        """Post the digest now: allowed users only, audited (as the App Home button)."""
        self._no_args("digest", args)
        require_allowed(self.s, user_id, "digest", None, "post the digest")
        self._reaches_rapidworkers(user_id)
        try:
            result = self.s.digest.post(kind="manual") or {}
        except UserError as e:
            records.audit(self.db, user_id, "digest", None, "failed", str(e)[:200])
            raise
        channel = result.get("channel") if isinstance(result, dict) else None
        channel = channel or self.settings.digest_channel
        records.audit(self.db, user_id, "digest", result.get("ts") if isinstance(result, dict) else None, "posted")
        return _reply(ui.text_message(f":newspaper: Posted the digest to <#{channel}>."))

    def worker(self, args, user_id, channel_id) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "worker")
        wid = check_id(args[0], "worker id", "worker")
        return _reply(worker_message(wid, proof_records.worker_history(self.db, wid), records.block_of(self.db, wid)))

    # -- routes (Less noise) -------------------------------------------------------------

    def route(self, args, user_id, channel_id) -> Reply:
        """`/rw route <campaign> <#channel|off>`: allowed users only, audited (bot.review.routing).
        The campaign is an id or the start of its title; the channel comes last."""
        if len(args) < 2:
            raise BadInput("Give a campaign (its id or the start of its title) and a channel (or `off`).", "route")
        query, target = " ".join(args[:-1]), args[-1]
        require_allowed(self.s, user_id, "route", shown(query, 60), "route campaigns")
        self._reaches_rapidworkers(user_id)
        found = self.resolve_campaign(query, "route")  # a typo is refused here, before anything is stored
        if isinstance(found, Reply):
            return found
        cid = found if isinstance(found, str) else found.id
        return _reply(ui.text_message(self.s.review.routes.command(cid, target, user_id)))

    def routes(self, args, user_id, channel_id) -> Reply:
        self._no_args("routes", args)
        return _reply(ui.text_message(self.s.review.routes.listing()))

    # -- post pending (campaign button) ------------------------------------------------

    def post_pending(self, campaign: str, user_id: str) -> Reply:
        def run():
            cid = self.campaign_id_of(campaign, "campaign")
            require_allowed(self.s, user_id, "post-pending", cid, "post submissions for review")
            self._reaches_rapidworkers(user_id)
            records.forget_campaign_counts(self.db, cid)
            # Concurrent clicks share one sync instead of queueing one each.
            report = self._syncs.run("review-sync", self.s.review.sync)
            records.audit(self.db, user_id, "post-pending", cid, "synced", report.summary()[:500])
            if report.busy:
                return _reply(ui.text_message(f":inbox_tray: Another gigdesk process is syncing right now ({escape(report.busy)}); "
                                              "it posts the pending submissions."))
            lines = [f":inbox_tray: Posted {report.posted} new submission(s) for review"
                     f" ({report.skipped} already posted, {report.recovered} recovered)."]
            if report.failed or report.errors:
                lines.append(f":warning: {report.failed} could not be posted; the next sync tries again.")
            return _reply(ui.text_message("\n".join(lines)))

        return self.guard(run)

    # -- blocking ----------------------------------------------------------------------

    def block(self, args, user_id, channel_id) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "block")
        wid = check_id(args[0], "worker id", "block")
        require_allowed(self.s, user_id, "block", wid, "block workers")
        self.s.review.block(wid, user_id, worker_name=None)
        return _reply(ui.text_message(f":no_entry: Blocked worker `{escape(wid)}`. They no longer see your campaigns."))

    def unblock(self, args, user_id, channel_id) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "unblock")
        wid = check_id(args[0], "worker id", "unblock")
        require_allowed(self.s, user_id, "unblock", wid, "unblock workers")
        self.s.review.unblock(wid, user_id)
        return _reply(ui.text_message(f":white_check_mark: Unblocked worker `{escape(wid)}`."))

    # -- offers ------------------------------------------------------------------------

    def job(self, args, user_id, channel_id) -> Reply | OpenModal:
        if not args:
            self.spending.require_spender(user_id, "job-prefilled", None, "create jobs")
            return OpenModal(ui.job_modal(channel_id))
        params = parse_job_args(args)
        return self.offer_prefilled(params, user_id)

    def new(self, args, user_id, channel_id) -> Reply | OpenModal:
        self._no_args("new", args)
        self.spending.require_spender(user_id, "job-custom", None, "create campaigns")
        return OpenModal(ui.new_campaign_modal(channel_id))

    def job_modal(self, user_id: str, channel_id: str | None) -> Reply | OpenModal:
        """The job form (App Home's New job button)."""
        return self.guard(lambda: self.job([], user_id, channel_id))

    def offer_prefilled(self, params: dict, user_id: str) -> Reply:
        kind, quantity = params["kind"], params["quantity"]
        self.spending.require_spender(user_id, "job-prefilled", kind, "create jobs")
        where = f" in {', '.join(params['countries'])}" if params.get("countries") else ""
        lang = f", language {escape(params['language'])}" if params.get("language") else ""
        what = (f"Create a *{kind}* job: {quantity:,} × {money(PREFILLED_UNIT_PRICE)} for {escape(params['link'])}"
                f"{where}{lang}. Submissions are approved automatically once it is full.")
        return self._offer(user_id, "prefilled", params, prefilled_cost(quantity), what=what, target=kind)

    def offer_custom(self, params: dict, user_id: str) -> Reply:
        def run():
            self.spending.require_spender(user_id, "job-custom", params.get("title"), "create campaigns")
            image = None
            if params.get("image"):
                image = self._download_image(params["image"]["file_id"])
                params["image"].update(name=image[0], mimetype=image[2], size=len(image[1]))
            pay = Decimal(params["pay_rate"])
            n = int(params["total_availabilities"])
            cost, commission, total = custom_job_cost(pay, n)
            extras = []
            if params.get("countries"):
                extras.append("countries " + ", ".join(params["countries"]))
            if params.get("approve_once_full"):
                extras.append("approved and paid automatically once full")
            if image:
                extras.append(f"image {shown(image[0], 40)}")
            what = (f"Create the campaign *{truncate(escape(params['title']), 200)}* "
                    f"({escape(params['category'])}): {n:,} tasks × {money(pay)}"
                    + (f"; {'; '.join(extras)}" if extras else "") + ".")
            note = f"{money(cost)} + {money(commission)} commission (10%)"
            return self._offer(user_id, "custom", params, total, what=what, target=params["title"][:100],
                               estimate=True, cost_note=note, image=image)

        return self.guard(run)

    def offer_approve_all(self, campaign: str, user_id: str) -> Reply:
        """Offer to approve the campaign's pending submissions listed now: unflagged ones only by default.
        `campaign`: what a button or option carries (campaign_id_of)."""
        def run():
            cid = self.campaign_id_of(campaign, "approve-all")
            self.spending.require_spender(user_id, "approve-all", cid, "approve submissions in bulk")
            c = self._campaign(cid)
            pending = sorted(self.s.rw.list_submissions(cid, status="Pending"), key=lambda sub: sub.id)
            if not pending:
                return _reply(ui.text_message(f"*{escape(c.title)}* has no pending submissions: nothing to approve."))
            checking = self.s.review.being_checked([sub.id for sub in pending])
            flagged = {sub.id: (sub, self.s.review.flags(sub.id, sub.to_dict())) for sub in pending if sub.id not in checking}
            flagged = {sid: found for sid, found in flagged.items() if found[1]}
            params = {
                "campaign_id": cid, "title": c.title[:200], "pay": str(c.pay),
                "submission_ids": [sub.id for sub in pending if sub.id not in flagged and sub.id not in checking],
                "flagged_ids": sorted(flagged),
                "checking_ids": sorted(checking),
                "flag_lines": [f"`{sid}` {shown(sub.worker_name, 40)}: {', '.join(flags)}"
                               for sid, (sub, flags) in sorted(flagged.items())][:10],
                "include_flagged": False,
            }
            return self._approve_all_offer(user_id, params)

        return self.guard(run)

    def offer_including_flagged(self, confirmation_id: str, user_id: str) -> Reply:
        """The explicit choice to include flagged submissions: a new offer (its own Confirm) replaces the first."""
        def run():
            now = utcnow()
            row = records.get_confirmation(self.db, confirmation_id) if CONFIRMATION_ID_RE.match(confirmation_id or "") else None
            if row is None or row.action != "approve-all" or not row.params.get("flagged_ids"):
                return problem(self._unusable(None, now))
            if row.user_id != user_id:
                return problem(f"Only {mention(row.user_id)}, who asked for this, can change it.")
            self.spending.require_spender(user_id, "approve-all", row.params["campaign_id"], "approve submissions in bulk")
            if row.state != "offered" or row.expires_at <= now or not records.cancel_confirmation(self.db, row.id):
                return problem(self._unusable(records.get_confirmation(self.db, row.id), now))
            records.audit(self.db, user_id, "approve-all", row.id[:8], "include-flagged", "offer replaced", row.cost)
            return dataclasses.replace(self._approve_all_offer(user_id, {**row.params, "include_flagged": True}), replace_original=True)

        return self.guard(run)

    def _approve_all_offer(self, user_id: str, params: dict) -> Reply:
        included = list(params["submission_ids"]) + (list(params["flagged_ids"]) if params["include_flagged"] else [])
        flagged = len(params["flagged_ids"])
        pay = Decimal(params["pay"])
        title = truncate(escape(params["title"]), 200)
        if params["include_flagged"]:
            what = (f"Approve *{len(included)}* pending submission(s) of *{title}*, *including {flagged} flagged*, "
                    f"and pay each worker {money(pay)}.")
        else:
            what = f"Approve the *{len(included)}* unflagged pending submission(s) of *{title}* and pay each worker {money(pay)}."
        if flagged:
            more = f"\n…and {flagged - len(params['flag_lines'])} more" if flagged > len(params["flag_lines"]) else ""
            head = ("Flagged, included:" if params["include_flagged"]
                    else f":warning: *{flagged}* flagged submission(s) are left out (include them only with the button below):")
            what += f"\n{head}\n" + "\n".join(params["flag_lines"]) + more
        if params.get("checking_ids"):
            what += (f"\n:hourglass_flowing_sand: *{len(params['checking_ids'])}* still being checked are left out "
                     "(their cards update when the proof check is done; run approve-all again then).")
        what += "\nOnly these submissions are approved: any that arrive later are not, and any decided meanwhile are skipped."
        include_button = flagged > 0 and not params["include_flagged"]
        cost = (pay * len(included)).quantize(Decimal("0.01"))
        return self._offer(user_id, "approve-all", params, cost, what=truncate(what, 2900), target=params["campaign_id"],
                           cost_note=f"{len(included)} × {money(pay)}", confirmable=bool(included),
                           include_flagged=flagged if include_button else 0)

    def approve_all(self, args, user_id, channel_id) -> Reply | OpenModal:
        """`/rw approve-all <id or title start>`; alone, a form with a campaign type-ahead."""
        self.spending.require_spender(user_id, "approve-all", None, "approve submissions in bulk")
        if not args:
            return OpenModal(ui.approve_all_modal(channel_id))
        self._reaches_rapidworkers(user_id)
        found = self.resolve_campaign(" ".join(args), "approve-all")
        if isinstance(found, Reply):
            return found
        cid = found if isinstance(found, str) else found.id
        self._remember_keys([cid])
        return self.offer_approve_all(finder.campaign_value(cid), user_id)

    def check_campaign_view(self, values: dict) -> tuple[str, dict[str, str]]:
        """The campaign picked in a type-ahead form (the value an option carried) or the field error."""
        picked = _selected(values, ui.CAMPAIGN_PICK_BLOCK)
        if not picked or not (ID_RE.match(picked[0]) or finder.KEY_VALUE.fullmatch(picked[0])):
            return "", {ui.CAMPAIGN_PICK_BLOCK: "Pick a campaign from the list (type part of its title)."}
        return picked[0], {}

    def _offer(self, user_id: str, action: str, params: dict, cost: Decimal, *, what: str, target: str | None,
               estimate: bool = False, cost_note: str | None = None, image=None, confirmable: bool = True,
               include_flagged: int = 0) -> Reply:
        audit_action = ACTION_LABEL[action]
        balance = self.s.rw.get_balance()
        if balance < cost:
            records.audit(self.db, user_id, audit_action, target, "refused", f"insufficient balance {balance}", str(cost))
            return _reply(ui.spend_insufficient(what=what, cost=cost, balance=balance, estimate=estimate, cost_note=cost_note))
        terms = self.spending.terms(user_id, cost)
        if terms.refusal and confirmable:
            records.audit(self.db, user_id, audit_action, target, "refused", "over the daily spend limit", str(cost))
            return _reply(ui.spend_refused(what=what, cost=cost, balance=balance, estimate=estimate, cost_note=cost_note,
                                           reason=terms.refusal, terms=terms.lines))
        confirmation_id = self.offers.create(user_id, action, params, cost, what=what, target=target)
        if image is not None:
            self._cache_image(confirmation_id, image)
        return _reply(ui.spend_offer(what=what, cost=cost, balance=balance, estimate=estimate,
                                     confirmation_id=confirmation_id, cost_note=cost_note, minutes=CONFIRM_MINUTES,
                                     terms=terms.lines, confirmable=confirmable, include_flagged=include_flagged))

    # -- confirm / cancel -----------------------------------------------------------------

    def _unusable(self, row: Offer | None, now: str) -> str:
        return self.offers.unusable(row, now)

    @staticmethod
    def _waiting_state(row: Offer) -> str:
        return SpendOffers.waiting_state(row)

    def confirm(self, confirmation_id: str, user_id: str, progress=None) -> Reply:
        """The Confirm button: take the offer once (within the limits: bot.spending.offers), then call the API.

        `progress(Reply)`, if given, shows how a long bulk approval is going.
        """
        settings = self.settings

        def second_request(row: Offer) -> tuple[str, list[dict]]:
            return ui.second_approval_request(
                requester=row.user_id, what=row.params.get("summary") or self.offers.label(row), cost=row.cost_amount,
                threshold=settings.second_approval_above, confirmation_id=row.id, hours=SECOND_APPROVAL_HOURS)

        decision = self.offers.confirm(confirmation_id, user_id, second_request=second_request)
        if decision.taken is None:
            message = decision.message or "This offer cannot be used any more."
            return Reply(message, None, replace_original=True) if decision.replace else problem(message)
        return self._run_taken(decision.taken, user_id, progress)

    def _run_taken(self, row: Offer, user_id: str, progress) -> Reply:
        """Carry out an offer that Confirm took (state executing)."""
        confirmation_id = row.id
        audit_action = ACTION_LABEL.get(row.action, row.action)
        target = confirmation_id[:8]
        try:
            if row.action == "prefilled":
                return self._create_prefilled(row, user_id)
            if row.action == "custom":
                return self._create_custom(row, user_id)
            if row.action == "approve-all":
                return self._bulk_approve(row, user_id, progress)
            records.finish_confirmation(self.db, confirmation_id, "failed", {"error": "unknown action"}, spent_cents=0)
            return problem("This offer is of a kind I do not know; nothing was spent.")
        except RapidWorkersError as e:
            return self._money_failed(row, user_id, e)
        except UserError as e:  # before the money call (e.g. the image could not be read)
            records.finish_confirmation(self.db, confirmation_id, self._waiting_state(row))
            records.audit(self.db, user_id, audit_action, target, "failed-not-applied", str(e)[:200], row.cost)
            return problem(f"{e} Nothing was spent; you can click Confirm again.")
        except Exception:
            records.finish_confirmation(self.db, confirmation_id, "failed", {"error": "unexpected"})
            records.audit(self.db, user_id, audit_action, target, "error", "unexpected error", row.cost)
            raise

    def cancel(self, confirmation_id: str, user_id: str) -> Reply:
        """Cancel: the requester; a request waiting for a second approval may also be declined by another spender."""
        done, message = self.offers.cancel(confirmation_id, user_id)
        if not done:
            return problem(message)
        self._drop_image(confirmation_id)
        return Reply(message, None, replace_original=True)

    def _money_failed(self, row: Offer, user_id: str, e: RapidWorkersError) -> Reply:
        cid = row.id
        creating = row.action in ("prefilled", "custom")
        reason = explain(e, creating=creating)
        if certainly_not_applied(e):
            self.offers.back_to_waiting(row, user_id, str(e))
            return problem(f"{reason} Nothing was spent; the offer above still stands.")
        self.offers.finish_unknown(row, user_id, str(e))
        self._drop_image(cid)
        if creating:
            check = "The job may or may not have been created: check `/rw campaigns` before trying again."
        else:
            check = (f"Some or all submissions may have been approved: check `/rw campaign {escape(row.params['campaign_id'])}` "
                     "before trying again.")
        return Reply(f":warning: {reason} {check} I will not retry on my own.", None, replace_original=True)

    def _announce(self, text: str) -> None:
        try:
            self.s.slack.chat_postMessage(channel=self.settings.review_channel, text=text, unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            log.warning("could not post the spend notice: %s", e.response.get("error"))
        except Exception:
            log.exception("could not post the spend notice")

    @staticmethod
    def _who(row: Offer) -> str:
        """Who spent: the requester, and the second spender who confirmed, if any."""
        second = row.second_by
        return mention(row.user_id) + (f" (second approval: {mention(second)})" if second else "")

    def _balance_after(self, reported: Decimal | None) -> Decimal | None:
        if reported is not None:
            return reported
        try:
            return self.s.rw.get_balance()
        except RapidWorkersError:
            return None

    def _created(self, row: Offer, user_id: str, job, kind: str, title: str, cost: Decimal, what: str) -> Reply:
        cid = row.id
        job_id = job.job_id or f"unknown-{cid[:8]}"
        records.finish_confirmation(self.db, cid, "done", {"job_id": job_id, "cost": str(cost)}, spent_cents=cents(cost))
        metrics.offer_spent(row.action, cents(cost))
        records.record_job(self.db, job_id, cid, kind, title[:200], str(cost), row.user_id)
        records.audit(self.db, user_id, ACTION_LABEL[row.action], job_id, "created", what[:200], str(cost))
        self._announce(f"{self._who(row)} created {what} for {money(cost)} (job `{escape(job_id)}`).")
        balance = self._balance_after(job.new_balance)
        details = [f"Job `{escape(job_id)}`", f"cost {money(cost)}"]
        if balance is not None:
            details.append(f"new balance {money(balance)}")
        if row.second_by:
            details.append(f"asked by {mention(row.user_id)}, confirmed by {mention(row.second_by)}")
        view = job.job_id if job.job_id and ID_RE.match(job.job_id) else None  # the job is a campaign: "View campaign"
        self._remember_keys([view] if view else [])
        return _reply(ui.result_message(f":white_check_mark: Created {what}.", details, campaign_id=view), replace=True)

    def _create_prefilled(self, row: Offer, user_id: str) -> Reply:
        p = row.params
        job = self.s.rw.create_prefilled_job(p["kind"], p["link"], int(p["quantity"]), p.get("countries") or None, p.get("language"))
        cost = job.total_deducted or job.total_cost or row.cost_amount
        what = f"a new *{p['kind']}* job ({int(p['quantity']):,} on {escape(p['link'])})"
        return self._created(row, user_id, job, p["kind"], f"{p['kind']} {p['link']}", cost, what)

    def _create_custom(self, row: Offer, user_id: str) -> Reply:
        p = row.params
        image = self._image_for(row.id, p.get("image"))
        job = self.s.rw.create_job(
            title=p["title"],
            description=p["description"],
            pay_rate=Decimal(p["pay_rate"]),
            total_availabilities=int(p["total_availabilities"]),
            proof_required_description=p["proof_required_description"],
            category=p["category"],
            sub_category=p.get("sub_category"),
            countries=p.get("countries") or None,
            approve_once_full=bool(p.get("approve_once_full")),
            image=image,
        )
        self._drop_image(row.id)
        if job.job_id:  # the review card shows it; campaign listings may not include it
            records.remember_campaign_requirement(self.db, job.job_id, p["proof_required_description"])
        cost = job.total_deducted or row.cost_amount
        what = f"a new campaign *{truncate(escape(p['title']), 200)}* ({int(p['total_availabilities']):,} × {money(Decimal(p['pay_rate']))})"
        return self._created(row, user_id, job, "custom", p["title"], cost, what)

    def _bulk_budget_short(self) -> bool:
        """Stop a bulk approval before it eats what the sync and single clicks need this hour."""
        budget = self.s.rw.budget
        return budget.remaining() <= min(BULK_LEAVES_FREE * budget.interactive_reserve, budget.hourly_limit // 2)

    def _bulk_approve(self, row: Offer, user_id: str, progress=None) -> Reply:
        """Approve exactly the offered submissions still pending, one at a time (never bulk_action)."""
        p = row.params
        cid = p["campaign_id"]
        pay = Decimal(p["pay"])
        title = truncate(escape(p.get("title") or cid), 200)
        if "submission_ids" not in p:  # offered by a version that did not list them: never approve blindly
            records.finish_confirmation(self.db, row.id, "cancelled")
            return problem("This offer was made before an upgrade and does not list its submissions. "
                           f"Nothing was spent; run `/rw approve-all {escape(cid)}` again.")
        offered = list(p["submission_ids"]) + (list(p["flagged_ids"]) if p.get("include_flagged") else [])
        # Taken up by a sync since the offer and not checked yet: left out like flagged ones.
        checking = self.s.review.being_checked(offered)
        wanted = [sid for sid in offered if sid not in checking]
        try:
            still_pending = {sub.id: sub for sub in self.s.rw.list_submissions(cid, status="Pending")}
        except RapidWorkersError as e:  # a read: certainly nothing was spent
            records.finish_confirmation(self.db, row.id, self._waiting_state(row))
            records.audit(self.db, user_id, "approve-all", cid, "failed-not-applied", str(e)[:300], row.cost)
            return problem(f"{explain(e)} Nothing was spent; the offer above still stands.")
        approved: list[tuple[int, Decimal]] = []
        skipped: list[int] = []
        failed: list[str] = []
        left: list[int] = []
        uncertain = 0
        stop = None
        marks = {0, len(wanted) // 3, 2 * len(wanted) // 3} if len(wanted) >= BULK_PROGRESS_FROM else set()
        for n, sid in enumerate(wanted):
            if n in marks and progress is not None:
                self._show_progress(progress, title, n, len(wanted), approved, skipped)
            if self._bulk_budget_short():
                left, stop = wanted[n:], "the hourly RapidWorkers request budget is nearly used up (the rest is kept for reviews and the sync)"
                break
            submission = still_pending.get(sid)
            if submission is None:
                skipped.append(sid)
                continue
            try:
                amount = self.s.review.approve_in_bulk(cid, submission, pay, p.get("title") or "", user_id)
            except RapidWorkersError as e:
                failed.append(f"`{sid}`: {explain(e)}")
                if not certainly_not_applied(e):
                    uncertain += 1
                    left, stop = wanted[n + 1:], "RapidWorkers failed in a way that may or may not have approved it"
                    break
                low = (e.error or str(e)).lower()
                if isinstance(e, (BudgetExhausted, RateLimited, Unauthorized, Forbidden)) or "insufficient" in low or "funds" in low:
                    left, stop = wanted[n + 1:], explain(e)
                    break
                continue
            if amount is None:
                skipped.append(sid)
            else:
                approved.append((sid, amount))
        paid = sum((a for _, a in approved), Decimal("0")).quantize(Decimal("0.01"))
        result = {"approved": [s for s, _ in approved], "skipped": skipped, "failed": len(failed), "left": left, "cost": str(paid)}
        if not approved and not uncertain and not skipped and failed:
            records.finish_confirmation(self.db, row.id, self._waiting_state(row))
            records.audit(self.db, user_id, "approve-all", cid, "failed-not-applied", "; ".join(failed)[:300], row.cost)
            return problem(f"Nothing was approved and nothing was spent: {failed[0]} The offer above still stands.")
        records.finish_confirmation(self.db, row.id, "done" if approved or not uncertain else "failed", result,
                                    spent_cents=cents(paid + pay * uncertain))
        metrics.offer_spent(row.action, cents(paid))
        records.audit(self.db, user_id, "approve-all", cid, "approved",
                      f"{len(approved)} approved, {len(skipped)} skipped, {len(failed)} failed, {len(left)} left", str(paid))
        if approved:
            self._announce(f"{self._who(row)} approved {len(approved)} pending submission(s) of *{title}* for {money(paid)}.")
        icon = ":warning:" if uncertain or failed or left else ":white_check_mark:"
        headline = f"{icon} Approved {len(approved)} of the {len(offered)} submission(s) offered for *{title}*; paid {money(paid)}."
        details = []
        if checking:
            details.append(f"{len(checking)} still being checked (left out; run `/rw approve-all {escape(cid)}` again once their check is done)")
        if skipped:
            details.append(f"{len(skipped)} skipped (decided meanwhile, or being decided by someone else)")
        if failed:
            details.append(f"{len(failed)} failed: " + "; ".join(failed[:3]))
        if left:
            details.append(f"{len(left)} not attempted: {stop}. Run `/rw approve-all {escape(cid)}` again later for them")
        if uncertain:
            details.append(f"check `/rw campaign {escape(cid)}` before trying again; I will not retry on my own")
        if row.second_by:
            details.append(f"asked by {mention(row.user_id)}, confirmed by {mention(row.second_by)}")
        balance = self._balance_after(None)
        if balance is not None:
            details.append(f"new balance {money(balance)}")
        return _reply(ui.result_message(headline, details), replace=True)

    def _show_progress(self, progress, title: str, done: int, total: int, approved: list, skipped: list) -> None:
        """Replace the offer with how far the bulk approval got (a few response_url uses: Slack allows 5)."""
        try:
            progress(_reply(ui.text_message(f":hourglass_flowing_sand: Approving the submissions of *{title}*: "
                                            f"{done} of {total} done ({len(approved)} approved, {len(skipped)} skipped)…"), replace=True))
        except Exception:
            log.warning("could not show bulk approval progress", exc_info=True)

    # -- modal submissions --------------------------------------------------------------

    def check_job_view(self, values: dict) -> tuple[dict, dict[str, str]]:
        return parse_job_view(values)

    def check_new_view(self, values: dict) -> tuple[dict, dict[str, str]]:
        return parse_new_view(values)

    def submit_job_view(self, params: dict, user_id: str) -> Reply:
        return self.guard(lambda: self.offer_prefilled(params, user_id))

    def submit_new_view(self, params: dict, user_id: str) -> Reply:
        return self.offer_custom(params, user_id)

    # -- campaign image --------------------------------------------------------------------

    def _token_origins(self) -> set[tuple[str, str, int]]:
        """Where the bot token may go: SLACK_API_URL's origin and https://files.slack.com."""
        return {_origin(self.settings.slack_api_url), ("https", "files.slack.com", 443)}

    def _download_image(self, file_id: str) -> tuple[str, bytes, str]:
        """files.info, then url_private_download with the bot token; checked to be an image ≤ 10 MB.

        The token is sent only to Slack's own origins: a download link, or a
        redirect, anywhere else is refused without contacting it.
        """
        try:
            info = self.s.slack.files_info(file=file_id)["file"]
        except SlackApiError as e:
            raise UserError(f"I could not read the uploaded image (Slack said {escape(e.response.get('error', 'error'))}).") from None
        name = str(info.get("name") or "image")[:200]
        mimetype = str(info.get("mimetype") or "")
        size = info.get("size")
        url = info.get("url_private_download") or info.get("url_private")
        if not mimetype.startswith("image/"):
            raise UserError("The campaign image must be an image (PNG, JPG, GIF or WebP).")
        if isinstance(size, int) and size > MAX_IMAGE_BYTES:
            raise UserError("The campaign image must be 10 MB or smaller.")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise UserError("I could not find the uploaded image's download link.")
        allowed = self._token_origins()
        try:
            for _ in range(MAX_IMAGE_REDIRECTS + 1):
                if _origin(url) not in allowed:
                    log.warning("refused to send the bot token to %s", _origin(url)[1])
                    raise UserError("The uploaded image is not on Slack's file server, so I did not download it.")
                with requests.get(url, headers={"Authorization": f"Bearer {self.s.slack.token}"}, timeout=15, stream=True,
                                  allow_redirects=False) as resp:
                    if resp.is_redirect:
                        url = requests.compat.urljoin(url, resp.headers.get("Location", ""))
                        continue
                    if resp.status_code != 200:
                        raise UserError(f"I could not download the uploaded image (HTTP {resp.status_code}).")
                    content = b""
                    for chunk in resp.iter_content(65536):
                        content += chunk
                        if len(content) > MAX_IMAGE_BYTES:
                            raise UserError("The campaign image must be 10 MB or smaller.")
                    break
            else:
                raise UserError("Slack redirected the image download too often; try again in a moment.")
        except requests.RequestException:
            raise UserError("I could not download the uploaded image; try again in a moment.") from None
        if not content:
            raise UserError("The uploaded image is empty.")
        return name, content, mimetype

    def _cache_image(self, confirmation_id: str, image) -> None:
        now = time.monotonic()
        with self._images_lock:
            for key in [k for k, (at, _) in self._images.items() if now - at > IMAGE_CACHE_SECONDS]:
                del self._images[key]
            self._images[confirmation_id] = (now, image)

    def _drop_image(self, confirmation_id: str) -> None:
        with self._images_lock:
            self._images.pop(confirmation_id, None)

    def _image_for(self, confirmation_id: str, meta: dict | None):
        if not meta:
            return None
        with self._images_lock:
            cached = self._images.get(confirmation_id)
        if cached is not None:
            return cached[1]
        return self._download_image(meta["file_id"])  # e.g. after a restart
