"""Less noise, end to end over real HTTP: routes per campaign, batch messages for a backlog,
one reminder per waiting submission."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Background
from bot.config import read_settings
from bot.review.reminders import remind_waiting
from bot.slack import ids
from sandbox.slack_workspace.server import SlackStandin
from storage import audit as audit_store
from storage import submissions as subs
from tests.support.harness import BotProcess, RunningBot, bot_env, wait_for
from tests.support.slack_requests import SlackPoster

MEMBERS = ["U_ALICE", "U_BOB", "UBOT"]


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- helpers ----------------------------------------------------------------------------


def rw(poster: SlackPoster, slack, text: str, user: str = "U_ALICE") -> str:
    """Run `/rw <text>` and return the ephemeral reply's text (blocks included)."""
    name = f"/rw {text}"
    poster.command("/rw", text, user_id=user)
    payload = wait_for(lambda: slack.responses(name))[0]["payload"]
    assert payload.get("response_type") == "ephemeral"
    return payload.get("text", "") + dumps(payload.get("blocks") or [])


def single_messages(slack, channel: str) -> list:
    return [m for m in slack.messages(channel, include_replies=False) if (m.metadata or {}).get("event_type") == ids.SUBMISSION_EVENT]


def batch_messages(slack, channel: str) -> list:
    return [m for m in slack.messages(channel, include_replies=False) if (m.metadata or {}).get("event_type") == ids.SUBMISSION_BATCH_EVENT]


def shown_ids(slack, channel: str) -> list[int]:
    """Every submission id named by a review message's metadata in the channel (repeats kept)."""
    found = [m.metadata["event_payload"]["submission_id"] for m in single_messages(slack, channel)]
    for m in batch_messages(slack, channel):
        found += m.metadata["event_payload"]["submission_ids"]
    return found


def row_blocks(message, sid: int) -> list[dict]:
    """The blocks of one row of a batch message (between two dividers)."""
    rows, current = [], []
    for block in message.blocks:
        if block["type"] == "divider":
            rows.append(current)
            current = []
        else:
            current.append(block)
    rows.append(current)
    return next(r for r in rows if f"`{sid}`" in dumps(r))


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def assert_each_once(slack, channel: str, db, sids: list[int]) -> None:
    """Exactly one message names each submission, and the database points at it (row included)."""
    counts = Counter(shown_ids(slack, channel))
    assert sorted(counts) == sorted(sids) and set(counts.values()) == {1}, counts
    for m in batch_messages(slack, channel):
        for n, sid in enumerate(m.metadata["event_payload"]["submission_ids"]):
            row = subs.get(db, sid)
            assert (row.state, row.channel, row.ts, row.batch_row) == ("posted", channel, m.ts, n), row


@pytest.fixture
def standin():
    """A workspace with a second channel (C_OPS) the bot is in, and C_SECRET it is not in; C_CONNECT
    shared with another organisation, C_INVITED about to be, C_GRID shared within this Enterprise
    Grid organisation; C_BOBS, which the bot and Bob are in, not Alice."""
    s = SlackStandin(channels={"C_REVIEW": MEMBERS, "C_OPS": MEMBERS, "C_SECRET": ["U_ALICE"], "C_CONNECT": MEMBERS,
                               "C_INVITED": MEMBERS, "C_GRID": MEMBERS, "C_BOBS": ["U_BOB", "UBOT"]})
    s.share_channel("C_CONNECT", "external")
    s.share_channel("C_INVITED", "pending-external")
    s.share_channel("C_GRID", "org")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def routed_bot(standin, sandbox, tmp_path):
    bots = []

    def make(**overrides):
        b = RunningBot(bot_env(standin, sandbox, str(tmp_path / "gigdesk.db"), **overrides)).start()
        bots.append(b)
        return b

    yield make
    for b in bots:
        b.stop()


@pytest.fixture
def ops_poster(routed_bot, standin):
    b = routed_bot()
    client = SlackPoster(b.events_url, standin=standin)
    yield b, client
    client.session.close()


# --- routing ------------------------------------------------------------------------------


