"""The digest's weekly picture: with the week's first digest, last week's decisions and spend as one
PNG in the digest channel; once per week across a restart; again after Slack refused the upload;
never for an empty week; `gigdesk digest --dry-run --chart PATH` writes it to a file."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image

from bot.reports import charts
from tests.support.harness import BotProcess, bot_env

BERLIN = ZoneInfo("Europe/Berlin")


def pictures(slack) -> list:
    return [m for m in slack.messages("C_DIGEST") if m.files]


def next_monday(day: date) -> date:
    return day + timedelta(days=7 - day.weekday())


@pytest.fixture
def decided_this_week(make_gigdesk, sandbox):
    """Two approvals and a rejection made now through the bot (Berlin time); returns the bot (desk and features)."""
    desk = make_gigdesk(GIGDESK_TZ="Europe/Berlin")
    campaign = sandbox.add_campaign("Like our page", pay="0.50", total=10)
    sids = [sandbox.add_submission(campaign) for _ in range(3)]
    assert desk.features.review.sync().posted == 3
    desk.features.review.approve(sids[0], "U_ALICE")
    desk.features.review.approve(sids[1], "U_ALICE")
    desk.features.review.reject(sids[2], "U_BOB", "blurry")
    return desk


def test_posted_once_per_week_across_a_restart(decided_this_week, make_gigdesk, slack):
    monday = datetime.combine(next_monday(datetime.now(BERLIN).date()), time(9, 30), tzinfo=BERLIN)
    with time_machine.travel(monday, tick=True):
        assert decided_this_week.features.digest.post(kind="scheduled")["posted"]
        [picture] = pictures(slack)
        [png] = picture.files
        assert "2 approved, 1 rejected" in picture.text and "$1.00 spent" in picture.text
        content = slack.file(png["id"])["content"]
        assert Image.open(io.BytesIO(content)).size == (charts.WIDTH_PX, charts.HEIGHT_PX)

        restarted = make_gigdesk(GIGDESK_TZ="Europe/Berlin")  # a new process on the same database
        assert restarted.features.digest.post(kind="manual")["posted"]
        restarted.features.digest.catch_up()
        assert len(pictures(slack)) == 1
        assert len([m for m in slack.messages("C_DIGEST") if m.blocks and m.blocks[0]["type"] == "header"]) == 2

    with time_machine.travel(monday + timedelta(days=7), tick=True):  # the week after: nothing happened then
        restarted.features.digest.post(kind="manual")
        assert len(pictures(slack)) == 1


def test_a_refused_upload_is_tried_again_with_the_next_digest(decided_this_week, slack):
    monday = datetime.combine(next_monday(datetime.now(BERLIN).date()), time(9, 30), tzinfo=BERLIN)
    with time_machine.travel(monday, tick=True):
        slack.fail_next("files.completeUploadExternal", error="internal_error")
        assert decided_this_week.features.digest.post(kind="manual")["posted"]  # the digest itself is posted
        assert pictures(slack) == []
        decided_this_week.features.digest.post(kind="manual")
        assert len(pictures(slack)) == 1


def test_an_empty_week_gets_no_picture(make_gigdesk, slack):
    desk = make_gigdesk(GIGDESK_TZ="Europe/Berlin")
    desk.features.digest.post(kind="manual")
    assert pictures(slack) == [] and slack.calls_to("files.getUploadURLExternal") == []


def test_dry_run_writes_the_picture_to_a_file(decided_this_week, sandbox, slack, tmp_path):
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), GIGDESK_TZ="Europe/Berlin")
    for unneeded in ("GIGDESK_REVIEW_CHANNEL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        del env[unneeded]
    out_path = tmp_path / "week.png"
    proc = BotProcess(env, "digest", "--dry-run", "--chart", str(out_path), workdir=tmp_path)
    assert proc.wait(timeout=120) == 0, proc.output()
    assert f"wrote {out_path}" in proc.output()[0]
    assert Image.open(out_path).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert slack.calls_to("files.getUploadURLExternal") == [] and pictures(slack) == []

    bad = BotProcess(env, "digest", "--chart", str(out_path), workdir=tmp_path)  # not a dry run
    assert bad.wait(timeout=60) == 2 and "--dry-run" in bad.output()[1]
