"""One way to fail and reply: services raise, one funnel (handlers.errors.report_error) answers.

End to end over real HTTP: a /rw command, a review button and a Wonolo modal that
fail unexpectedly each answer with a reference id that names the logged traceback;
known errors (UserError, either API client's UpstreamError) answer their message;
every gated path refuses a non-allowed user the same way and audits it. Plus the
slack-bolt parse_body work-around (bot.slack.bolt_compat).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

import pytest
from slack_bolt.request.internals import parse_body as bolt_parse_body

from bot.errors import NotAllowed, UpstreamError, UserError
from bot.rapidworkers.client import RapidWorkersError
from bot.slack import bolt_compat, ids
from bot.wonolo.client import WonoloError
from storage import audit as audit_store
from storage import submissions as subs
from tests.support.harness import wait_for
from tests.support.slack_requests import SlackPoster

WONOLO_CHANNEL = "C_WONOLO"
REFERENCE = re.compile(r"Something went wrong on my side \(reference ([0-9a-f]{6})\)")


def seen_by(slack, user: str) -> list[str]:
    """Every ephemeral text the user was shown (the stand-in records response_url answers there too)."""
    return [e.get("text") or "" for e in slack.ephemerals(user)]


def answer(slack, user: str, needle: str) -> str:
    return wait_for(lambda: next((t for t in seen_by(slack, user) if needle in t), None))


def logged_reference(caplog, ref: str) -> logging.LogRecord:
    """The log record that names `ref`, with its traceback."""
    found = [r for r in caplog.records if ref in r.getMessage()]
    assert len(found) == 1, [r.getMessage() for r in caplog.records]
    assert found[0].exc_info is not None and found[0].levelno == logging.ERROR
    return found[0]


@pytest.fixture
def poster(bot, slack):
    client = SlackPoster(bot.events_url, standin=slack)
    yield client
    client.session.close()


@pytest.fixture
def wbot(make_bot, wonolo):
    return make_bot(WONOLO_API_KEY=wonolo.api_key, WONOLO_SECRET_KEY=wonolo.secret_key,
                    WONOLO_BASE_URL=wonolo.url, WONOLO_CHANNEL=WONOLO_CHANNEL)


@pytest.fixture
def wposter(wbot, slack):
    client = SlackPoster(wbot.events_url, standin=slack)
    yield client
    client.session.close()


def posted_submission(bot, sandbox) -> dict:
    cid = sandbox.add_campaign("Like our page", status="Active", pay="0.50", total=20)
    sid = sandbox.add_submission(cid, proof_text="done")
    bot.review.sync()
    return wait_for(lambda: (r := subs.get(bot.db, sid)) and r.ts and r)


def known_job(wonolo, bot) -> int:
    """A filled job the bot was told of (webhook), so its buttons and modals name a job it knows."""
    job = wonolo.add_job(wonolo.add_job_request(), wonolo.add_user(), "filled")
    assert wonolo.send_webhook(bot.url + "/wonolo/webhook", "job", job).status_code == 200
    wait_for(lambda: bot.db.execute("SELECT reply_ts FROM wonolo_jobs WHERE job_id = ?", [str(job)]).fetchone() not in (None, (None,)))
    return job


def message_modal_values(text: str = "hi") -> dict:
    return {ids.WONOLO_MESSAGE_BLOCK: {ids.WONOLO_MESSAGE_INPUT: {"type": "plain_text_input", "value": text}}}


# -- unexpected errors: a reference id, and the traceback logged under it -----------------------
# No GIGDESK_ALLOWED_USERS in the tests' settings: who may review is read from Slack
# (conversations.members); a failing Slack there is an error the bot does not expect.


def test_unexpected_error_in_a_rw_command_answers_a_reference_and_logs_it(bot, slack, poster, caplog):
    caplog.set_level(logging.ERROR, logger="gigdesk.handlers")
    slack.fail_next("conversations.members", error="internal_error")
    assert poster.command("/rw", "block W123", user_id="U_ALICE", channel_id="C_REVIEW").status_code == 200
    ref = REFERENCE.search(answer(slack, "U_ALICE", "reference")).group(1)
    record = logged_reference(caplog, ref)
    assert "internal_error" in "".join(logging.Formatter().formatException(record.exc_info))
    assert "Traceback" not in " ".join(seen_by(slack, "U_ALICE"))


def test_unexpected_error_on_a_button_answers_a_reference_and_logs_it(bot, sandbox, slack, poster, caplog):
    caplog.set_level(logging.ERROR, logger="gigdesk.handlers")
    row = posted_submission(bot, sandbox)
    slack.fail_next("conversations.members", error="internal_error")
    assert poster.click(ids.REVIEW_APPROVE, str(row.submission_id), message_ts=row.ts, user_id="U_ALICE").status_code == 200
    ref = REFERENCE.search(answer(slack, "U_ALICE", "reference")).group(1)
    logged_reference(caplog, ref)
    assert subs.get(bot.db, row.submission_id).state == "posted"  # nothing was decided
    assert sandbox.count(path_contains="/approve") == 0


def test_unexpected_error_in_a_modal_answers_a_reference_and_logs_it(wbot, wonolo, slack, wposter, caplog):
    caplog.set_level(logging.ERROR, logger="gigdesk.handlers")
    job = known_job(wonolo, wbot)
    before = wonolo.count()
    slack.fail_next("conversations.members", error="internal_error")
    wposter.submit_view(ids.WONOLO_MESSAGE_MODAL, message_modal_values(), private_metadata=json.dumps({"job_id": str(job)}),
                        user_id="U_ALICE")
    text = answer(slack, "U_ALICE", "reference")
    logged_reference(caplog, REFERENCE.search(text).group(1))
    assert [e["channel"] for e in slack.ephemerals("U_ALICE") if "reference" in e["text"]] == [WONOLO_CHANNEL]  # a modal: its channel
    assert wonolo.count() == before


# -- known errors: their own message, no reference -----------------------------------------------


def test_a_user_error_answers_its_message(wbot, slack, wposter, caplog):
    assert wposter.command("/wonolo", "job", user_id="U_ALICE", channel_id=WONOLO_CHANNEL).status_code == 200
    text = answer(slack, "U_ALICE", "/wonolo job <id>")
    assert text.startswith(":warning: ") and "reference" not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_wonolo_upstream_error_answers_its_message(wbot, wonolo, slack, wposter):
    wonolo.inject_failure(403, times=5, path_contains="/job_requests")
    assert wposter.command("/wonolo", "requests", user_id="U_ALICE", channel_id=WONOLO_CHANNEL).status_code == 200
    text = answer(slack, "U_ALICE", ":warning:")
    assert "reference" not in text and "Wonolo" in text


@pytest.mark.parametrize("command, path", [
    ("requests", "/job_requests"),  # raised to the one funnel
    ("invite new.worker@example.com", "/users/invite"),  # a Wonolo action, explained where it ran
])
def test_an_upstream_error_is_shown_escaped(wbot, wonolo, slack, wposter, command, path):
    """Wonolo's own words reach the user, but as text: they can mention nobody and hide no link."""
    wonolo.inject_failure(422, times=5, path_contains=path,
                          error="<!channel> address taken, see <https://evil.example|your account>")
    assert wposter.command("/wonolo", command, user_id="U_ALICE", channel_id=WONOLO_CHANNEL).status_code == 200
    text = answer(slack, "U_ALICE", "address taken")
    assert "<!channel>" not in text and "<https://evil.example" not in text, text
    assert "&lt;!channel&gt;" in text, text