def test_route_sends_a_campaigns_submissions_to_its_channel_and_is_audited(ops_poster, standin, sandbox):
    bot, poster = ops_poster
    routed = sandbox.add_campaign("Ops campaign", status="Active", pay="0.40")
    other = sandbox.add_campaign("Everything else", status="Active")
    reply = rw(poster, standin, f"route {routed} <#C_OPS|ops>")
    assert "now go to <#C_OPS>" in reply
    assert "*Ops campaign*" in reply and routed not in reply  # named by its title, not its id
    audit = [a for a in audit_store.audit_since(bot.db, "2000") if a.action == "route"]
    assert [(a.user_id, a.target, a.outcome) for a in audit] == [("U_ALICE", routed, "routed")]
    assert "C_OPS" in rw(poster, standin, "routes") and routed in rw(poster, standin, "routes")  # not synced yet: its id

    ops_sid = sandbox.add_submission(routed, proof_text="ops proof")
    review_sid = sandbox.add_submission(other, proof_text="other proof")
    report = bot.review.sync()
    assert report.posted == 2
    assert shown_ids(standin, "C_OPS") == [ops_sid] and shown_ids(standin, "C_REVIEW") == [review_sid]
    before = len(standin.responses("/rw routes"))
    poster.command("/rw", "routes")
    listing = wait_for(lambda: len(standin.responses("/rw routes")) > before and standin.responses("/rw routes")[-1])["payload"]["text"]
    assert "*Ops campaign*" in listing and routed not in listing  # synced: by its title
    # the routed message's buttons act on it there
    ts = subs.get(bot.db, ops_sid).ts
    poster.click(ids.REVIEW_APPROVE, str(ops_sid), message_ts=ts, channel_id="C_OPS")
    wait_for(lambda: subs.get(bot.db, ops_sid).state == "approved")
    assert sandbox.submission(ops_sid)["status"] == "Approved"

    # off: back to the review channel
    assert "review channel again" in rw(poster, standin, f"route {routed} off")
    later = sandbox.add_submission(routed, proof_text="after off")
    bot.review.sync()
    assert later in shown_ids(standin, "C_REVIEW") and later not in shown_ids(standin, "C_OPS")


def test_route_to_a_channel_without_the_bot_says_invite_it_and_stores_nothing(ops_poster, standin, sandbox):
    bot, poster = ops_poster
    cid = sandbox.add_campaign("Secret", status="Active")
    reply = rw(poster, standin, f"route {cid} <#C_SECRET|secret>")
    assert "invite @gigdesk to <#C_SECRET> first" in reply
    assert "No routes" in rw(poster, standin, "routes")
    sid = sandbox.add_submission(cid)
    bot.review.sync()
    assert shown_ids(standin, "C_REVIEW") == [sid] and standin.messages("C_SECRET") == []


@pytest.mark.parametrize("channel, says, reason", [
    ("C_CONNECT", "is shared with another organisation (Slack Connect)", "C_CONNECT is shared with another organisation"),
    ("C_INVITED", "is shared with another organisation (Slack Connect)", "C_INVITED is shared with another organisation"),
    ("C_BOBS", "You are not in <#C_BOBS>: only its members may send a campaign's submissions there", "router not in C_BOBS"),
])
def test_route_refuses_channels_outside_the_company_or_the_router_is_not_in_and_audits_why(ops_poster, standin, sandbox,
                                                                                         channel, says, reason):
    bot, poster = ops_poster
    cid = sandbox.add_campaign("Proof stays home", status="Active")
    assert says in rw(poster, standin, f"route {cid} <#{channel}|x>")
    assert bot.db.execute("SELECT count(*) FROM routes").fetchone()[0] == 0
    assert [(a.target, a.outcome, a.detail) for a in audit_store.audit_since(bot.db, "2000") if a.action == "route"] == \
        [(cid, "refused", reason)]
    sid = sandbox.add_submission(cid)
    bot.review.sync()
    assert shown_ids(standin, "C_REVIEW") == [sid] and standin.messages(channel) == []


def test_route_to_a_channel_shared_only_within_the_organisation_is_allowed(ops_poster, standin, sandbox):
    bot, poster = ops_poster
    cid = sandbox.add_campaign("Grid", status="Active")
    assert "now go to <#C_GRID>" in rw(poster, standin, f"route {cid} <#C_GRID|grid>")


