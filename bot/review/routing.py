"""Campaign routes: `/rw route <campaign> #channel` sends a campaign's submissions to its own channel."""

from __future__ import annotations

import re

from slack_sdk.errors import SlackApiError

from bot.config import CHANNEL_ID
from bot.errors import UserError
from bot.rapidworkers.client import RapidWorkersError
from bot.services import Services
from bot.slack import errors as slack_errors
from bot.slack.mrkdwn import escape, truncate
from storage import audit as audit_store
from storage import campaigns as campaign_store
from storage import routes as route_store
from storage.db import Database

# Slack writes a channel picked in the message box as <#C123|name> (or <#C123>).
CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9_]{2,})(?:\|([^>]*))?>$")
OFF_WORDS = {"off", "none", "remove", "default", "-"}


def parse_channel(text: str) -> str:
    """The channel ID in `<#C…|name>`, `<#C…>` or a bare ID; UserError otherwise."""
    value = (text or "").strip()
    found = CHANNEL_MENTION.match(value)
    if found:
        return found.group(1)
    if CHANNEL_ID.match(value) and value[:1] in "CG":
        return value
    shown = truncate(escape(value), 40)
    if value.startswith("#"):
        raise UserError(f"I could not tell which channel `{shown}` is: pick it from Slack's list as you type `#`,"
                        " or give its ID (open the channel, click its name; the ID is at the bottom of the About tab).")
    raise UserError(f"`{shown}` is not a channel: give it as `#channel` (picked from Slack's list) or its ID.")


def shared_outside(info: dict) -> bool:
    """Whether a channel (conversations.info) reaches another organisation: Slack Connect
    (is_ext_shared), an invitation to one not yet accepted, or shared beyond this Enterprise
    Grid organisation (is_shared without is_org_shared)."""
    return bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared") or info.get("pending_shared")
                or (info.get("is_shared") and not info.get("is_org_shared")))


def _listed(campaign_id: str, title: str | None) -> str:
    """A routed campaign in `/rw routes`: its title when synced (no extra request per row), else its id."""
    return f"*{truncate(escape(title), 100)}*" if title else f"campaign `{escape(campaign_id)}`"


class Routes:
    """Set, remove and list routes; allowed users only, audited."""

    def __init__(self, services: Services) -> None:
        self.s = services

    @property
    def db(self) -> Database:
        return self.s.store.db

    def channel_info(self, channel: str) -> dict | None:
        """conversations.info of the channel; None when the bot cannot see it."""
        try:
            return self.s.slack.conversations_info(channel=channel).get("channel") or {}
        except SlackApiError as e:
            if e.response.get("error") in slack_errors.CHANNEL_OUT_OF_REACH:
                return None  # a private channel the bot is not in looks like this
            raise

    def is_member(self, channel: str, user_id: str) -> bool:
        """Whether the user is in the channel (conversations.members, 200 a page)."""
        for page in self.s.slack.conversations_members(channel=channel, limit=200):
            if user_id in page.get("members", []):
                return True
        return False

    def refusal(self, channel: str, user_id: str) -> tuple[str, str] | None:
        """Why a campaign's submissions may not go to this channel: (audit reason, message), or None.

        The bot must be in it; it must not be shared with another organisation (Slack Connect,
        or an invitation to one pending): proof images, worker names and notes would leave the
        company; and the person routing must be in it (no sending work where you cannot see it)."""
        info = self.channel_info(channel)
        if info is None or not info.get("is_member"):
            return (f"bot not in {channel}",
                    f"I am not in <#{channel}>: invite @gigdesk to <#{channel}> first (`/invite @gigdesk` there), then try again.")
        if shared_outside(info):
            return (f"{channel} is shared with another organisation",
                    f"<#{channel}> is shared with another organisation (Slack Connect), so the submissions' proof, worker "
                    "names and notes would leave the company. Route to a channel of your own workspace.")
        if not self.is_member(channel, user_id):
            return (f"router not in {channel}",
                    f"You are not in <#{channel}>: only its members may send a campaign's submissions there. Join it first.")
        return None

    def campaign_name(self, campaign_id: str, title: str | None = None) -> str:
        """How a route reply names the campaign: by its title (given by the caller, else the synced
        campaigns, else RapidWorkers); its id only when none knows it (the id stays in the audit)."""
        if not title:
            title = (campaign_store.campaign_counts(self.db).get(campaign_id) or {}).get("title")
        if not title:
            try:
                title = self.s.rw.get_campaign(campaign_id).title
            except RapidWorkersError:
                title = None
        return f"campaign *{truncate(escape(title), 100)}*" if title else f"campaign `{escape(campaign_id)}`"

    def command(self, campaign_id: str, where: str, user_id: str, *, title: str | None = None) -> str:
        """`/rw route <campaign> <#channel | off>` once the caller is allowed and the campaign checked;
        `title`: how the reply names the campaign (looked up when not given)."""
        if where.strip().lower() in OFF_WORDS:
            return self.remove(campaign_id, user_id, title=title)
        return self.set(campaign_id, parse_channel(where), user_id, title=title)

    def set(self, campaign_id: str, channel: str, user_id: str, *, title: str | None = None) -> str:
        """Route a campaign to a channel (see `refusal`); returns the confirmation to show."""
        refused = self.refusal(channel, user_id)
        if refused is not None:
            audit_store.audit(self.db, user_id, "route", campaign_id, "refused", refused[0])
            raise UserError(refused[1])
        before = route_store.set_route(self.db, campaign_id, channel, user_id)
        audit_store.audit(self.db, user_id, "route", campaign_id, "routed", f"{before or 'review channel'} -> {channel}")
        return f":twisted_rightwards_arrows: New submissions of {self.campaign_name(campaign_id, title)} now go to <#{channel}>."

    def remove(self, campaign_id: str, user_id: str, *, title: str | None = None) -> str:
        before = route_store.remove_route(self.db, campaign_id)
        if before is None:
            return f"C{self.campaign_name(campaign_id, title)[1:]} has no route: its submissions go to the review channel."
        audit_store.audit(self.db, user_id, "route", campaign_id, "unrouted", f"{before} -> review channel")
        return f":leftwards_arrow_with_hook: New submissions of {self.campaign_name(campaign_id, title)} go to the review channel again (not <#{before}>)."

    def listing(self) -> str:
        rows = route_store.route_rows(self.db)
        review = self.s.settings.review_channel
        if not rows:
            return f"No routes: every campaign's submissions go to <#{review}>. Add one with `/rw route <campaign_id> #channel`."
        lines = [f"*Routes* (other campaigns go to <#{review}>):"]
        titles = {cid: c.get("title") for cid, c in campaign_store.campaign_counts(self.db).items()}
        lines += [f"• {_listed(r['campaign_id'], titles.get(r['campaign_id']))} → <#{r['channel']}>" for r in rows[:50]]
        if len(rows) > 50:
            lines.append(f"…and {len(rows) - 50} more.")
        return "\n".join(lines)
