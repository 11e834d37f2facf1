"""`/rw`: parsing and validating the command text, and every money rule, once.

Listeners (handlers/rw_command.py) only ack, call one method here and show
the returned Reply (or open the returned modal).

Money rules:

* job creation and approve-all first *offer*: what will happen, the cost,
  the balance before and after, Confirm / Cancel. The offer is a row in the
  `confirmations` table (random id, 10-minute expiry); the Confirm button
  carries that id and nothing else, so the parameters always come from the DB.
* Confirm takes the row atomically (offered -> executing) — once, only by
  the user who asked, only before it expires — and only then calls the API.
* A money call that certainly did not take effect (400, 401, 403, 404, 429,
  connection refused) puts the offer back to 'offered' so Confirm can be
  clicked again; after a 5xx or a timeout it is 'failed' and never retried
  behind the user's back (the job may exist: check `/rw campaigns`).
"""

from __future__ import annotations

import difflib
import html
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import requests
from slack_sdk.errors import SlackApiError

from bot.blocks import commands as ui
from bot.blocks.forensics import worker_message
from bot.config import CHANNEL_ID
from bot.errors import NotAllowed, UserError
from bot.mrkdwn import escape, mention, money, truncate
from bot.rapidworkers import (
    MIN_PREFILLED_QUANTITY,
    PREFILLED_KINDS,
    PREFILLED_UNIT_PRICE,
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
    custom_job_cost,
    prefilled_cost,
    validate_countries,
    validate_link,
)
from storage import forensics as proof_records
from storage import records
from storage.db import utcnow

log = logging.getLogger("gigdesk.commands")

CONFIRM_MINUTES = 10
MAX_QUANTITY = 100_000
MAX_PAY_RATE = Decimal("1000")
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_CACHE_SECONDS = CONFIRM_MINUTES * 60 + 60

SUBCOMMANDS = ("help", "balance", "campaigns", "campaign", "job", "new", "approve-all", "blocked", "block", "unblock", "digest", "worker")
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


@dataclass
class Reply:
    """What to show the user (ephemeral). replace_original: replace the clicked message."""

    text: str
    blocks: list[dict] | None = None
    replace_original: bool = False


@dataclass
class OpenModal:
    view: dict


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
    """`/rw job` alone and `/rw new` open a form (the listener does it at once, while the trigger is fresh)."""
    name, args = split_command(text)
    return not args and name in ("job", "new")


def suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.5)
    return f" Did you mean `{close[0]}`?" if close else ""


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

    @property
    def db(self):
        return self.s.store.db

    @property
    def settings(self):
        return self.s.settings

    # -- entry point ---------------------------------------------------------------

    def run(self, text: str, user_id: str, channel_id: str | None = None) -> Reply | OpenModal:
        """Handle `/rw <text>`; never raises for bad input or API errors."""
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
        }.get(name)
        if handler is None:
            return _reply(ui.help_message(f"Unknown command `{shown(name, 30)}`.{suggest(name, SUBCOMMANDS)}"))
        return self.guard(lambda: handler(args, user_id, channel_id))

    def guard(self, call) -> Reply | OpenModal:
        """Turn known errors into a short reply."""
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

    def require_allowed(self, user_id: str, action: str, target: str | None, what: str) -> None:
        """Refuse (audited) unless the user may spend, block and unblock."""
        if not self.s.is_allowed(user_id):
            records.audit(self.db, user_id, action, target, "refused", "not an allowed user")
            raise NotAllowed(f"You are not allowed to {what}. Ask an admin to add you to the review channel (or GIGDESK_ALLOWED_USERS).")

    # -- read-only -------------------------------------------------------------------

    def help(self, args, user_id, channel_id) -> Reply:
        return _reply(ui.help_message())

    def balance(self, args, user_id, channel_id) -> Reply:
        self._no_args("balance", args)
        return _reply(ui.balance_message(self.s.rw.get_balance(), self.settings.low_balance))

    def campaigns(self, args, user_id, channel_id) -> Reply:
        if len(args) > 1:
            raise BadInput("Give at most one status.", "campaigns")
        status = None
        if args:
            word = args[0].lower()
            if word not in STATUSES:
                raise BadInput(f"Unknown status `{shown(word, 30)}`.{suggest(word, STATUSES)}", "campaigns")
            status = STATUSES[word]
        return _reply(ui.campaigns_message(self.s.rw.list_campaigns(status=status), status))

    def _campaign(self, campaign_id: str):
        try:
            return self.s.rw.get_campaign(campaign_id)
        except NotFound:
            raise UserError(f"No campaign with id `{shown(campaign_id)}`.") from None
        except Forbidden:
            raise UserError(f"Campaign `{shown(campaign_id)}` is not one of yours.") from None

    def campaign(self, args, user_id, channel_id) -> Reply:
        if len(args) > 1:
            raise BadInput("Give one campaign id.", "campaign")
        cid = check_id(args[0] if args else None, "campaign id", "campaign")
        return _reply(ui.campaign_message(self._campaign(cid)))

    def blocked(self, args, user_id, channel_id) -> Reply:
        self._no_args("blocked", args)
        workers = self.s.rw.list_blocked()
        by = {}
        for w in workers:
            local = records.block_of(self.db, str(w.worker_id))
            by[str(w.worker_id)] = local.get("blocked_by") if local else None
        return _reply(ui.blocked_message(workers, by))

    def digest(self, args, user_id, channel_id) -> Reply:
        self._no_args("digest", args)
        result = self.s.digest.post(kind="manual") or {}
        channel = result.get("channel") if isinstance(result, dict) else None
        channel = channel or self.settings.digest_channel
        return _reply(ui.text_message(f":newspaper: Posted the digest to <#{channel}>."))

    def worker(self, args, user_id, channel_id) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "worker")
        wid = check_id(args[0], "worker id", "worker")
        return _reply(worker_message(wid, proof_records.worker_history(self.db, wid), records.block_of(self.db, wid)))

    # -- post pending (campaign button) ------------------------------------------------

    def post_pending(self, campaign_id: str, user_id: str) -> Reply:
        def run():
            cid = check_id(campaign_id, "campaign id", "campaign")
            records.forget_campaign_counts(self.db, cid)
            report = self.s.review.sync()
            records.audit(self.db, user_id, "post-pending", cid, "synced", report.summary()[:500])
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
        self.require_allowed(user_id, "block", wid, "block workers")
        self.s.review.block(wid, user_id, worker_name=None)
        return _reply(ui.text_message(f":no_entry: Blocked worker `{escape(wid)}`. They no longer see your campaigns."))

    def unblock(self, args, user_id, channel_id) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one worker id.", "unblock")
        wid = check_id(args[0], "worker id", "unblock")
        self.require_allowed(user_id, "unblock", wid, "unblock workers")
        self.s.review.unblock(wid, user_id)
        return _reply(ui.text_message(f":white_check_mark: Unblocked worker `{escape(wid)}`."))

    # -- offers ------------------------------------------------------------------------

    def job(self, args, user_id, channel_id) -> Reply | OpenModal:
        if not args:
            self.require_allowed(user_id, "job-prefilled", None, "create jobs")
            return OpenModal(ui.job_modal(channel_id))
        params = parse_job_args(args)
        return self.offer_prefilled(params, user_id)

    def new(self, args, user_id, channel_id) -> Reply | OpenModal:
        self._no_args("new", args)
        self.require_allowed(user_id, "job-custom", None, "create campaigns")
        return OpenModal(ui.new_campaign_modal(channel_id))

    def job_modal(self, user_id: str, channel_id: str | None) -> Reply | OpenModal:
        """The job form (App Home's New job button)."""
        return self.guard(lambda: self.job([], user_id, channel_id))

    def offer_prefilled(self, params: dict, user_id: str) -> Reply:
        kind, quantity = params["kind"], params["quantity"]
        self.require_allowed(user_id, "job-prefilled", kind, "create jobs")
        where = f" in {', '.join(params['countries'])}" if params.get("countries") else ""
        lang = f", language {escape(params['language'])}" if params.get("language") else ""
        what = (f"Create a *{kind}* job: {quantity:,} × {money(PREFILLED_UNIT_PRICE)} for {escape(params['link'])}"
                f"{where}{lang}. Submissions are approved automatically once it is full.")
        return self._offer(user_id, "prefilled", params, prefilled_cost(quantity), what=what, target=kind)

    def offer_custom(self, params: dict, user_id: str) -> Reply:
        def run():
            self.require_allowed(user_id, "job-custom", params.get("title"), "create campaigns")
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

    def offer_approve_all(self, campaign_id: str, user_id: str) -> Reply:
        def run():
            cid = check_id(campaign_id, "campaign id", "approve-all")
            self.require_allowed(user_id, "approve-all", cid, "approve submissions")
            c = self._campaign(cid)
            if c.pending <= 0:
                return _reply(ui.text_message(f"*{escape(c.title)}* has no pending submissions: nothing to approve."))
            cost = (c.pay * c.pending).quantize(Decimal("0.01"))
            what = (f"Approve all *{c.pending}* pending submission(s) of *{truncate(escape(c.title), 200)}* "
                    f"and pay each worker {money(c.pay)}.")
            params = {"campaign_id": cid, "title": c.title[:200], "pending": c.pending, "pay": str(c.pay)}
            return self._offer(user_id, "approve-all", params, cost, what=what, target=cid, estimate=True,
                               cost_note=f"{c.pending} × {money(c.pay)}, from the last count")

        return self.guard(run)

    def approve_all(self, args, user_id, channel_id) -> Reply:
        if len(args) != 1:
            raise BadInput("Give one campaign id.", "approve-all")
        return self.offer_approve_all(args[0], user_id)

    def _offer(self, user_id: str, action: str, params: dict, cost: Decimal, *, what: str, target: str | None,
               estimate: bool = False, cost_note: str | None = None, image=None) -> Reply:
        audit_action = ACTION_LABEL[action]
        balance = self.s.rw.get_balance()
        if balance < cost:
            records.audit(self.db, user_id, audit_action, target, "refused", f"insufficient balance {balance}", str(cost))
            return _reply(ui.spend_insufficient(what=what, cost=cost, balance=balance, estimate=estimate, cost_note=cost_note))
        confirmation_id = secrets.token_urlsafe(18)
        expires = (datetime.now(timezone.utc) + timedelta(minutes=CONFIRM_MINUTES)).isoformat(timespec="microseconds")
        records.create_confirmation(self.db, confirmation_id, user_id, action, params, str(cost), expires)
        if image is not None:
            self._cache_image(confirmation_id, image)
        records.audit(self.db, user_id, audit_action, target, "offered", f"confirmation {confirmation_id[:8]}", str(cost))
        return _reply(ui.spend_offer(what=what, cost=cost, balance=balance, estimate=estimate,
                                     confirmation_id=confirmation_id, cost_note=cost_note, minutes=CONFIRM_MINUTES))

    # -- confirm / cancel -----------------------------------------------------------------

    def _unusable(self, row: dict | None, now: str) -> str:
        if row is None:
            return "This offer does not exist (any more). Run the command again."
        state = row["state"]
        if state == "offered" and row["expires_at"] <= now:
            return f"This offer expired (offers last {CONFIRM_MINUTES} minutes). Nothing was spent; run the command again."
        if state == "executing":
            return "This is already being carried out; wait for the result."
        if state == "done":
            return "This offer was already confirmed and carried out; nothing more was spent."
        if state == "cancelled":
            return "This offer was cancelled. Run the command again if you still want it."
        if state == "failed":
            return "This offer was already used and failed. Check `/rw campaigns` before trying again."
        return "This offer cannot be used any more."

    def confirm(self, confirmation_id: str, user_id: str) -> Reply:
        """The Confirm button: take the offer once, then call the API."""
        now = utcnow()
        row = records.get_confirmation(self.db, confirmation_id) if CONFIRMATION_ID_RE.match(confirmation_id or "") else None
        if row is None:
            records.audit(self.db, user_id, "confirm", None, "refused", "unknown confirmation")
            return problem(self._unusable(None, now))
        audit_action = ACTION_LABEL.get(row["action"], row["action"])
        target = (confirmation_id or "")[:8]
        if row["user_id"] != user_id:
            records.audit(self.db, user_id, audit_action, target, "refused", "not the user who asked", row["cost"])
            return problem(f"Only {mention(row['user_id'])}, who asked for this, can confirm it.")
        if not self.s.is_allowed(user_id):
            records.audit(self.db, user_id, audit_action, target, "refused", "not an allowed user", row["cost"])
            return problem("You are not allowed to spend money any more. Ask an admin to add you to the review channel.")
        if not records.take_confirmation(self.db, confirmation_id, now):
            message = self._unusable(records.get_confirmation(self.db, confirmation_id), now)
            records.audit(self.db, user_id, audit_action, target, "refused", message[:200], row["cost"])
            return problem(message)
        try:
            if row["action"] == "prefilled":
                return self._create_prefilled(row, user_id)
            if row["action"] == "custom":
                return self._create_custom(row, user_id)
            if row["action"] == "approve-all":
                return self._bulk_approve(row, user_id)
            records.finish_confirmation(self.db, confirmation_id, "failed", {"error": "unknown action"})
            return problem("This offer is of a kind I do not know; nothing was spent.")
        except RapidWorkersError as e:
            return self._money_failed(row, user_id, e)
        except UserError as e:  # before the money call (e.g. the image could not be read)
            records.finish_confirmation(self.db, confirmation_id, "offered")
            records.audit(self.db, user_id, audit_action, target, "failed-not-applied", str(e)[:200], row["cost"])
            return problem(f"{e} Nothing was spent; you can click Confirm again.")
        except Exception:
            records.finish_confirmation(self.db, confirmation_id, "failed", {"error": "unexpected"})
            records.audit(self.db, user_id, audit_action, target, "error", "unexpected error", row["cost"])
            raise

    def cancel(self, confirmation_id: str, user_id: str) -> Reply:
        now = utcnow()
        row = records.get_confirmation(self.db, confirmation_id) if CONFIRMATION_ID_RE.match(confirmation_id or "") else None
        if row is None:
            return problem(self._unusable(None, now))
        if row["user_id"] != user_id:
            return problem(f"Only {mention(row['user_id'])}, who asked for this, can cancel it.")
        if records.cancel_confirmation(self.db, confirmation_id):
            self._drop_image(confirmation_id)
            records.audit(self.db, user_id, ACTION_LABEL.get(row["action"], row["action"]), confirmation_id[:8], "cancelled", None, row["cost"])
            return Reply(":heavy_multiplication_x: Cancelled. Nothing was spent.", None, replace_original=True)
        return problem(self._unusable(records.get_confirmation(self.db, confirmation_id), now))

    def _money_failed(self, row: dict, user_id: str, e: RapidWorkersError) -> Reply:
        cid = row["id"]
        audit_action = ACTION_LABEL.get(row["action"], row["action"])
        creating = row["action"] in ("prefilled", "custom")
        reason = explain(e, creating=creating)
        if certainly_not_applied(e):
            records.finish_confirmation(self.db, cid, "offered")
            records.audit(self.db, user_id, audit_action, cid[:8], "failed-not-applied", str(e)[:300], row["cost"])
            return problem(f"{reason} Nothing was spent; the offer above still stands.")
        records.finish_confirmation(self.db, cid, "failed", {"error": str(e)[:300]})
        self._drop_image(cid)
        records.audit(self.db, user_id, audit_action, cid[:8], "failed-unknown", str(e)[:300], row["cost"])
        if creating:
            check = "The job may or may not have been created: check `/rw campaigns` before trying again."
        else:
            check = (f"Some or all submissions may have been approved: check `/rw campaign {escape(row['params']['campaign_id'])}` "
                     "before trying again.")
        return Reply(f":warning: {reason} {check} I will not retry on my own.", None, replace_original=True)

    def _announce(self, text: str) -> None:
        try:
            self.s.slack.chat_postMessage(channel=self.settings.review_channel, text=text, unfurl_links=False, unfurl_media=False)
        except SlackApiError as e:
            log.warning("could not post the spend notice: %s", e.response.get("error"))
        except Exception:
            log.exception("could not post the spend notice")

    def _balance_after(self, reported: Decimal | None) -> Decimal | None:
        if reported is not None:
            return reported
        try:
            return self.s.rw.get_balance()
        except RapidWorkersError:
            return None

    def _created(self, row: dict, user_id: str, job, kind: str, title: str, cost: Decimal, what: str) -> Reply:
        cid = row["id"]
        job_id = job.job_id or f"unknown-{cid[:8]}"
        records.finish_confirmation(self.db, cid, "done", {"job_id": job_id, "cost": str(cost)})
        records.record_job(self.db, job_id, cid, kind, title[:200], str(cost), user_id)
        records.audit(self.db, user_id, ACTION_LABEL[row["action"]], job_id, "created", what[:200], str(cost))
        self._announce(f"{mention(user_id)} created {what} for {money(cost)} (job `{escape(job_id)}`).")
        balance = self._balance_after(job.new_balance)
        details = [f"Job `{escape(job_id)}`", f"cost {money(cost)}"]
        if balance is not None:
            details.append(f"new balance {money(balance)}")
        return _reply(ui.result_message(f":white_check_mark: Created {what}.", details), replace=True)

    def _create_prefilled(self, row: dict, user_id: str) -> Reply:
        p = row["params"]
        job = self.s.rw.create_prefilled_job(p["kind"], p["link"], int(p["quantity"]), p.get("countries") or None, p.get("language"))
        cost = job.total_deducted or job.total_cost or Decimal(row["cost"])
        what = f"a new *{p['kind']}* job ({int(p['quantity']):,} on {escape(p['link'])})"
        return self._created(row, user_id, job, p["kind"], f"{p['kind']} {p['link']}", cost, what)

    def _create_custom(self, row: dict, user_id: str) -> Reply:
        p = row["params"]
        image = self._image_for(row["id"], p.get("image"))
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
        self._drop_image(row["id"])
        cost = job.total_deducted or Decimal(row["cost"])
        what = f"a new campaign *{truncate(escape(p['title']), 200)}* ({int(p['total_availabilities']):,} × {money(Decimal(p['pay_rate']))})"
        return self._created(row, user_id, job, "custom", p["title"], cost, what)

    def _bulk_approve(self, row: dict, user_id: str) -> Reply:
        p = row["params"]
        cid = p["campaign_id"]
        decisions = self.s.rw.bulk_approve(cid)
        paid = sum((d.amount_paid for d in decisions if d.amount_paid is not None), Decimal("0"))
        unknown = sum(1 for d in decisions if d.amount_paid is None)
        total = (paid + Decimal(p.get("pay") or "0") * unknown).quantize(Decimal("0.01"))
        records.finish_confirmation(self.db, row["id"], "done", {"approved": len(decisions), "cost": str(total)})
        records.audit(self.db, user_id, "approve-all", cid, "approved", f"{len(decisions)} submissions", str(total))
        try:
            updated = self.s.review.settle_bulk(cid, decisions, user_id)
        except Exception:
            log.exception("could not rebuild review messages after approve-all of %s", cid)
            updated = 0
        title = truncate(escape(p.get("title") or cid), 200)
        self._announce(f"{mention(user_id)} approved all {len(decisions)} pending submission(s) of *{title}* for about {money(total)}.")
        details = [f"about {money(total)} paid", f"{updated} review message(s) updated"]
        balance = self._balance_after(None)
        if balance is not None:
            details.append(f"new balance {money(balance)}")
        return _reply(ui.result_message(f":white_check_mark: Approved {len(decisions)} submission(s) of *{title}*.", details), replace=True)

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

    def _download_image(self, file_id: str) -> tuple[str, bytes, str]:
        """files.info, then url_private_download with the bot token; checked to be an image ≤ 10 MB."""
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
        try:
            with requests.get(url, headers={"Authorization": f"Bearer {self.s.slack.token}"}, timeout=15, stream=True,
                              allow_redirects=True) as resp:
                if resp.status_code != 200:
                    raise UserError(f"I could not download the uploaded image (HTTP {resp.status_code}).")
                content = b""
                for chunk in resp.iter_content(65536):
                    content += chunk
                    if len(content) > MAX_IMAGE_BYTES:
                        raise UserError("The campaign image must be 10 MB or smaller.")
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
