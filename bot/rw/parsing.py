"""`/rw` input, parsed and checked before anything happens (pure functions).

The command text (`split_command`, the `check_*` functions, `parse_job_args`) and the two job
modals' values (`parse_job_view`, `parse_new_view`) become validated parameters, or a BadInput /
field errors that say what is wrong: a typo never reaches RapidWorkers, let alone spends.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from bot.config import CHANNEL_ID
from bot.errors import UserError
from bot.rapidworkers.client import MIN_PREFILLED_QUANTITY, PREFILLED_KINDS, InvalidInput, validate_countries, validate_link
from bot.rw import blocks as ui
from bot.rw.finder import KEY_VALUE
from bot.slack import ids
from bot.slack.mrkdwn import escape, money, truncate
from bot.text import suggest

MAX_QUANTITY = 100_000
MAX_PAY_RATE = Decimal("1000")
MAX_IMAGE_BYTES = 10 * 1024 * 1024

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
FILE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")
SLACK_LINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^|>\s]*)(?:\|[^>]*)?>", re.IGNORECASE)
LINK_FORBIDDEN = set('\\<>"{}|^`')
ALL_COUNTRIES = {"all", "any", "*", "-", "everywhere"}
# The custom campaign form's required text fields: (block, parameter, most characters).
NEW_TEXT_FIELDS = (
    (ui.NEW_TITLE_BLOCK, "title", 200),
    (ui.NEW_DESCRIPTION_BLOCK, "description", 3000),
    (ui.NEW_PROOF_BLOCK, "proof_required_description", 3000),
    (ui.NEW_CATEGORY_BLOCK, "category", 100),
)


class BadInput(UserError):
    """Bad command input; `usage` names the usage line to show with it."""

    def __init__(self, message: str, usage: str | None = None):
        super().__init__(message)
        self.usage = usage


def shown(text: object, limit: int = 60) -> str:
    """User or API text echoed back: escaped and short."""
    return truncate(escape(" ".join(str(text).split())), limit)


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
    """`/rw job` (alone or with only a kind), `/rw new`, `/rw approve-all`, `/rw campaign` and `/rw route` alone open a form (the listener does it at once, while the trigger is fresh)."""
    name, args = split_command(text)
    return (not args and name in ("job", "new", "approve-all", "campaign", "route")) or (name == "job" and len(args) == 1)


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
        raise BadInput(f"{article(kind).capitalize()} {kind} link must be on {' or '.join(domains)}, not `{shown(host)}`.", "job")
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


def _new_texts(values: dict, params: dict, errors: dict[str, str]) -> None:
    for block, key, limit in NEW_TEXT_FIELDS:
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


def _pay_rate_error(raw: str) -> str | None:
    """Why a typed pay rate is refused (None: it is a positive amount in whole cents, at most MAX_PAY_RATE)."""
    try:
        pay = Decimal(raw)
        if not pay.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        return "Enter an amount like 0.50."
    if pay <= 0:
        return "The pay rate must be more than $0."
    if pay > MAX_PAY_RATE:
        return f"The pay rate must be at most {money(MAX_PAY_RATE)}."
    if pay != pay.quantize(Decimal("0.01")):
        return "Use at most 2 decimal places (whole cents)."
    return None


def _new_pay_and_tasks(values: dict, params: dict, errors: dict[str, str]) -> None:
    raw_pay = _text(values, ui.NEW_PAY_BLOCK).lstrip("$").strip()
    pay_error = _pay_rate_error(raw_pay)
    if pay_error:
        errors[ui.NEW_PAY_BLOCK] = pay_error
    else:
        params["pay_rate"] = str(Decimal(raw_pay).quantize(Decimal("0.01")))
    raw_n = _text(values, ui.NEW_AVAILABILITIES_BLOCK).replace(",", "")
    if not re.fullmatch(r"[0-9]{1,12}", raw_n):
        errors[ui.NEW_AVAILABILITIES_BLOCK] = "Enter a whole number of tasks."
    elif not 1 <= int(raw_n) <= MAX_QUANTITY:
        errors[ui.NEW_AVAILABILITIES_BLOCK] = f"Between 1 and {MAX_QUANTITY:,}."
    else:
        params["total_availabilities"] = int(raw_n)


def _new_image(values: dict, params: dict, errors: dict[str, str]) -> None:
    """The uploaded campaign image: only its file id is kept (downloaded when the offer is made)."""
    files = _input(values, ui.NEW_IMAGE_BLOCK).get("files") or []
    params["image"] = None
    if not files:
        return
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


def parse_new_view(values: dict) -> tuple[dict, dict[str, str]]:
    """The custom campaign modal's values -> (params, errors by block_id)."""
    errors: dict[str, str] = {}
    params: dict = {}
    _new_texts(values, params, errors)
    _new_pay_and_tasks(values, params, errors)
    params["countries"] = _countries_from_view(values, errors)
    params["approve_once_full"] = bool(_selected(values, ui.NEW_APPROVE_FULL_BLOCK))
    _new_image(values, params, errors)
    return params, errors


def article(word: str) -> str:
    """"a" or "an" before `word`, by its sound as far as its first letter tells (an Instagram, a YouTube)."""
    return "an" if word[:1].lower() in "aeio" else "a"


def parse_route_view(values: dict) -> tuple[dict, dict[str, str]]:
    """The route form's values -> ({"campaign": the value its option carried, "channel": an id}, errors by block_id)."""
    errors: dict[str, str] = {}
    picked = _selected(values, ui.CAMPAIGN_PICK_BLOCK)
    campaign = picked[0] if picked else ""
    if not ID_RE.match(campaign) and not KEY_VALUE.fullmatch(campaign):
        errors[ui.CAMPAIGN_PICK_BLOCK] = "Pick a campaign from the list (type part of its title)."
    channel = _input(values, ids.ROUTE_CHANNEL_BLOCK).get("selected_conversation")
    if not isinstance(channel, str) or not CHANNEL_ID.match(channel):
        errors[ids.ROUTE_CHANNEL_BLOCK] = "Pick a channel."
        channel = ""
    return {"campaign": campaign, "channel": channel}, errors
