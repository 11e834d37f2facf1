"""The digest: content from the simulator, one scheduled digest per local day, catch-up, dry run."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from apscheduler.schedulers.background import BackgroundScheduler

from bot.digest import service as digest_module
from bot.digest.blocks import DigestData, ReviewerTally, Waiting, digest_message
from bot.rapidworkers.client import Campaign
from storage import jobs as job_store
from tests.support.harness import bot_env, wait_for

NY = ZoneInfo("America/New_York")
HOSTILE = "<!channel> Free money <@U0BOSS> <https://evil.example|bank> & more"


@pytest.fixture
def desk(make_gigdesk):
    return make_gigdesk()


def digests(slack) -> list:
    return [m for m in slack.messages("C_DIGEST") if m.blocks and m.blocks[0]["type"] == "header"]


def text_of(message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + "\n" + message.text


def test_digest_reports_the_simulators_numbers(desk, sandbox, slack):
    likes = sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)
    hostile = sandbox.add_campaign(HOSTILE, status="Active", pay="0.25", total=8)
    done = sandbox.add_campaign("Retweet the launch", status="Completed", pay="0.10", total=3)
    sandbox.add_campaign("Waiting for moderation", status="Pending", total=5)
    for _ in range(3):
        sandbox.add_submission(done, status="Approved")
    sandbox.add_submission(likes, status="Approved")
    sids = [sandbox.add_submission(likes, proof_text=f"proof {n}") for n in range(4)]
    sandbox.add_submission(hostile)
    assert desk.features.review.sync().posted == 5
    desk.features.review.approve(sids[0], "U_ALICE")
    desk.features.review.reject(sids[1], "U_BOB", "blurry screenshot")
    job_store.record_job(desk.services.store.db, "job-1", None, "instagram-likes", "Likes", "2.50", "U_ALICE")
    sandbox.balance = "123.45"

    result = desk.features.digest.post(kind="manual")
    assert result["posted"] and result["channel"] == "C_DIGEST"
    [message] = digests(slack)
    assert message.ts == result["ts"]
    text = text_of(message)
    c = sandbox.campaign(likes)
    assert "$123.45" in text
    assert "Like our page" in text and f"{c['completed']}/20 done" in text
    assert f"Pending {c['pending']} · Approved {c['approved']} · Rejected {c['rejected']}" in text
    assert f"{c['remaining']} slots left" in text and f"success rate {c['success_rate']}" in text
    assert "Waiting for moderation" not in text  # not Active
    # spend: one job ($2.50) and one approval ($0.50) in the last 24 h
    assert "*Spent in the last 24 h:* $3.00" in text and "1 job created ($2.50)" in text and "1 approval paid ($0.50)" in text
    assert "<@U_ALICE>: 1 approved" in text and "<@U_BOB>: 1 rejected" in text
    # three still waiting; the oldest links to its review message
    assert "*Waiting for review:* 3 submissions" in text
    assert "https://gigdesk-standin.slack.invalid/archives/C_REVIEW/p" in text
    assert "Completed since the last digest (1)" in text and "Retweet the launch" in text
    # the hostile title cannot ping anyone or disguise a link
    assert "<!channel>" not in text and "<@U0BOSS>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; Free money" in text
    assert message.text.startswith("gigdesk digest for ")

    row = desk.services.store.db.execute("SELECT kind, balance, ts FROM digests").fetchone()
    assert row == ("manual", "123.45", result["ts"])

    # the next digest: balance change since the last one, completed campaign not repeated
    sandbox.balance = "100.00"
    desk.features.digest.post(kind="manual")
    second = text_of(digests(slack)[-1])
    assert "$100.00 (down $23.45 since the last digest)" in second
    assert "Completed since the last digest" not in second and "Retweet the launch" not in second


def test_quiet_day_says_so_in_one_line(desk, slack):
    desk.features.digest.post()
    [message] = digests(slack)
    sections = [b for b in message.blocks if b["type"] == "section"]
    assert [s["text"]["text"] for s in sections] == [
        "*Balance:* $1,000.00",
        "Nothing else to report: no active campaigns, no spending, no decisions and nothing waiting for review.",
    ]


def test_rapidworkers_down_still_posts_with_a_warning(desk, sandbox, slack):
    sandbox.fail_next(2, status=401)
    assert desk.features.digest.post()["posted"]
    assert "RapidWorkers unavailable" in text_of(digests(slack)[0])


@pytest.mark.parametrize(
    "day, expected_utc",
    [
        ("2026-03-07", datetime(2026, 3, 7, 14, 0, tzinfo=UTC)),  # EST, the day before
        ("2026-03-08", datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),  # spring forward: EDT
        ("2026-10-31", datetime(2026, 10, 31, 13, 0, tzinfo=UTC)),  # EDT, the day before
        ("2026-11-01", datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),  # fall back: EST
    ],
)
def test_the_daily_job_fires_at_nine_local_across_dst(make_gigdesk, day, expected_utc):
    desk = make_gigdesk(GIGDESK_TZ="America/New_York", GIGDESK_DIGEST_AT="09:00")
    scheduler = BackgroundScheduler(timezone=desk.services.settings.tz)
    desk.features.digest.schedule(scheduler)
    job = scheduler.get_job(digest_module.JOB_ID)
    assert job.coalesce is True and job.misfire_grace_time >= 3600
    midnight = datetime.fromisoformat(day).replace(tzinfo=NY)
    fire = job.trigger.get_next_fire_time(None, midnight)
    assert fire.astimezone(UTC) == expected_utc
    assert (fire.hour, fire.minute) == (9, 0)
    assert scheduler.get_job(digest_module.CATCH_UP_JOB_ID) is not None


def test_the_job_function_posts_the_scheduled_digest_once(make_gigdesk, slack):
    desk = make_gigdesk(GIGDESK_TZ="America/New_York")
    scheduler = BackgroundScheduler(timezone=desk.services.settings.tz)
    desk.features.digest.schedule(scheduler)
    job = scheduler.get_job(digest_module.JOB_ID)
    with time_machine.travel(datetime(2026, 3, 8, 13, 0, 1, tzinfo=UTC)):
        first = job.func()
        again = job.func()
    assert first["posted"] and again is None
    [message] = digests(slack)
    assert message.blocks[0]["text"]["text"] == "Daily digest · Sunday 8 March 2026"
    rows = desk.services.store.db.execute("SELECT kind, day FROM digests").fetchall()
    assert rows == [("scheduled", "2026-03-08")]


def test_a_restart_does_not_double_the_scheduled_digest(make_gigdesk, slack):
    first, second = make_gigdesk(), make_gigdesk()
    with time_machine.travel(datetime(2026, 6, 1, 9, 30, tzinfo=UTC)):
        assert first.features.digest.catch_up()["posted"]
        assert second.features.digest.catch_up() is None
        assert second.features.digest.post(kind="scheduled") == {"channel": "C_DIGEST", "ts": None, "posted": False}
        # two processes racing for the same day: one posts
        results = []
        third, fourth = make_gigdesk(), make_gigdesk()
        with time_machine.travel(datetime(2026, 6, 2, 9, 30, tzinfo=UTC)):
            threads = [threading.Thread(target=lambda s=s: results.append(s.features.digest.post(kind="scheduled"))) for s in (third, fourth)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    assert sorted(r["posted"] for r in results) == [False, True]
    assert len(digests(slack)) == 2
    # manual digests are not limited
    first.features.digest.post(kind="manual")
    assert len(digests(slack)) == 3


def test_a_missed_digest_is_sent_at_start_only_once_its_time_has_passed(make_gigdesk, slack):
    desk = make_gigdesk(GIGDESK_TZ="Europe/Berlin", GIGDESK_DIGEST_AT="09:00")
    with time_machine.travel(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)):  # 08:59 in Berlin
        assert not desk.features.digest.is_due()
        assert desk.features.digest.catch_up() is None
    assert digests(slack) == []
    with time_machine.travel(datetime(2026, 7, 1, 7, 1, tzinfo=UTC)):  # 09:01 in Berlin
        assert desk.features.digest.catch_up()["posted"]
        assert desk.features.digest.catch_up() is None
    with time_machine.travel(datetime(2026, 7, 1, 21, 59, tzinfo=UTC)):  # 23:59, same day
        restarted = make_gigdesk(GIGDESK_TZ="Europe/Berlin", GIGDESK_DIGEST_AT="09:00")
        assert restarted.features.digest.catch_up() is None
    assert len(digests(slack)) == 1


def test_catch_up_runs_from_the_scheduler_at_start(make_gigdesk, slack):
    make_gigdesk()  # an earlier start: the very first start of an install has no catch-up (tests/sandbox/test_demo.py)
    desk = make_gigdesk()
    scheduler = BackgroundScheduler(timezone=desk.services.settings.tz)
    with time_machine.travel(datetime(2026, 5, 4, 12, 0, tzinfo=UTC)):
        desk.features.digest.schedule(scheduler)
        scheduler.start()
        try:
            wait_for(lambda: digests(slack), timeout=10)
        finally:
            scheduler.shutdown(wait=True)
    assert len(digests(slack)) == 1


def test_a_failed_post_releases_the_day_and_is_retried(make_gigdesk, slack):
    desk = make_gigdesk()
    scheduler = BackgroundScheduler(timezone=desk.services.settings.tz)
    desk.features.digest.schedule(scheduler)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with time_machine.travel(datetime(2026, 5, 5, 10, 0, tzinfo=UTC)):
        assert desk.features.digest.catch_up() is None
        assert desk.services.store.db.execute("SELECT count(*) FROM digests").fetchone()[0] == 0
        retry = scheduler.get_job(digest_module.RETRY_JOB_ID)
        assert retry is not None
        assert retry.func()["posted"]
    assert len(digests(slack)) == 1


def test_dry_run_prints_json_and_posts_nothing(monkeypatch, tmp_path, slack, sandbox, capsys, restore_logging):
    from bot.cli import main

    sandbox.balance = "3.00"  # low: the dry run must not post the alert either
    sandbox.add_campaign("Dry campaign", status="Active", total=10)
    env = bot_env(slack, sandbox, str(tmp_path / "dry.db"), GIGDESK_DIGEST_CHANNEL="C_DIGEST")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    assert main(["digest", "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"channel", "text", "blocks"} and out["channel"] == "C_DIGEST"
    assert "Dry campaign" in json.dumps(out["blocks"]) and "$3.00" in out["text"]
    assert slack.calls_to("chat.postMessage") == []
    assert slack.messages("C_DIGEST") == [] and slack.messages("C_REVIEW") == []


def _campaign(n: int, title: str) -> Campaign:
    return Campaign(
        id=f"c{n}", title=title, category="Social", pay=Decimal("0.50"), location="", created_at=None,
        status="Active", completed=n, total=100, success_rate="40%", description="", canceled=False,
        remaining=100 - n, pending=3, approved=n, rejected=1,
    )


def test_block_kit_stays_valid_with_extreme_content(slack, desk):
    long_title = (HOSTILE + " ") * 20
    data = DigestData(
        day_label="Sunday 8 March 2026",
        now_epoch=1_772_960_400,
        kind="scheduled",
        balance=Decimal("1234567.89"),
        previous_balance=Decimal("1.00"),
        rw_error="x" * 5000,
        active=[_campaign(n, long_title) for n in range(60)],
        reviewers=[ReviewerTally(f"U{n:05d}", n, 1) for n in range(40)] + [ReviewerTally(None, 3, 0)],
        waiting=Waiting(count=500, oldest_id=1, oldest_title=long_title, oldest_since="2026-03-01T00:00:00+00:00", oldest_link="https://x.invalid/p1?a=1&b=2"),
        completed=[_campaign(n, long_title) for n in range(30)],
        jobs_count=2, jobs_cost=Decimal("5"), approvals_count=1, approvals_paid=Decimal("0.5"),
    )
    text, blocks = digest_message(data)
    assert len(blocks) <= 50 and len(text) <= 3000
    assert "…and 40 more" in json.dumps(blocks, ensure_ascii=False)
    # Slack (the stand-in checks its limits) accepts it
    response = desk.services.slack.chat_postMessage(channel="C_DIGEST", text=text, blocks=blocks)
    assert response["ok"]