@pytest.mark.parametrize("text, says", [
    ("route {cid} #no-such-channel", "I see no channel `#no-such-channel`"),  # a typed #name is looked up
    ("route {cid} ops", "is not a channel"),
    ("route {cid}", "Give a campaign (its id or the start of its title) and a channel"),
    ("route no-such-campaign <#C_OPS|ops>", "No campaign"),
    ("routes extra", "takes no arguments"),
])
def test_bad_route_input_gets_a_short_reply_and_changes_nothing(ops_poster, standin, sandbox, text, says):
    bot, poster = ops_poster
    cid = sandbox.add_campaign("Typo", status="Active")
    reply = rw(poster, standin, text.format(cid=cid))
    assert says in reply and "Traceback" not in reply
    assert bot.db.execute("SELECT count(*) FROM routes").fetchone()[0] == 0


def test_route_is_for_allowed_users_only(routed_bot, standin, sandbox):
    bot = routed_bot(GIGDESK_ALLOWED_USERS="U_BOB")
    poster = SlackPoster(bot.events_url, standin=standin)
    cid = sandbox.add_campaign("Guarded", status="Active")
    assert "not allowed" in rw(poster, standin, f"route {cid} <#C_OPS|ops>", user="U_ALICE")
    assert bot.db.execute("SELECT count(*) FROM routes").fetchone()[0] == 0
    assert [a.outcome for a in audit_store.audit_since(bot.db, "2000") if a.action == "route"] == ["refused"]
    poster.session.close()


def test_a_backlog_in_one_channel_does_not_hold_up_another(sandbox, tmp_path):
    """Slack's limit is per channel (the stand-in enforces it); so is the bot's pacing."""
    slack = SlackStandin(channels={"C_REVIEW": MEMBERS, "C_OPS": MEMBERS}, post_rate=10, post_burst=1)
    slack.start()
    try:
        bot = RunningBot(bot_env(slack, sandbox, str(tmp_path / "g.db"), GIGDESK_POST_INTERVAL_MS="100",
                                 GIGDESK_BATCH_ABOVE="1000", GIGDESK_FORENSICS="off")).start()
        try:
            busy = sandbox.add_campaign("Busy", status="Active")
            quiet = sandbox.add_campaign("Quiet", status="Active")
            backlog = [sandbox.add_submission(busy, proof_text=f"b{n}") for n in range(12)]
            lone = sandbox.add_submission(quiet, proof_text="lone")
            bot.features.review.routes.set(quiet, "C_OPS", "U_ALICE")
            bot.review.sync()
            posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
            order = [c.args["channel"] for c in posts]
            # the quiet channel's one message goes out right after the busy channel's first,
            # not after its whole backlog
            assert order.index("C_OPS") <= 1, order
            assert sorted(shown_ids(slack, "C_REVIEW")) == sorted(backlog) and shown_ids(slack, "C_OPS") == [lone]
        finally:
            bot.stop()
    finally:
        slack.stop()


# --- batches ------------------------------------------------------------------------------


