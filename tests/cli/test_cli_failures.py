"""The command line fails cleanly: the real `gigdesk` command in a subprocess.

Each test runs `python -m bot.cli …` (what the `gigdesk` console script runs)
against the Slack stand-in, the RapidWorkers simulator and, where it matters,
the Wonolo simulator, all on 127.0.0.1, and reads what a user would read.
"""

from __future__ import annotations

import json
import re
import socket

import pytest

from sandbox.rapidworkers import DEFAULT_API_KEY
from sandbox.slack_workspace.server import SlackStandin
from storage import submissions as subs
from storage.db import connect
from tests.support.harness import BOT_TOKEN, BotProcess, bot_env, free_port
from tests.support.slack_requests import SIGNING_SECRET

SECRETS = (BOT_TOKEN, DEFAULT_API_KEY, SIGNING_SECRET, "pk_test_sandbox", "sk_test_sandbox")


def run(env: dict, *args: str, workdir) -> tuple[int, str, str]:
    """`gigdesk <args>` to the end: (exit code, stdout, stderr)."""
    proc = BotProcess(env, *args, workdir=workdir)
    code = proc.wait(timeout=120)
    out, err = proc.output()
    return code, out, err


def problem_lines(out: str) -> list[str]:
    """The poll report's problem lines ("  ! …")."""
    return [line for line in out.splitlines() if line.lstrip().startswith("! ")]


def review_counts(slack) -> dict[int, int]:
    """submission id -> number of review messages for it in the stand-in."""
    counts: dict[int, int] = {}
    for message in slack.messages("C_REVIEW", include_replies=False):
        sid = ((message.metadata or {}).get("event_payload") or {}).get("submission_id")
        if sid is not None:
            counts[int(sid)] = counts.get(int(sid), 0) + 1
    return counts


def assert_clean(*texts: str) -> None:
    """No traceback, no exception class name, no secret."""
    for text in texts:
        assert "Traceback" not in text, text
        assert not re.search(r"\b\w+(Error|Exception)\b", text), text
        for secret in SECRETS:
            assert secret not in text


def closed_api_url() -> str:
    return f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there: connection refused


# --- gigdesk poll ------------------------------------------------------------------------


def test_poll_while_slack_is_unreachable_fails_in_one_line_then_posts_each_submission_once(sandbox, slack, tmp_path):
    cid = sandbox.add_campaign("Outage", status="Active")
    sids = [sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(3)]
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"))
    down = {**env, "SLACK_API_URL": closed_api_url()}
    down_host = down["SLACK_API_URL"].split("/")[2]

    for attempt in (1, 2):  # the second poll meets the claim the first one left unrecorded
        code, out, err = run(down, "poll", workdir=tmp_path)
        assert code != 0, (attempt, out, err)
        lines = problem_lines(out)
        assert len(lines) == 1, (attempt, out)
        assert down_host in lines[0] and "SLACK_API_URL" in lines[0] and "connection refused" in lines[0], lines
        assert_clean(out, err)
    assert review_counts(slack) == {}

    code, out, err = run(env, "poll", workdir=tmp_path)  # Slack is back
    assert code == 0, (out, err)
    assert problem_lines(out) == []
    assert review_counts(slack) == {sid: 1 for sid in sids}
    db = connect(str(tmp_path / "gigdesk.db"))
    assert all(subs.get(db, sid).state == "posted" for sid in sids)

    code, out, _ = run(env, "poll", workdir=tmp_path)
    assert code == 0 and "posted: 0" in out
    assert review_counts(slack) == {sid: 1 for sid in sids}


def test_poll_when_slack_answers_5xx_fails_in_one_line_then_posts_each_submission_once(sandbox, slack, tmp_path):
    cid = sandbox.add_campaign("Slack 5xx", status="Active")
    sids = [sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(3)]
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"))
    host = slack.api_url.split("/")[2]

    slack.fail_next("chat.postMessage", error="service_unavailable", status=503)
    code, out, err = run(env, "poll", workdir=tmp_path)
    assert code != 0, (out, err)
    lines = problem_lines(out)
    assert len(lines) == 1 and host in lines[0] and "HTTP 503" in lines[0] and "status.slack.com" in lines[0], out
    assert_clean(out, err)
    assert len(slack.calls_to("chat.postMessage")) == 1  # posting stopped at the failure
    assert review_counts(slack) == {}

    # Still failing, now in the look-up of the unrecorded claim.
    slack.fail_next("conversations.history", error="internal_error", status=500)
    code, out, err = run(env, "poll", workdir=tmp_path)
    assert code != 0, (out, err)
    lines = problem_lines(out)
    assert len(lines) == 1 and host in lines[0] and "HTTP 500" in lines[0], out
    assert_clean(out, err)

    code, out, err = run(env, "poll", workdir=tmp_path)
    assert code == 0, (out, err)
    assert review_counts(slack) == {sid: 1 for sid in sids}


