"""/rw spend end to end: real spends through the bot (card approvals, a prefilled job, an approve-all),
then the report: its CSV adds up, to the cent, to what the RapidWorkers simulator charged, the text
states the same total, the chart is a PNG of the stated size, and both files reach the requester's
own direct message and nobody else's."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PIL import Image

from bot.reports import charts
from bot.slack import ids
from storage import audit as audit_store
from tests.bot.reports.conftest import buttons, csv_rows, text_of
from tests.support.harness import wait_for

TOTAL = re.compile(r"Total: \$([0-9,]+\.\d\d)")


def confirm(reports, text: str, user: str = "U_ALICE") -> None:
    [offer] = reports.command(text, user=user)
    reports.click(ids.SPEND_CONFIRM, buttons(offer)[ids.SPEND_CONFIRM], user=user)


@pytest.fixture
def spent(reports, sandbox, bot):
    """Spends of three kinds made through the bot; the simulator's charges start empty."""
    likes = sandbox.add_campaign("Like our page", pay="0.35", total=20)
    shares = sandbox.add_campaign("=HYPERLINK(\"http://evil.example\") shares", pay="1.10", total=10)
    like_subs = [sandbox.add_submission(likes, proof_text=f"like {n}") for n in range(3)]
    share_subs = [sandbox.add_submission(shares, proof_text=f"share {n}") for n in range(4)]
    assert bot.review.sync().posted == 7
    assert sandbox.charges == []
    started = datetime.now(UTC)
    for sid in like_subs:
        reports.approve_card(sid, user="U_BOB")
    confirm(reports, "job instagram-likes https://www.instagram.com/p/abc 40")
    confirm(reports, f"approve-all {shares}")
    # Generous: approve-all pays one submission after another, slowly on a loaded machine.
    wait_for(lambda: all(sandbox.submission(s)["status"] == "Approved" for s in share_subs), timeout=30)
    return {"since": started, "likes": likes, "shares": shares}


def test_the_csv_adds_up_to_what_rapidworkers_charged_and_the_text_says_the_same(reports, sandbox, slack, spent):
    charged = sandbox.charged(spent["since"])
    assert charged == Decimal("0.35") * 3 + Decimal("2.00") + Decimal("1.10") * 4  # 3 approvals, a job of 40 × $0.05, approve-all

    progress, answer = reports.command("spend this-month", answers=2)
    assert "Adding up" in progress["text"]
    found = TOTAL.search(text_of(answer))
    assert found and Decimal(found.group(1).replace(",", "")) == charged
    assert "Like our page" in text_of(answer) and "direct messages" in text_of(answer)

    files = {f["name"].rsplit(".", 1)[-1]: f for f in reports.files_of("U_ALICE")}
    assert set(files) == {"png", "csv"}
    rows = csv_rows(files["csv"]["content"])
    assert len(rows) == 3 + 1 + 4
    assert sum(Decimal(r["amount (USD)"]) for r in rows) == charged
    assert {r["who"] for r in rows} == {"Alice", "Bob"}  # names, not ids
    # A title that a spreadsheet would run as a formula is written as text.
    assert any(r["campaign"].startswith("'=HYPERLINK") for r in rows)

    image = Image.open(io.BytesIO(files["png"]["content"]))
    image.verify()
    assert Image.open(io.BytesIO(files["png"]["content"])).size == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert files["png"]["mimetype"] == "image/png" and files["png"].get("alt_txt")
    # The upload flow as Slack documents it: the declared length is the length sent.
    [announced] = [c for c in slack.calls_to("files.getUploadURLExternal") if c.args.get("filename", "").endswith(".png")]
    assert int(announced.args["length"]) == len(files["png"]["content"])


def test_files_go_to_the_requester_only(reports, slack, spent):
    reports.command("spend", user="U_BOB", answers=2)
    bob_dm = slack.direct_message("U_BOB")
    assert bob_dm and {f["name"].rsplit(".", 1)[-1] for f in reports.files_of("U_BOB")} == {"png", "csv"}
    # Shared in Bob's direct message and nowhere else: not Alice's, not the channel it was typed in.
    assert slack.direct_message("U_ALICE") is None
    assert all(set(f["shares"]) == {bob_dm} for f in slack.shared_files())
    assert slack.shared_files("C_REVIEW") == []
    assert slack.channel_members(bob_dm) == ["U_BOB", "UBOT"]


def test_a_campaign_prefix_keeps_only_its_campaigns(reports, spent):
    _, answer = reports.command("spend this-month like", answers=2)
    assert "Total: $1.05" in text_of(answer)
    rows = csv_rows(next(f for f in reports.files_of("U_ALICE") if f["name"].endswith(".csv"))["content"])
    assert {r["campaign"] for r in rows} == {"Like our page"} and len(rows) == 3


def test_someone_not_allowed_is_refused_audited_and_gets_nothing(reports, slack, bot, spent):
    [answer] = reports.command("spend", user="U_MALLORY")
    assert "not allowed" in text_of(answer)
    refused = [e for e in audit_store.audit_since(bot.db, "") if e.user_id == "U_MALLORY"]
    assert [(e.action, e.outcome) for e in refused] == [("spend", "refused")]
    assert slack.calls_to("conversations.open") == [] and slack.shared_files() == []


@pytest.mark.parametrize("period", ["2025-13", "this-wek", "lastmonthh", "2025-1-1", "nextweek"])
def test_a_bad_period_gets_the_usage_and_nothing_else(reports, slack, bot, period):
    [answer] = reports.command(f"spend {period}")
    text = text_of(answer)
    assert "not a period" in text and "Usage" in text and "/rw spend" in text
    wait_for(lambda: True, timeout=0.3)
    assert len(slack.responses()) == 1  # no progress line, no report
    assert slack.calls_to("conversations.open") == [] and slack.shared_files() == []
    assert [e for e in audit_store.audit_since(bot.db, "") if e.action == "spend"] == []


def test_a_period_with_nothing_spent_says_so_and_sends_no_files(reports, slack):
    _, answer = reports.command("spend 2021-02", answers=2)
    assert "Nothing was spent" in text_of(answer) and "1–28 February 2021" in text_of(answer)
    assert slack.shared_files() == []


def test_the_bot_never_loads_matplotlib_even_after_drawing():
    """Charts are drawn in a child process: the serving process keeps its footprint (benchmarks/charts.py)."""
    import subprocess
    import sys

    code = ("import sys; from datetime import date; from decimal import Decimal; import bot.app; from bot.reports import charts;"
            "png = charts.spend_png([date(2025, 5, 1)], {'A': [Decimal('1.50')]}, title='t'); assert png[:4] == b'\\x89PNG';"
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
