"""/rw audit end to end: real decisions, a block and a route through the bot, then the pages: 20 an
entry, newest first, names instead of ids, Previous / Next carrying only the page and the filter,
the filters (a person, a worker, a campaign's title start, since a date) and the CSV."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from bot.slack import ids
from storage import audit as audit_store
from storage import submissions as subs
from tests.bot.reports.conftest import buttons, csv_rows, text_of
from tests.support.harness import wait_for


def entries(payload: dict) -> list[str]:
    """The entry lines of an audit page (every section after the heading)."""
    return [b["text"]["text"] for b in payload["blocks"][1:] if b["type"] == "section"]


@pytest.fixture
def history(reports, sandbox, bot, slack):
    """25 audit entries: 2 long ago, then 3 approvals, a rejection, a block, and 18 digests."""
    with time_machine.travel(datetime(2020, 3, 2, 12, 0, tzinfo=UTC), tick=False):
        audit_store.audit(bot.db, "U_BOB", "digest", None, "posted")
        audit_store.audit(bot.db, "U_BOB", "digest", None, "posted")
    likes = sandbox.add_campaign("Like our page", pay="0.40", total=20)
    retweets = sandbox.add_campaign("Retweet the launch", pay="0.20", total=20)
    noor = sandbox.add_worker("noor_42")
    like_subs = [sandbox.add_submission(likes, worker_id=noor if n < 2 else None) for n in range(3)]
    retweet = sandbox.add_submission(retweets)
    assert bot.review.sync().posted == 4
    for sid in like_subs:
        reports.approve_card(sid)
    bot.review.reject(retweet, "U_BOB", "blurry")
    [blocked] = reports.command(f"block {noor}")
    assert "Blocked" in text_of(blocked)
    for _ in range(18):
        audit_store.audit(bot.db, "U_BOB", "digest", None, "posted")
    assert len(audit_store.audit_since(bot.db, "")) == 25
    return {"likes": likes, "noor": noor, "like_subs": like_subs}


def test_25_entries_are_two_pages_newest_first_with_names_not_ids(reports, history):
    [first] = reports.command("audit")
    assert "page 1 of 2 (25 entries)" in text_of(first)
    lines = entries(first)
    assert len(lines) == 20 and all("post the digest" in line for line in lines[:18])
    assert "block worker" in lines[18] and "noor_42" in lines[18] and history["noor"] not in lines[18]
    assert "*reject*" in lines[19] and "Retweet the launch" in lines[19] and "blurry" in lines[19]
    pager = buttons(first)
    assert set(pager) == {ids.AUDIT_PAGE_NEXT, ids.AUDIT_CSV}
    assert json.loads(pager[ids.AUDIT_PAGE_NEXT]) == {"p": 2}  # the page and the filter, nothing else

    second = reports.click(ids.AUDIT_PAGE_NEXT, pager[ids.AUDIT_PAGE_NEXT])
    assert second["replace_original"] is True and "page 2 of 2" in text_of(second)
    lines = entries(second)
    assert len(lines) == 5
    approvals = [line for line in lines if "*approve*" in line]
    assert len(approvals) == 3 and all("Like our page" in line and "<@U_ALICE>" in line and "$0.40" in line for line in approvals)
    assert history["likes"] not in text_of(second)  # the campaign by its title, never its id
    assert set(buttons(second)) == {ids.AUDIT_PAGE_PREVIOUS, ids.AUDIT_CSV}
    back = reports.click(ids.AUDIT_PAGE_PREVIOUS, buttons(second)[ids.AUDIT_PAGE_PREVIOUS])
    assert "page 1 of 2" in text_of(back)


@pytest.mark.parametrize("filter_text, count, must_show", [
    ("<@U_ALICE|alice>", 4, "block worker"),      # 3 approvals, 1 block
    ("U_BOB", 21, "reject"),                      # 20 digests, 1 rejection
    ("@bob", 21, "reject"),                       # a name typed without picking it
    ("worker {noor}", 3, "block worker"),         # 2 approvals of their submissions, the block
    ("campaign like", 3, "Like our page"),        # a title's start, any case
    ("since 2021-01-01", 23, "reject"),           # not the 2 entries of 2020
    ("U_BOB since 2021-01-01", 19, "digest"),
])
def test_filters(reports, history, filter_text, count, must_show):
    [page] = reports.command("audit " + filter_text.format(noor=history["noor"]))
    assert f"({count} entr" in text_of(page), text_of(page)
    assert len(entries(page)) == min(count, 20)
    assert must_show in text_of(page)
    assert (ids.AUDIT_PAGE_NEXT in buttons(page)) is (count > 20)


def test_the_next_page_keeps_the_filter(reports, history):
    [page] = reports.command("audit <@U_BOB>")
    value = buttons(page)[ids.AUDIT_PAGE_NEXT]
    assert json.loads(value) == {"p": 2, "u": "U_BOB"}
    second = reports.click(ids.AUDIT_PAGE_NEXT, value)
    assert "page 2 of 2 (21 entries)" in text_of(second) and len(entries(second)) == 1


@pytest.mark.parametrize("forged", [
    '{"p":2,"u":"U_BOB","w":"10001"}',   # two filters at once
    '{"p":0}', '{"p":"2"}', '{"p":2,"x":1}', '{"p":2,"s":"2021-02-30"}', '{"p":2,"u":"<@U_BOB>"}',
    '{"p":2,"c":"a\\u0000b"}', "not json", '{"p":2,"u":"' + "U" * 500 + '"}',
])
def test_a_forged_button_value_is_refused_and_reads_nothing(reports, history, forged):
    answer = reports.click(ids.AUDIT_PAGE_NEXT, forged)
    assert "does not belong to an audit page" in text_of(answer)
    assert "entries" not in text_of(answer)


def test_unknown_filters_explain_the_usage(reports, history):
    for text, expected in (("audit campaign zzz", "No campaign I have records of"), ("audit @nobody", "No one called @nobody"),
                           ("audit since yesterday", "not a date"), ("audit since 2021-01-01 U_BOB", "at the end"),
                           ("audit workers 1", "I do not know the filter")):
        [answer] = reports.command(text)
        assert expected in text_of(answer), (text, text_of(answer))


def test_the_csv_goes_to_the_clickers_direct_message_only(reports, slack, bot, history):
    [page] = reports.command("audit", user="U_BOB")
    done = reports.click(ids.AUDIT_CSV, buttons(page)[ids.AUDIT_CSV], user="U_BOB")
    assert "direct messages" in text_of(done)
    [csv_file] = reports.files_of("U_BOB")
    rows = csv_rows(csv_file["content"])
    assert len(rows) == 25 and next(iter(rows[-1].values())).startswith("2020-03-0")  # oldest last, in GIGDESK_TZ
    assert {r["who"] for r in rows} == {"Alice", "Bob"}
    assert slack.direct_message("U_ALICE") is None and all(set(f["shares"]) == {slack.direct_message("U_BOB")} for f in slack.shared_files())
    exported = wait_for(lambda: [e for e in audit_store.audit_since(bot.db, "") if e.action == "audit" and e.outcome == "exported"])
    assert exported[0].user_id == "U_BOB"


def test_someone_not_allowed_is_refused_and_audited(reports, slack, bot, history):
    [answer] = reports.command("audit", user="U_MALLORY")
    assert "not allowed" in text_of(answer)
    click = reports.click(ids.AUDIT_CSV, '{"p":1}', user="U_MALLORY")
    assert "not allowed" in text_of(click)
    refused = [(e.action, e.outcome) for e in audit_store.audit_since(bot.db, "") if e.user_id == "U_MALLORY"]
    assert refused == [("audit", "refused"), ("audit", "refused")]
    assert slack.shared_files() == []


def test_refusals_that_went_unrecorded_are_audited_now(reports, sandbox, bot):
    """Cancelling someone else's offer and blocking a worker already blocked were refused without a trace."""
    [offer] = reports.command("job instagram-likes https://www.instagram.com/p/abc 40")
    answer = reports.click(ids.SPEND_CANCEL, buttons(offer)[ids.SPEND_CANCEL], user="U_BOB")
    assert "who asked for this" in text_of(answer)
    campaign = sandbox.add_campaign("Like our page", total=5)
    worker = sandbox.add_worker("noor_42")
    sid = sandbox.add_submission(campaign, worker_id=worker)
    bot.review.sync()
    reports.command(f"block {worker}")
    posted = subs.get(bot.db, sid)
    assert reports.poster.click(ids.REVIEW_BLOCK, str(sid), message_ts=posted.ts, user_id="U_BOB").status_code == 200

    def refused():
        return {(e.user_id, e.action, e.detail) for e in audit_store.audit_since(bot.db, "") if e.outcome == "refused"}

    wait_for(lambda: {("U_BOB", "job-prefilled", "not the user who asked"), ("U_BOB", "block", "already blocked")} <= refused())
