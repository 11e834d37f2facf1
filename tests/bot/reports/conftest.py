"""Driving /rw spend and /rw audit like Slack does: signed requests to the running bot, answers and
files in the Slack stand-in, money in the RapidWorkers simulator."""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest

from bot.slack import ids
from storage import submissions as subs
from tests.support.harness import wait_for
from tests.support.slack_requests import SlackPoster

_names = itertools.count(1)


class Reports:
    def __init__(self, bot, slack):
        self.bot, self.slack = bot, slack
        self.poster = SlackPoster(bot.events_url, standin=slack)

    def command(self, text: str, *, user: str = "U_ALICE", channel: str = "C_REVIEW", answers: int = 1) -> list[dict]:
        """`/rw <text>`; the first `answers` replies the person sees (a progress line counts)."""
        name = f"rw-{next(_names)}"
        url = self.slack.response_url(name, channel=channel, user=user)
        r = self.poster.command("/rw", text, user_id=user, channel_id=channel, response_url=url, trigger_id=f"trig-{name}")
        assert r.status_code == 200
        found = wait_for(lambda: len(self.slack.responses(name)) >= answers and self.slack.responses(name))
        return [p["payload"] for p in found[:answers]]

    def click(self, action_id: str, value: str, *, user: str = "U_ALICE") -> dict:
        name = f"click-{next(_names)}"
        url = self.slack.response_url(name, channel="C_REVIEW", user=user)
        r = self.poster.click(action_id, value, user_id=user, channel_id="C_REVIEW", message_ts="1700000000.000100",
                              is_ephemeral=True, response_url=url)
        assert r.status_code == 200
        return wait_for(lambda: self.slack.responses(name))[-1]["payload"]

    def approve_card(self, submission_id: int, *, user: str = "U_ALICE") -> None:
        row = subs.get(self.bot.db, submission_id)
        assert self.poster.click(ids.REVIEW_APPROVE, str(submission_id), message_ts=row.ts, user_id=user).status_code == 200
        wait_for(lambda: subs.get(self.bot.db, submission_id).state == "approved")

    def files_of(self, user: str) -> list[dict]:
        """The files in `user`'s direct message with the bot ([] when it was never opened)."""
        dm = self.slack.direct_message(user)
        return self.slack.shared_files(dm) if dm else []


@pytest.fixture
def reports(bot, slack):
    driver = Reports(bot, slack)
    yield driver
    driver.poster.session.close()


def text_of(payload: dict) -> str:
    return (payload.get("text") or "") + json.dumps(payload.get("blocks") or [], ensure_ascii=False)


def buttons(payload: dict) -> dict[str, str]:
    return {e["action_id"]: e.get("value") for b in payload.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]}


def csv_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