def test_a_rapidworkers_upstream_error_answers_its_message(bot, sandbox, slack, poster):
    sandbox.fail_next(3, status=401)
    assert poster.command("/rw", "balance", user_id="U_ALICE", channel_id="C_REVIEW").status_code == 200
    text = answer(slack, "U_ALICE", "RapidWorkers")
    assert "reference" not in text and "API key" in text


def test_both_api_clients_fail_with_one_upstream_error():
    assert issubclass(RapidWorkersError, UpstreamError) and issubclass(WonoloError, UpstreamError)
    assert issubclass(NotAllowed, UserError) and not issubclass(UpstreamError, UserError)


# -- refusals: the same NotAllowed on every gated path, each audited --------------------------


def refusals(db, user: str) -> list[dict]:
    return [a for a in audit_store.audit_since(db, "") if a.user_id == user and a.outcome == "refused"]


def test_a_non_allowed_user_is_refused_alike_and_audited_on_each_gated_path(wbot, wonolo, sandbox, slack, wposter):
    mallory = "U_MALLORY"  # not in the review channel (so not allowed), not a spender
    # ... but in the Wonolo channel, where a modal's answer is posted (chat.postEphemeral needs a member).
    slack.set_members(WONOLO_CHANNEL, ["U_ALICE", "U_BOB", mallory, slack.bot_user_id])
    row = posted_submission(wbot, sandbox)
    job = known_job(wonolo, wbot)
    paths = [
        lambda: wposter.command("/rw", "block W1", user_id=mallory, channel_id="C_REVIEW"),  # /rw (reviewers)
        lambda: wposter.command("/rw", "job instagram-likes https://instagram.com/p/x 6", user_id=mallory,
                                channel_id="C_REVIEW"),  # /rw (spenders)
        lambda: wposter.click(ids.REVIEW_APPROVE, str(row.submission_id), message_ts=row.ts, user_id=mallory),
        lambda: wposter.command("/wonolo", "worker someone@example.com", user_id=mallory, channel_id=WONOLO_CHANNEL),
        lambda: wposter.submit_view(ids.WONOLO_MESSAGE_MODAL, message_modal_values(),
                                    private_metadata=json.dumps({"job_id": str(job)}), user_id=mallory),
    ]
    # Each says what grants the right: channel membership to review (no allow-list here), GIGDESK_SPENDERS to spend.
    says_how = ("Join <#C_REVIEW> (non-guests of the review channel may review).", "Ask an admin to add your user ID")
    for n, send in enumerate(paths, start=1):
        assert send().status_code == 200
        wait_for(lambda n=n: len([t for t in seen_by(slack, mallory) if t.endswith(says_how) or says_how[1] in t]) >= n)
        assert len(refusals(wbot.db, mallory)) == n
    shown = [t for t in seen_by(slack, mallory) if t.endswith(says_how) or says_how[1] in t]
    assert len(shown) == len(paths) and all(t.startswith(":warning: You are not allowed") or
                                            t.startswith(":warning: Looking up Wonolo workers is for allowed users only")
                                            for t in shown), shown
    assert sandbox.count(path_contains="/approve") == 0 and slack.views() == []


# -- slack-bolt's parse_body ----------------------------------------------------------------------


def test_bolt_parse_body_drops_a_command_that_mentions_payload_and_ours_does_not():
    form = urlencode({"command": "/rw", "text": "job instagram-likes https://instagram.com/payload 6", "user_id": "U1"})
    assert bolt_compat.needs_parse_body_fix()  # the installed slack-bolt still has the bug ...
    assert bolt_parse_body(form, "application/x-www-form-urlencoded") == {}  # ... which loses the command
    assert bolt_compat.parse_body(form, "application/x-www-form-urlencoded")["text"].endswith("/payload 6")
    interactive = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}})})
    assert bolt_compat.parse_body(interactive, "application/x-www-form-urlencoded")["type"] == "block_actions"
    assert bolt_compat.parse_body('{"type":"event_callback"}', "application/json") == {"type": "event_callback"}
    assert bolt_compat.parse_body("", None) == {}


def test_the_fix_applies_only_to_the_versions_with_the_bug():
    assert bolt_compat.needs_parse_body_fix("1.30.0") and not bolt_compat.needs_parse_body_fix("2.0.0")
