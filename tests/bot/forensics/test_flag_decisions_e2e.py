"""Flags worth reading, end to end: copied text only when distinctive and few share it; "Not a
problem" on a flag and Trust worker, clicked as signed block_actions on the bot's real endpoint,
with the card rebuilt in the Slack stand-in from the database."""

from __future__ import annotations

import json

import pytest

from bot.forensics.text import MAX_SHARERS
from bot.slack import ids
from storage import audit as audit_store
from storage import submissions as subs
from tests.bot.forensics.test_forensics_e2e import card, flag_text, synced
from tests.support.harness import wait_for

RING_TEXT = "Left a five star review as Sam Porter, loved the lemon tart there"
STOCK = "All steps done, confirmation page attached."


@pytest.fixture
def campaign(sandbox):
    return sandbox.add_campaign("Review our cafe", status="Active", pay="0.40", total=80)


def buttons(message) -> dict[str, str]:
    """action_id -> value of every button on the card."""
    return {e["action_id"]: e.get("value", "") for b in message.blocks if b["type"] == "actions" for e in b["elements"]}


def card_text(message) -> str:
    return json.dumps(message.blocks)


def click(poster, bot, sid, action_id, value, user="U_ALICE"):
    row = subs.get(bot.db, sid)
    response = poster.click(action_id, value, message_ts=row.ts, user_id=user)
    assert response.status_code == 200


def audit(bot, action):
    return [(a.user_id, a.target, a.outcome) for a in audit_store.audit_since(bot.db, "") if a.action == action]


def updated(slack, bot, sid, seen: int):
    """The card once it was rebuilt after `seen` updates."""
    return wait_for(lambda: (m := card(slack, bot, sid)).updates > seen and m)


def test_stock_phrases_are_not_flagged_but_a_copy_ring_is(bot, sandbox, slack, campaign):
    stock = [sandbox.add_submission(campaign, proof_text=STOCK) for _ in range(6)]
    ring = [sandbox.add_submission(campaign, proof_text=RING_TEXT) for _ in range(MAX_SHARERS)]
    synced(bot)
    assert [flag_text(card(slack, bot, s)) for s in stock] == [""] * 6
    assert flag_text(card(slack, bot, ring[0])) == ""
    for sid in ring[1:]:
        assert "*copied proof text*: same as submission" in flag_text(card(slack, bot, sid))
    assert bot.review.forensics.suspicious_ids(stock + ring) == set(ring[1:])


def test_copied_text_becomes_boilerplate_past_the_limit_and_earlier_cards_lose_the_flag(bot, sandbox, slack, campaign):
    ring = [sandbox.add_submission(campaign, proof_text=RING_TEXT) for _ in range(MAX_SHARERS)]
    synced(bot)
    assert "copied proof text" in flag_text(card(slack, bot, ring[-1]))
    seen = card(slack, bot, ring[-1]).updates
    one_more = sandbox.add_submission(campaign, proof_text=RING_TEXT)  # a fourth worker: a stock phrase now
    synced(bot)
    synced(bot)  # the next sync rebuilds the cards whose flag was withdrawn
    assert flag_text(card(slack, bot, one_more)) == ""
    assert flag_text(updated(slack, bot, ring[-1], seen)) == ""
    assert bot.review.forensics.suspicious_ids(ring + [one_more]) == set()


def test_not_a_problem_removes_the_flag_is_audited_and_the_pair_never_flags_again(bot, sandbox, slack, poster, campaign):
    first = sandbox.add_submission(campaign, proof_text=RING_TEXT)
    copier = sandbox.add_worker("copier_cole")
    second = sandbox.add_submission(campaign, worker_id=copier, proof_text=RING_TEXT)
    synced(bot)
    before = card(slack, bot, second)
    value = buttons(before)[f"{ids.FLAG_DISMISS}-1"]
    assert value == f"{second}:copied_text:0" and ids.FLAG_TRUST_WORKER in buttons(before)

    click(poster, bot, second, f"{ids.FLAG_DISMISS}-1", value, user="U_MALLORY")  # not an allowed user
    wait_for(lambda: any("not allowed" in e["text"] for e in slack.ephemerals("U_MALLORY")))
    assert audit(bot, ids.FLAG_DISMISS) == [("U_MALLORY", str(second), "refused")]
    assert "*copied proof text*" in flag_text(card(slack, bot, second))

    click(poster, bot, second, f"{ids.FLAG_DISMISS}-1", value)
    after = updated(slack, bot, second, before.updates)
    assert flag_text(after) == "" and "*copied proof text*" not in card_text(after)
    assert "~copied proof text~: not a problem (<@U_ALICE>)" in card_text(after)
    assert f"{ids.FLAG_DISMISS}-1" not in buttons(after)
    assert audit(bot, ids.FLAG_DISMISS)[-1] == ("U_ALICE", str(second), "dismissed")
    assert bot.review.forensics.suspicious_ids([first, second]) == set()

    again = sandbox.add_submission(campaign, worker_id=copier, proof_text=RING_TEXT)  # the same pair, the same words
    third = sandbox.add_submission(campaign, proof_text=RING_TEXT)  # a new worker: a new pair
    synced(bot)
    assert flag_text(card(slack, bot, again)) == ""
    text = flag_text(card(slack, bot, third))
    assert f"submission `{first}`" in text and f"submission `{second}`" in text