def test_a_backlog_past_batch_above_is_posted_as_batches_of_ten(bot, sandbox, slack):
    cid = sandbox.add_campaign("Backlog", status="Active", pay="0.25", total=100)
    newbie = sandbox.add_worker("NewbieNick", account_age_days=1, approval_rate=90, completed=3)
    copier = sandbox.add_worker("Copier", account_age_days=300, approval_rate=95, completed=50)
    sids = [sandbox.add_submission(cid, proof_text=f"proof <!channel> {n} " + "x" * 400, images=2) for n in range(22)]
    flagged = sandbox.add_submission(cid, worker_id=newbie, proof_text="new here", images=1)
    dupe_a = sandbox.add_submission(cid, proof_text="mine", pictures=[777])
    dupe_b = sandbox.add_submission(cid, worker_id=copier, proof_text="also mine", pictures=[777])
    sids += [flagged, dupe_a, dupe_b]
    report = bot.review.sync()
    assert report.posted == 25 and not report.errors
    assert bot.review.checks.wait(30)  # the proof checks ran after the posts and rebuilt the batch messages
    batches = batch_messages(slack, "C_REVIEW")
    assert [len(m.metadata["event_payload"]["submission_ids"]) for m in batches] == [10, 10, 5]
    assert single_messages(slack, "C_REVIEW") == []
    assert len(slack.calls_to("chat.postMessage")) == 3  # nothing else posted by the sync
    assert_each_once(slack, "C_REVIEW", bot.db, sids)
    first = batches[0]
    row = row_blocks(first, sids[0])
    assert [b["text"]["text"] for b in buttons(row)] == ["Approve", "Reject", "Block worker"]
    assert [b["action_id"] for b in buttons(row)] == [ids.REVIEW_BATCH_APPROVE, ids.REVIEW_BATCH_REJECT, ids.REVIEW_BATCH_BLOCK]
    assert "confirm" in buttons(row)[2]
    assert row[0]["accessory"]["type"] == "image"  # the thumbnail
    text = dumps(row)
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text and "…" in text  # escaped, a snippet
    assert "$0.25" in text and "image" in text.lower()
    where = {sid: m for m in batches for sid in m.metadata["event_payload"]["submission_ids"]}
    assert "new account" in dumps(row_blocks(where[flagged], flagged))
    assert "duplicate screenshot" in dumps(row_blocks(where[dupe_b], dupe_b))
    again = bot.review.sync()
    assert again.posted == 0 and len(slack.calls_to("chat.postMessage")) == 3


def test_up_to_batch_above_each_submission_keeps_its_own_message(make_bot, sandbox, slack):
    bot = make_bot(GIGDESK_BATCH_ABOVE="5", GIGDESK_FORENSICS="off")
    cid = sandbox.add_campaign("Small", status="Active")
    sids = [sandbox.add_submission(cid) for _ in range(5)]
    assert bot.review.sync().posted == 5
    assert batch_messages(slack, "C_REVIEW") == [] and sorted(shown_ids(slack, "C_REVIEW")) == sorted(sids)
    more = [sandbox.add_submission(cid) for _ in range(6)]
    assert bot.review.sync().posted == 6  # six new in one sync: past 5
    assert [len(m.metadata["event_payload"]["submission_ids"]) for m in batch_messages(slack, "C_REVIEW")] == [6]
    assert sorted(shown_ids(slack, "C_REVIEW")) == sorted(sids + more)


def batch_setup(make_bot, sandbox, slack):
    bot = make_bot(GIGDESK_BATCH_ABOVE="2", GIGDESK_FORENSICS="off")
    cid = sandbox.add_campaign("Rows", status="Active", pay="0.30")
    sids = [sandbox.add_submission(cid, proof_text=f"row {n}") for n in range(4)]
    bot.review.sync()
    (message,) = batch_messages(slack, "C_REVIEW")
    return bot, cid, sids, message


def test_approve_on_a_row_decides_that_submission_once_and_rebuilds_the_batch(make_bot, sandbox, slack, poster):
    bot, cid, sids, message = batch_setup(make_bot, sandbox, slack)
    target = sids[1]
    for _ in range(3):  # a triple click reaches RapidWorkers once
        poster.click(ids.REVIEW_BATCH_APPROVE, str(target), message_ts=message.ts)
    wait_for(lambda: subs.get(bot.db, target).state == "approved")
    updated = wait_for(lambda: (m := slack.message("C_REVIEW", message.ts)) and "Approved" in dumps(m.blocks) and m)
    assert sandbox.count(path_contains="/approve") == 1
    assert sandbox.submission(target)["status"] == "Approved"
    assert [sandbox.submission(s)["status"] for s in sids if s != target] == ["Pending"] * 3
    done = row_blocks(updated, target)
    assert buttons(done) == [] and "accessory" not in done[0] and "<@U_ALICE>" in dumps(done)
    for other in (s for s in sids if s != target):
        assert [b["text"]["text"] for b in buttons(row_blocks(updated, other))] == ["Approve", "Reject", "Block worker"]
    assert updated.metadata["event_payload"]["submission_ids"] == sids  # still names every row


