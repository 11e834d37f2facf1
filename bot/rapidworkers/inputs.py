"""What the RapidWorkers client accepts before it calls: ids, statuses, countries, links, and
the money of a job (prices, commission), checked and normalised."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from bot.apiclient.fields import is_safe_id
from bot.rapidworkers.errors import InvalidInput

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


_CENT = Decimal("0.01")
# Ids go into URL paths: plain characters only. The API does not bound their length (a campaign id of
# 200 characters exists); 255 keeps a path sane.
MAX_ID_LENGTH = 255
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
    if not is_safe_id(text, MAX_ID_LENGTH):
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