def test_not_a_problem_on_a_shared_screenshot(bot, sandbox, slack, poster, campaign):
    first = sandbox.add_submission(campaign, pictures=[7400])
    second = sandbox.add_submission(campaign, pictures=[(7400, 1)])
    synced(bot)
    before = card(slack, bot, second)
    value = buttons(before)[f"{ids.FLAG_DISMISS}-1"]
    assert value == f"{second}:duplicate_other_worker:1" and ids.FLAG_TRUST_WORKER not in buttons(before)  # hard evidence
    click(poster, bot, second, f"{ids.FLAG_DISMISS}-1", value)
    after = updated(slack, bot, second, before.updates)
    assert "~screenshot shared with another worker~: not a problem (<@U_ALICE>)" in card_text(after)
    assert bot.review.forensics.suspicious_ids([first, second]) == set()


@pytest.mark.parametrize("value", ["", "x:copied_text:0", "{sid}:approve:0", "{sid}:copied_text", "{sid}:copied_text:0:1",
                                   " {sid}:copied_text:0", "{sid}:copied_text:１", "{other}:copied_text:0"])
def test_a_forged_or_stale_value_changes_nothing(bot, sandbox, slack, poster, campaign, value):
    sandbox.add_submission(campaign, proof_text=RING_TEXT)
    sid = sandbox.add_submission(campaign, proof_text=RING_TEXT)
    other = sandbox.add_submission(campaign, proof_text="Visited on Friday, Kofi at the counter said hello")
    synced(bot)
    click(poster, bot, sid, f"{ids.FLAG_DISMISS}-1", value.format(sid=sid, other=other))
    wait_for(lambda: any("does not belong" in e["text"] for e in slack.ephemerals("U_ALICE")))
    assert audit(bot, ids.FLAG_DISMISS) == []
    assert "*copied proof text*" in flag_text(card(slack, bot, sid))


def test_trust_hides_soft_flags_is_shown_and_audited_and_untrust_brings_them_back(bot, sandbox, slack, poster, campaign):
    sandbox.add_submission(campaign, proof_text=RING_TEXT)
    worker = sandbox.add_worker("trusted_tia")
    sid = sandbox.add_submission(campaign, worker_id=worker, proof_text=RING_TEXT, pictures=[7500])
    reused = sandbox.add_submission(campaign, pictures=[(7500, 2)], worker_id=worker)  # her own screenshot again: hard
    synced(bot)
    before = card(slack, bot, sid)
    click(poster, bot, sid, ids.FLAG_TRUST_WORKER, buttons(before)[ids.FLAG_TRUST_WORKER], user="U_MALLORY")
    wait_for(lambda: any("not allowed" in e["text"] for e in slack.ephemerals("U_MALLORY")))
    assert audit(bot, ids.FLAG_TRUST_WORKER) == [("U_MALLORY", str(sid), "refused")]

    click(poster, bot, sid, ids.FLAG_TRUST_WORKER, str(sid))
    trusted = updated(slack, bot, sid, before.updates)
    assert "*copied proof text*" not in card_text(trusted)
    assert "trusted worker (<@U_ALICE>): copied-text and burst flags are not shown" in card_text(trusted)
    assert buttons(trusted).get(ids.FLAG_UNTRUST_WORKER) == str(sid) and ids.FLAG_TRUST_WORKER not in buttons(trusted)
    assert audit(bot, ids.FLAG_TRUST_WORKER)[-1] == ("U_ALICE", worker, "trusted")
    assert "*duplicate screenshot* (same worker)" in flag_text(card(slack, bot, reused))  # not a soft flag
    assert bot.review.forensics.suspicious_ids([sid, reused]) == {reused}

    click(poster, bot, sid, ids.FLAG_UNTRUST_WORKER, str(sid))
    untrusted = updated(slack, bot, sid, trusted.updates)
    assert "*copied proof text*" in flag_text(untrusted) and "trusted worker" not in card_text(untrusted)
    assert audit(bot, ids.FLAG_UNTRUST_WORKER) == [("U_ALICE", worker, "untrusted")]