def test_reject_on_a_row_opens_the_reason_modal_and_collapses_that_row(make_bot, sandbox, slack, poster):
    bot, cid, sids, message = batch_setup(make_bot, sandbox, slack)
    target = sids[3]
    poster.click(ids.REVIEW_BATCH_REJECT, str(target), message_ts=message.ts)
    view = wait_for(lambda: slack.views())[-1]["view"]
    assert view["callback_id"] == ids.REVIEW_REJECT_MODAL and view["private_metadata"] == str(target)
    reason = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "cropped"}},
              ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}
    poster.submit_view(ids.REVIEW_REJECT_MODAL, reason, private_metadata=str(target))
    wait_for(lambda: subs.get(bot.db, target).state == "rejected")
    updated = wait_for(lambda: (m := slack.message("C_REVIEW", message.ts)) and "Rejected" in dumps(m.blocks) and m)
    assert buttons(row_blocks(updated, target)) == [] and "cropped" in dumps(row_blocks(updated, target))
    assert len(buttons(updated.blocks)) == 3 * 3
    assert sandbox.submission(target)["status"] == "Rejected" and sandbox.count(path_contains="/reject") == 1


def test_a_row_button_acts_only_on_its_own_message(make_bot, sandbox, slack, poster):
    bot, cid, sids, message = batch_setup(make_bot, sandbox, slack)
    elsewhere = sandbox.add_submission(cid)
    assert bot.review.sync().posted == 1  # one new: a message of its own
    other_ts = subs.get(bot.db, elsewhere).ts
    # a value naming a row of the batch, clicked on another message (forged or stale)
    poster.click(ids.REVIEW_BATCH_APPROVE, str(sids[0]), message_ts=other_ts)
    poster.click(ids.REVIEW_BATCH_APPROVE, "１２", message_ts=message.ts)
    wait_for(lambda: len([e for e in slack.ephemerals() if "does not belong" in e["text"]]) == 2)
    assert sandbox.count(path_contains="/approve") == 0
    assert all(subs.get(bot.db, s).state == "posted" for s in sids)


@pytest.mark.parametrize("after_store", [True, False], ids=["killed-after-slack-stored-the-batch", "killed-before-it-reached-slack"])
def test_kill_9_while_posting_a_batch_then_restart_shows_each_submission_once(sandbox, slack, tmp_path, after_store):
    cid = sandbox.add_campaign("Crashy backlog", status="Active", total=100)
    sids = [sandbox.add_submission(cid, proof_text=f"p{n}") for n in range(25)]
    db_path = str(tmp_path / "gigdesk.db")
    env = bot_env(slack, sandbox, db_path, GIGDESK_FORENSICS="off")
    slack.hold("chat.postMessage", 30, after_store=after_store, skip=1)  # the second batch message
    poll = BotProcess(env, "poll", workdir=tmp_path)
    wait_for(lambda: slack.holding("chat.postMessage") == 1, timeout=30)
    poll.kill9()
    wait_for(lambda: slack.holding() == 0)
    assert len(batch_messages(slack, "C_REVIEW")) == (2 if after_store else 1)
    again = BotProcess(env, "poll", workdir=tmp_path)
    assert again.wait() == 0, again.output()
    out = again.output()[0]
    assert "recovered: 10" in out and "posted: 5" in out, out
    from storage.db import connect

    db = connect(db_path)
    assert_each_once(slack, "C_REVIEW", db, sids)
    # the lost batch goes out as a batch again; the 5 left are under GIGDESK_BATCH_ABOVE: one message each
    assert [len(m.metadata["event_payload"]["submission_ids"]) for m in batch_messages(slack, "C_REVIEW")] == [10, 10]
    assert len(single_messages(slack, "C_REVIEW")) == 5


def test_a_5xx_on_a_batch_keeps_its_claims_and_the_next_sync_finds_or_reposts_it(make_bot, sandbox, slack):
    bot = make_bot(GIGDESK_BATCH_ABOVE="3", GIGDESK_FORENSICS="off")
    cid = sandbox.add_campaign("Flaky", status="Active")
    sids = [sandbox.add_submission(cid) for _ in range(5)]
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    first = bot.review.sync()
    assert first.failed == 5 and all(subs.get(bot.db, s).state == "claimed" for s in sids)
    second = bot.review.sync()
    assert second.recovered == 5 and not second.errors
    assert [len(m.metadata["event_payload"]["submission_ids"]) for m in batch_messages(slack, "C_REVIEW")] == [5]
    assert_each_once(slack, "C_REVIEW", bot.db, sids)


