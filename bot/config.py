"""Settings: every variable of DESIGN.md, from the environment and `.env`.

A missing or malformed value raises ConfigError naming the variable; the CLI
turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9_]{2,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9_]{2,}$")
HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_app_token: str | None
    slack_api_url: str
    rapidworkers_api_key: str
    rapidworkers_base_url: str
    wonolo_api_key: str | None
    wonolo_secret_key: str | None
    wonolo_base_url: str | None
    wonolo_channel: str
    db_path: str
    review_channel: str
    digest_channel: str
    digest_hour: int
    digest_minute: int
    tz_name: str
    poll_seconds: int
    allowed_users: frozenset[str]
    port: int
    low_balance: Decimal = Decimal("10.00")
    new_account_days: int = 7
    low_approval_rate: float = 60.0
    rw_hourly_limit: int = 1000
    workers: int = 64
    post_interval: float = 1.0
    forensics: bool = True
    burst_count: int = 5
    burst_minutes: int = 10
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def wonolo_enabled(self) -> bool:
        return bool(self.wonolo_api_key and self.wonolo_secret_key)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def __repr__(self) -> str:  # never print tokens, even by accident
        return f"Settings(review_channel={self.review_channel!r}, db_path={self.db_path!r}, ...)"


def _environment(env: Mapping[str, str] | None, dotenv_path: str | None) -> dict[str, str]:
    """The process environment over `.env` (the environment wins, as usual)."""
    values: dict[str, str] = {}
    path = dotenv_path if dotenv_path is not None else os.path.join(os.getcwd(), ".env")
    if path and os.path.isfile(path):
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ if env is None else env)
    return {k: v.strip() for k, v in values.items()}


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | None = None,
    need_slack: bool = True,
    need_rapidworkers: bool = True,
) -> Settings:
    """Read and validate every setting; raise ConfigError on the first bad one."""
    raw = _environment(env, dotenv_path)

    def get(name: str, default: str | None = None) -> str | None:
        value = raw.get(name, "")
        return value if value != "" else default

    def required(name: str, what: str) -> str:
        value = get(name)
        if value is None:
            raise ConfigError(f"{name} is not set: expected {what}")
        return value

    def integer(name: str, default: int, low: int, high: int) -> int:
        value = get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise ConfigError(f"{name} must be a whole number from {low} to {high}")
        return number

    def url(name: str, default: str) -> str:
        value = get(name, default)
        if not re.match(r"^https?://[^\s/]+", value):
            raise ConfigError(f"{name} must be an http(s) URL, like {default}")
        return value

    def channel(name: str, default: str | None) -> str:
        value = get(name, default)
        if value is None:
            raise ConfigError(f"{name} is not set: expected a Slack channel ID like C0123456789")
        if not CHANNEL_ID.match(value):
            raise ConfigError(f"{name} must be a Slack channel ID like C0123456789 (not a #name)")
        return value

    bot_token = get("SLACK_BOT_TOKEN")
    signing_secret = get("SLACK_SIGNING_SECRET")
    app_token = get("SLACK_APP_TOKEN")
    if need_slack:
        bot_token = required("SLACK_BOT_TOKEN", "a bot token starting with xoxb-")
        if app_token is None:
            signing_secret = required("SLACK_SIGNING_SECRET", "the app's signing secret")
    if bot_token is not None and not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")

    api_url = url("SLACK_API_URL", "https://slack.com/api/")
    if not api_url.endswith("/"):
        api_url += "/"

    rw_key = get("RAPIDWORKERS_API_KEY")
    if need_rapidworkers and rw_key is None:
        raise ConfigError("RAPIDWORKERS_API_KEY is not set: expected your RapidWorkers API key")
    rw_base = url("RAPIDWORKERS_BASE_URL", "https://api.rapidworkers.io").rstrip("/")

    wonolo_key = get("WONOLO_API_KEY")
    wonolo_secret = get("WONOLO_SECRET_KEY")
    if bool(wonolo_key) != bool(wonolo_secret):
        missing = "WONOLO_SECRET_KEY" if wonolo_key else "WONOLO_API_KEY"
        raise ConfigError(f"{missing} is not set: Wonolo needs both WONOLO_API_KEY and WONOLO_SECRET_KEY")
    if wonolo_key is not None and not wonolo_key.startswith("pk_"):
        raise ConfigError("WONOLO_API_KEY must be a Wonolo public key starting with pk_")
    wonolo_base = get("WONOLO_BASE_URL")
    if wonolo_base is not None:
        wonolo_base = url("WONOLO_BASE_URL", "https://api.wonolo.com").rstrip("/")
        if wonolo_base.endswith("/api_v2"):
            raise ConfigError("WONOLO_BASE_URL must not end with /api_v2 (gigdesk appends it)")

    review = channel("GIGDESK_REVIEW_CHANNEL", None)

    at = get("GIGDESK_DIGEST_AT", "09:00")
    match = HH_MM.match(at)
    if not match:
        raise ConfigError("GIGDESK_DIGEST_AT must be a time of day as HH:MM, like 09:00")

    tz_name = get("GIGDESK_TZ", "UTC")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("GIGDESK_TZ must be an IANA time zone name, like Europe/Berlin") from None

    allowed = frozenset(u.strip() for u in (get("GIGDESK_ALLOWED_USERS", "") or "").split(",") if u.strip())
    bad_users = sorted(u for u in allowed if not USER_ID.match(u))
    if bad_users:
        raise ConfigError("GIGDESK_ALLOWED_USERS must be Slack user IDs like U0123456789, comma-separated")

    low_balance_text = get("GIGDESK_LOW_BALANCE", "10.00")
    try:
        low_balance = Decimal(low_balance_text)
        if not low_balance.is_finite() or low_balance < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise ConfigError("GIGDESK_LOW_BALANCE must be an amount in dollars, like 10.00") from None

    forensics = (get("GIGDESK_FORENSICS", "on") or "").lower()
    if forensics not in ("on", "off"):
        raise ConfigError("GIGDESK_FORENSICS must be on or off")

    secrets = tuple(s for s in (bot_token, signing_secret, app_token, rw_key, wonolo_key, wonolo_secret) if s)
    return Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        rapidworkers_api_key=rw_key or "",
        rapidworkers_base_url=rw_base,
        wonolo_api_key=wonolo_key,
        wonolo_secret_key=wonolo_secret,
        wonolo_base_url=wonolo_base,
        wonolo_channel=channel("WONOLO_CHANNEL", review),
        db_path=get("GIGDESK_DB", "gigdesk.db"),
        review_channel=review,
        digest_channel=channel("GIGDESK_DIGEST_CHANNEL", review),
        digest_hour=int(match.group(1)),
        digest_minute=int(match.group(2)),
        tz_name=tz_name,
        poll_seconds=integer("GIGDESK_POLL_SECONDS", 60, 1, 86400),
        allowed_users=allowed,
        port=integer("PORT", 3000, 1, 65535),
        low_balance=low_balance,
        new_account_days=integer("GIGDESK_NEW_ACCOUNT_DAYS", 7, 0, 3650),
        low_approval_rate=float(integer("GIGDESK_LOW_APPROVAL_RATE", 60, 0, 100)),
        rw_hourly_limit=integer("GIGDESK_RW_HOURLY_LIMIT", 1000, 10, 100000),
        workers=integer("GIGDESK_WORKERS", 64, 4, 512),
        post_interval=integer("GIGDESK_POST_INTERVAL_MS", 1000, 0, 60000) / 1000,
        forensics=forensics == "on",
        burst_count=integer("GIGDESK_BURST_COUNT", 5, 1, 1000),
        burst_minutes=integer("GIGDESK_BURST_MINUTES", 10, 1, 1440),
        secrets=secrets,
    )
