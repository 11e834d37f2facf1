"""App Home over real HTTP: the dashboard, Post digest now, Refresh, RapidWorkers trouble."""

from __future__ import annotations

import json
import time

import pytest

from bot.digest.blocks import Waiting
from bot.digest.home import HomeData, home_view
from bot.rapidworkers.client import Campaign
from bot.slack import ids
from storage.rows import SubmissionRow
from tests.support.harness import wait_for

HOSTILE = "<!here> Win <@U0BOSS> <https://evil.example|prize>"


def homes(slack, user="U_ALICE") -> list[dict]:
    return [v["view"] for v in slack.views() if v["method"] == "views.publish" and v["user_id"] == user]


def text_of(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def wait_home(slack, count: int, user="U_ALICE") -> dict:
    return wait_for(lambda: len(homes(slack, user)) >= count and homes(slack, user)[count - 1])


def click(poster, action_id: str, user="U_ALICE"):
    return poster.click(action_id, action_id, message_ts="1.0", user_id=user)


@pytest.fixture
def poster(poster):
    """Close the keep-alive connection so the bot's server stops at once after the test."""
    yield poster
    poster.session.close()


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)


def test_home_shows_balance_campaigns_waiting_and_decisions(bot, poster, sandbox, slack, campaign, transport):
    sandbox.add_campaign(HOSTILE, status="Active", total=5)
    sandbox.add_campaign("Old one", status="Completed", total=1)
    sids = [sandbox.add_submission(campaign, proof_text=f"p{n}") for n in range(3)]
    assert bot.review.sync().posted == 3
    bot.review.approve(sids[0], "U_ALICE")
    sandbox.balance = "321.00"

    response = poster.home_opened("U_ALICE")
    assert response.status_code == 200
    view = wait_home(slack, 1)
    assert view["type"] == "home"
    text = text_of(view)
    c = sandbox.campaign(campaign)
    assert "$321.00" in text
    assert "Like our page" in text and f"{c['completed']}/20 done" in text
    assert f"Pending {c['pending']} · Approved {c['approved']} · Rejected {c['rejected']}" in text
    assert "Old one" not in text
    assert "*Waiting for review:* 2 submissions" in text and "waiting since <!date^" in text
    assert f"Approved `{sids[0]}`" in text and "by <@U_ALICE>" in text
    assert "<!here>" not in text and "<@U0BOSS>" not in text and "&lt;!here&gt; Win" in text
    actions = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == [ids.NEXT_OPEN, ids.HOME_NEW_JOB, ids.HOME_POST_DIGEST, ids.HOME_REFRESH]  # Review next: something waits
    # What needs action comes first, campaigns after.
    assert text.index("*Needs action*") < text.index("Review next") < text.index("Active campaigns") < text.index("Last decisions")
    assert "(the oldest for 0 min)" in text


def test_messages_tab_publishes_nothing(bot, poster, slack):
    poster.home_opened("U_ALICE", tab="messages")
    poster.home_opened("U_BOB")
    wait_home(slack, 1, "U_BOB")
    assert homes(slack, "U_ALICE") == []


def test_rapidworkers_unavailable_still_shows_the_home(bot, poster, sandbox, slack):
    sandbox.fail_next(2, status=401)
    poster.home_opened("U_ALICE")
    text = text_of(wait_home(slack, 1))
    assert "RapidWorkers unavailable: Simulated failure" in text
    assert "*Needs action:* nothing" in text


def test_post_digest_now_posts_and_says_so_on_the_home(bot, poster, sandbox, slack, campaign):
    assert click(poster, ids.HOME_POST_DIGEST).status_code == 200
    view = wait_home(slack, 1)
    assert "Digest posted in <#C_REVIEW>" in text_of(view)
    [digest] = [m for m in slack.messages("C_REVIEW") if m.blocks and m.blocks[0]["type"] == "header"]
    assert "Like our page" in json.dumps(digest.blocks)
    row = bot.db.execute("SELECT kind, ts FROM digests").fetchone()
    assert row == ("manual", digest.ts)


def test_post_digest_now_is_refused_to_others(bot, poster, slack):
    click(poster, ids.HOME_POST_DIGEST, user="U_MALLORY")
    view = wait_home(slack, 1, "U_MALLORY")
    assert "Only reviewers can post the digest" in text_of(view)
    assert slack.calls_to("chat.postMessage") == []


def test_refresh_fetches_fresh_numbers_and_acks_first(bot, poster, sandbox, slack):
    poster.home_opened("U_ALICE")
    assert "$1,000.00" in text_of(wait_home(slack, 1))
    sandbox.balance = "777.00"
    sandbox.set_latency(1.2, "/account/get_balance")
    started = time.monotonic()
    assert click(poster, ids.HOME_REFRESH).status_code == 200
    assert time.monotonic() - started < 1.0  # acknowledged before RapidWorkers answered
    assert "$777.00" in text_of(wait_home(slack, 2))


def test_home_view_validates_with_extreme_content():
    long_title = HOSTILE * 40
    campaigns = [
        Campaign(id=f"c{n}", title=long_title, category="", pay=0, location="", created_at=None, status="Active",
                 completed=n, total=40, success_rate="1%", description="", canceled=False, remaining=1,
                 pending=1, approved=1, rejected=1)
        for n in range(40)
    ]
    decisions = [
        SubmissionRow(submission_id=n, campaign_id=f"c{n}", worker_id=None, state="rejected",
                      data={"campaign_title": long_title, "worker_name": long_title}, channel=None, ts=None,
                      claimed_at="2026-01-01T00:00:00+00:00", posted_at=None, acting_user=None, acting_since=None,
                      decided_by=None, decided_at="2026-01-01T00:00:00+00:00", outcome="rejected", amount_paid=None,
                      notes=None, decided_via=None, target_channel=None, batch_row=None)
        for n in range(30)
    ]
    view = home_view(HomeData(now_epoch=0, balance=None, rw_error="e" * 4000, active=campaigns,
                              waiting=Waiting(count=3, oldest_id=1, oldest_title=long_title), decisions=decisions,
                              status="x" * 5000))
    assert len(view["blocks"]) <= 100
    assert "…and 15 more" in text_of(view)


def test_health_section_for_allowed_users_only(bot, poster, sandbox, slack, campaign):
    sandbox.add_submission(campaign, proof_text="p")
    bot.review.sync()
    poster.home_opened("U_ALICE")  # a member of the review channel: may review
    text = text_of(wait_home(slack, 1))
    health = text[text.index('"Health"'):]
    assert "*Review sync:*" in health and "*RapidWorkers budget:*" in health and "of 1000 requests left this hour" in health
    assert "*Errors in the last hour:*" in health and "*Open incidents:* none" in health
    assert "*May review:* members of <#C_REVIEW> (not guests)" in health and "*May spend:* <@U_ALICE>, <@U_BOB>" in health
    assert "*Limits:* daily spend no limit per person" in health and "*Routes:* none" in health and "gigdesk 0.1.0" in health
    poster.home_opened("U_STRANGER")  # not in the review channel
    stranger = text_of(wait_home(slack, 1, "U_STRANGER"))
    assert '"Health"' not in stranger and "May spend" not in stranger and "*Needs action*" in stranger