# --- reminders ----------------------------------------------------------------------------


def test_one_reminder_per_waiting_submission_with_links_and_the_group_mention(make_bot, sandbox, slack):
    bot = make_bot(GIGDESK_REMIND_AFTER_HOURS="4", GIGDESK_REVIEWER_GROUP="S0REVIEW", GIGDESK_FORENSICS="off")
    cid = sandbox.add_campaign("Slow reviews", status="Active")
    now = datetime.now(UTC)
    old = [sandbox.add_submission(cid, proof_text=f"old {n}", submitted_at=now - timedelta(hours=5 + n)) for n in range(2)]
    fresh = sandbox.add_submission(cid, proof_text="fresh", submitted_at=now - timedelta(hours=1))
    decided = sandbox.add_submission(cid, proof_text="decided", submitted_at=now - timedelta(hours=9))
    bot.review.sync()
    posts_by_sync = len(slack.calls_to("chat.postMessage"))
    reminders = lambda: [m for m in slack.messages("C_REVIEW") if (m.metadata or {}).get("event_type") == ids.REVIEW_REMINDER_EVENT]  # noqa: E731
    assert reminders() == [] and posts_by_sync == 4  # the sync itself never nudges
    bot.review.approve(decided, "U_ALICE")

    assert remind_waiting(bot.services) == 2
    (nudge,) = reminders()
    text = dumps(nudge.blocks)
    assert "<!subteam^S0REVIEW>" in text and "more than 4 h" in text
    assert sorted(nudge.metadata["event_payload"]["submission_ids"]) == sorted(old)
    for sid in old:
        ts = subs.get(bot.db, sid).ts
        assert f"/archives/C_REVIEW/p{ts.replace('.', '')}" in text  # a permalink to its message
    assert f"`{fresh}`" not in text and f"`{decided}`" not in text

    assert remind_waiting(bot.services) == 0 and len(reminders()) == 1  # at most once per submission
    later = datetime.now(UTC) + timedelta(hours=4)
    assert remind_waiting(bot.services, now=later) == 1  # the fresh one, once it is due
    assert reminders()[-1].metadata["event_payload"]["submission_ids"] == [fresh]
    assert remind_waiting(bot.services, now=later) == 0


def test_reminders_are_grouped_per_channel(routed_bot, standin, sandbox):
    bot = routed_bot(GIGDESK_REMIND_AFTER_HOURS="1", GIGDESK_FORENSICS="off")
    a = sandbox.add_campaign("A", status="Active")
    b = sandbox.add_campaign("B", status="Active")
    bot.features.review.routes.set(b, "C_OPS", "U_ALICE")
    past = datetime.now(UTC) - timedelta(hours=3)
    in_review = [sandbox.add_submission(a, submitted_at=past) for _ in range(2)]
    in_ops = [sandbox.add_submission(b, submitted_at=past) for _ in range(3)]
    bot.review.sync()
    assert remind_waiting(bot.services) == 5

    def nudges(channel):
        return [m for m in standin.messages(channel) if (m.metadata or {}).get("event_type") == ids.REVIEW_REMINDER_EVENT]

    assert [sorted(m.metadata["event_payload"]["submission_ids"]) for m in nudges("C_REVIEW")] == [sorted(in_review)]
    assert [sorted(m.metadata["event_payload"]["submission_ids"]) for m in nudges("C_OPS")] == [sorted(in_ops)]
    assert "subteam" not in dumps(nudges("C_OPS")[0].blocks)  # no group set: no mention


def test_reminders_run_as_their_own_scheduled_job_only_when_set(make_bot):
    for env, expected in (({"GIGDESK_REMIND_AFTER_HOURS": "2"}, True), ({}, False)):
        bot = make_bot(**env)
        background = Background(bot.gigdesk)
        background.start()
        try:
            assert (background.scheduler.get_job("review-remind") is not None) is expected
        finally:
            background.stop()
            for thread in threading.enumerate():  # its start-up sync: let it end before the bot stops
                if thread.name == "startup":
                    thread.join(timeout=30)
        bot.stop()