# --- gigdesk serve ------------------------------------------------------------------------


def test_serve_on_a_busy_port_says_so_in_one_line(sandbox, slack, tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), PORT=str(port))
        code, out, err = run(env, "serve", workdir=tmp_path)
    assert code != 0
    assert "Traceback" not in err and "OSError" not in err, err
    assert out == "" and len(err.strip().splitlines()) == 1, (out, err)
    assert f"port {port} is already in use" in err and "PORT=" in err, err


# --- gigdesk check ------------------------------------------------------------------------


@pytest.fixture
def wonolo():
    from sandbox.wonolo import WonoloSandbox

    sim = WonoloSandbox(demo_data=False)
    sim.start()
    yield sim
    sim.stop()


def wonolo_env(wonolo) -> dict[str, str]:
    return {"WONOLO_API_KEY": wonolo.api_key, "WONOLO_SECRET_KEY": wonolo.secret_key, "WONOLO_BASE_URL": wonolo.url}


def test_check_lists_every_bad_setting_names_the_env_file_and_still_checks_the_services(sandbox, slack, wonolo, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("GIGDESK_TZ=Mars/Olympus\nGIGDESK_DIGEST_AT=noon\nPORT=many\n")
    env = bot_env(
        slack, sandbox, str(tmp_path / "gigdesk.db"), **wonolo_env(wonolo),
        GIGDESK_REVIEW_CHANNEL="#ops-review", GIGDESK_ALLOWED_USERS="U0ALICE,@ana",
    )
    code, out, err = run(env, "check", workdir=tmp_path)
    assert code == 1, (out, err)
    assert str(env_file) in out
    failed = [line for line in out.splitlines() if line.startswith("[ ]")]
    for variable in ("GIGDESK_REVIEW_CHANNEL", "GIGDESK_ALLOWED_USERS", "PORT", "GIGDESK_TZ", "GIGDESK_DIGEST_AT"):
        assert sum(line.startswith(f"[ ] {variable} ") for line in failed) == 1, (variable, out)
    assert len(failed) == 5, out
    assert "[x] Slack: signed in" in out and "[x] RapidWorkers balance: $" in out and "[x] Wonolo authentication" in out, out
    assert_clean(out, err)
    assert not (tmp_path / "gigdesk.db").exists()  # a check writes nothing


def test_check_words_each_failure_as_what_where_what_to_do(sandbox, slack, wonolo, tmp_path):
    slack_down, wonolo_down = closed_api_url(), closed_api_url().removesuffix("/api/")
    env = bot_env(
        slack, sandbox, str(tmp_path / "gigdesk.db"),
        **{**wonolo_env(wonolo), "WONOLO_BASE_URL": wonolo_down},
        SLACK_API_URL=slack_down, RAPIDWORKERS_API_KEY="rw-refused-key",
    )
    code, out, err = run(env, "check", workdir=tmp_path)
    assert code == 1, (out, err)
    assert "no .env file" in out
    failed = {line.split()[2].rstrip(":"): line for line in out.splitlines() if line.startswith("[ ]")}
    assert set(failed) == {"Slack", "RapidWorkers", "Wonolo"}, out
    what_where_todo = {
        "Slack": (slack_down.split("/")[2], "SLACK_API_URL"),
        "RapidWorkers": (sandbox.url.split("/")[2], "RAPIDWORKERS_API_KEY"),
        "Wonolo": (wonolo_down.split("/")[2], "WONOLO_BASE_URL"),
    }
    for service, (host, setting) in what_where_todo.items():
        assert host in failed[service] and setting in failed[service], failed[service]
    assert "may or may not" not in out
    assert "rw-refused-key" not in out + err
    assert_clean(out, err)


def test_check_warns_when_a_public_review_channel_grants_reviewing(sandbox, tmp_path):
    members = ["U_ALICE", "UBOT"]
    with SlackStandin(channels={"C_REVIEW": members, "G_PRIVATE": members}) as slack:
        env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"))

        code, out, err = run(env, "check", workdir=tmp_path)
        assert code == 0, (out, err)
        warnings = [line for line in out.splitlines() if line.startswith("[!]")]
        assert len(warnings) == 1 and "public" in warnings[0] and "GIGDESK_ALLOWED_USERS" in warnings[0], out

        for safe in ({"GIGDESK_ALLOWED_USERS": "U_ALICE"}, {"GIGDESK_REVIEW_CHANNEL": "G_PRIVATE"}):
            code, out, err = run({**env, **safe}, "check", workdir=tmp_path)
            assert code == 0 and "[!]" not in out, (safe, out, err)
            assert "[x] review channel" in out, out


# --- gigdesk digest --dry-run -----------------------------------------------------------------


def test_digest_dry_run_needs_no_channel_and_previews_as_text(sandbox, slack, tmp_path):
    sandbox.add_campaign("Preview campaign", status="Active", total=10)
    sandbox.balance = "42.50"
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"))
    for unneeded in ("GIGDESK_REVIEW_CHANNEL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        del env[unneeded]

    code, out, err = run(env, "digest", "--dry-run", "--format", "text", workdir=tmp_path)
    assert code == 0, (out, err)
    with pytest.raises(ValueError):
        json.loads(out)
    assert "Balance: $42.50" in out and "Active campaigns (1)" in out and "Preview campaign" in out, out
    assert not re.search(r'[{}*<>]|"type"', out), out  # no JSON, no mrkdwn markup
    assert "not posted" in out

    code, out, err = run(env, "digest", "--dry-run", workdir=tmp_path)  # JSON stays the default
    assert code == 0, (out, err)
    assert set(json.loads(out)) == {"channel", "text", "blocks"}
    assert slack.calls_to("chat.postMessage") == []


# --- channel and user settings --------------------------------------------------------------


@pytest.mark.parametrize(
    "variable, value, where",
    [
        ("GIGDESK_REVIEW_CHANNEL", "#ops-review", "the ID is at the bottom of the About tab"),
        ("GIGDESK_DIGEST_CHANNEL", "#daily", "the ID is at the bottom of the About tab"),
        ("WONOLO_CHANNEL", "#shifts", "the ID is at the bottom of the About tab"),
        ("GIGDESK_ALLOWED_USERS", "@ana", "Copy member ID"),
        ("GIGDESK_ALLOWED_USERS", "U0ALICE, @ana", "Copy member ID"),
    ],
)
def test_a_channel_or_user_name_instead_of_an_id_says_where_to_find_the_id(sandbox, slack, tmp_path, variable, value, where):
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), **{variable: value})
    code, out, err = run(env, "poll", workdir=tmp_path)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"gigdesk: {variable} must be ") and ("not a name" in err or "not names" in err), err
    assert where in err, err
    assert_clean(out, err)