@pytest.mark.parametrize("name, value", [
    ("GIGDESK_BATCH_ABOVE", "lots"),
    ("GIGDESK_REMIND_AFTER_HOURS", "0"),
    ("GIGDESK_REMIND_AFTER_HOURS", "soon"),
    ("GIGDESK_REVIEWER_GROUP", "@reviewers"),
    ("GIGDESK_REVIEWER_GROUP", "U0123ABCD"),
])
def test_bad_less_noise_settings_are_named(name, value):
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "RAPIDWORKERS_API_KEY": "k",
           "GIGDESK_REVIEW_CHANNEL": "C0123ABCD", name: value}
    settings, problems = read_settings(env, dotenv_path="")
    assert [p.variable for p in problems] == [name]
    assert settings.batch_above == 20 and settings.remind_after_hours is None and settings.reviewer_group is None


def test_less_noise_settings_defaults_and_values():
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "RAPIDWORKERS_API_KEY": "k", "GIGDESK_REVIEW_CHANNEL": "C0123ABCD"}
    settings, problems = read_settings(base, dotenv_path="")
    assert not problems and (settings.batch_above, settings.remind_after_hours, settings.reviewer_group) == (20, None, None)
    settings, problems = read_settings({**base, "GIGDESK_BATCH_ABOVE": "50", "GIGDESK_REMIND_AFTER_HOURS": "6",
                                        "GIGDESK_REVIEWER_GROUP": "S0123ABCD"}, dotenv_path="")
    assert not problems and (settings.batch_above, settings.remind_after_hours, settings.reviewer_group) == (50, 6, "S0123ABCD")


def test_blocking_a_worker_marks_their_rows_and_rebuilds_the_batch_once(make_bot, sandbox, slack, poster):
    bot = make_bot(GIGDESK_BATCH_ABOVE="2", GIGDESK_FORENSICS="off")
    cid = sandbox.add_campaign("Block rows", status="Active")
    worker = sandbox.add_worker("Spammy", account_age_days=100, approval_rate=90, completed=10)
    theirs = [sandbox.add_submission(cid, worker_id=worker) for _ in range(3)]
    other = sandbox.add_submission(cid)
    bot.review.sync()
    (message,) = batch_messages(slack, "C_REVIEW")
    poster.click(ids.REVIEW_BATCH_BLOCK, str(theirs[1]), message_ts=message.ts)
    wait_for(lambda: any("Blocked Spammy" in r["payload"].get("text", "") for r in slack.responses()))
    assert str(worker) in sandbox.blocked_ids()
    assert all(subs.get(bot.db, sid).state == "posted" for sid in theirs)  # blocking decides nothing
    updated = slack.message("C_REVIEW", message.ts)
    assert updated.updates == 1  # three rows of that worker, one rebuild
    for sid in theirs:
        row = dumps(row_blocks(updated, sid))
        assert "Worker blocked" in row
        assert [b["text"]["text"] for b in buttons(row_blocks(updated, sid))] == ["Approve", "Reject"]  # still reviewable
    assert "Worker blocked" not in dumps(row_blocks(updated, other))


def test_a_reminder_about_a_big_backlog_keeps_its_metadata_small_and_is_posted(routed_bot, standin, sandbox):
    bot = routed_bot(GIGDESK_REMIND_AFTER_HOURS="1", GIGDESK_FORENSICS="off")
    cid = sandbox.add_campaign("Backlog", status="Active")
    past = datetime.now(UTC) - timedelta(hours=3)
    sids = [sandbox.add_submission(cid, submitted_at=past) for _ in range(120)]
    bot.review.sync()
    assert remind_waiting(bot.services) == 120  # the stand-in refuses metadata arrays past 100 items
    [nudge] = [m for m in standin.messages("C_REVIEW") if (m.metadata or {}).get("event_type") == ids.REVIEW_REMINDER_EVENT]
    payload = nudge.metadata["event_payload"]
    assert payload["count"] == 120 and payload["submission_ids"] == sorted(sids)[:50]
    assert all(len(m.metadata["event_payload"]["submission_ids"]) <= 10 for m in batch_messages(standin, "C_REVIEW"))