def test_the_exact_wording_for_a_channel_name():
    from bot.config import ConfigError, channel_id_setting

    with pytest.raises(ConfigError) as caught:
        channel_id_setting("GIGDESK_REVIEW_CHANNEL", "#ops-review")
    assert str(caught.value) == (
        "GIGDESK_REVIEW_CHANNEL must be a channel ID like C0123ABCD, not a name: in Slack, open the channel, "
        "click its name; the ID is at the bottom of the About tab."
    )


def test_channel_and_user_ids_are_accepted(sandbox, slack, tmp_path):
    env = bot_env(
        slack, sandbox, str(tmp_path / "gigdesk.db"),
        GIGDESK_DIGEST_CHANNEL="C_DIGEST", WONOLO_CHANNEL="C_WONOLO", GIGDESK_ALLOWED_USERS="U_ALICE, W0BOB",
    )
    code, out, err = run(env, "check", workdir=tmp_path)
    assert code == 0, (out, err)
    assert "[x] every setting is present and well-formed" in out
    assert "[x] review channel #review (C_REVIEW)" in out and "[x] digest channel #digest (C_DIGEST)" in out, out


@pytest.mark.parametrize("token, mark", [("good", "[x]"), ("xapp-1-A0GIGDESK-1-wrong", "[ ]"), ("revoked", "[ ]")])
def test_check_tests_the_app_token_with_apps_connections_open(sandbox, slack, tmp_path, token, mark):
    if token == "revoked":
        slack.revoke_app_token()
    app_token = slack.app_token if token in ("good", "revoked") else token
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), SLACK_APP_TOKEN=app_token)
    code, out, err = run(env, "check", workdir=tmp_path)
    [line] = [line for line in out.splitlines() if "Socket Mode" in line]
    assert line.startswith(mark), out
    if mark == "[x]":
        assert code == 0 and "apps.connections.open" in line
    else:
        assert code == 1
        assert "SLACK_APP_TOKEN" in line and "App-Level Tokens" in line and "connections:write" in line
        assert ("token_revoked" if token == "revoked" else "invalid_auth") in line
    assert [c.method for c in slack.calls_to("apps.connections.open")] == ["apps.connections.open"]
    assert slack.socket_mode.connections == []  # asked for a URL, never connected
    assert_clean(out, err)
    assert app_token not in out + err


def test_serve_on_a_host_that_is_not_this_machines_says_so(sandbox, slack, tmp_path):
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), HOST="192.0.2.1", PORT=str(free_port()))  # TEST-NET-1
    code, out, err = run(env, "serve", workdir=tmp_path)
    assert code == 1
    assert err.strip() == "gigdesk: HOST is no address of this machine: set HOST to 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
