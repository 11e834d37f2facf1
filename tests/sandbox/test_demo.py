"""`gigdesk demo`, `make run` without settings, and the demo's page server (no browser here)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox.demo.main import CONNECT_HINT
from tests.support.harness import REPO, BotProcess, free_port, wait_for


@pytest.fixture
def lively_demo():
    from sandbox.demo.main import RunningDemo

    running = RunningDemo(port=0, poll_seconds=1, new_submission_seconds=0.3, wonolo_change_seconds=0.5)
    yield running
    running.stop()


def review_cards(state: dict) -> list[dict]:
    return [m for m in state["messages"]["C_REVIEW"] if any(b.get("type") == "image" for b in m.get("blocks") or [])]


def test_gigdesk_demo_prints_its_url_and_serves_a_review_card(tmp_path):
    port = free_port()
    demo = BotProcess({}, "demo", "--port", str(port), workdir=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(lambda: url in demo.output()[0], timeout=30)
        out = demo.output()[0]
        assert "simulated money" in out and "gigdesk init" in out
        assert out.count("To connect") == 1 and "init" not in out.replace(CONNECT_HINT, ""), out  # one hint on how to connect Slack, not two different ones
        page = requests.get(url, timeout=5)
        assert page.ok and "Offline demo" in page.text and "simulated money" in page.text
        state = wait_for(lambda: (s := requests.get(url + "api/state", timeout=5).json()) and review_cards(s) and s, timeout=30)
        card = review_cards(state)[0]
        image = next(b for b in card["blocks"] if b["type"] == "image")
        assert requests.get(image["image_url"], timeout=5).headers["Content-Type"].startswith("image/")
        # A digest at start, and a card for each open Wonolo request.
        wait_for(lambda: (s := requests.get(url + "api/state", timeout=5).json()["messages"]) and s["C_DIGEST"] and s["C_WONOLO"], timeout=30)
    finally:
        demo.stop()
    assert demo.proc.returncode == 0
    assert "Traceback" not in demo.output()[1]


def test_gigdesk_demo_on_a_taken_port_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = BotProcess({}, "demo", "--port", str(port), workdir=tmp_path)
        assert demo.wait(timeout=30) == 1
    out, err = demo.output()
    assert f"cannot listen on port {port}" in out and "--port" in out
    assert "Traceback" not in out + err


def test_new_submissions_and_wonolo_changes_keep_arriving(lively_demo):
    page = lively_demo.page

    def new_cards() -> list[int]:
        shown = {m["text"].split(" by ")[0].rsplit(" ", 1)[-1] for m in review_cards(page.state())}
        return [sid for sid in lively_demo.demo.added_ids if str(sid) in shown]

    wait_for(lambda: len(new_cards()) >= 2, timeout=30)
    # A worker takes a shift in the simulator; its signed webhook puts a reply in the request's thread.
    wait_for(lambda: any(m["replies"] for m in page.state()["messages"]["C_WONOLO"]), timeout=30)


def test_a_command_from_the_page_reaches_the_bot_signed_and_other_text_is_refused(lively_demo):
    page_url = lively_demo.url
    slack = lively_demo.demo.slack
    before = len(slack.calls)
    refused = requests.post(page_url + "api/command", json={"channel": "C_REVIEW", "text": "hello there"}, timeout=5).json()
    assert refused["ok"] is False and "/rw help" in refused["error"]
    assert len(slack.calls) == before  # nothing reached the bot, so it called nothing
    answer = requests.post(page_url + "api/command", json={"channel": "C_REVIEW", "text": "/rw balance"}, timeout=10).json()
    assert answer["ok"] is True  # the bot checks the signature: unsigned, it answers 401
    wait_for(lambda: any("$" in e["text"] for e in lively_demo.page.state()["ephemerals"]), timeout=10)


def test_the_page_refuses_oversized_and_malformed_posts(lively_demo):
    url = lively_demo.url + "api/command"
    assert requests.post(url, data=b"x" * (70 * 1024), headers={"Content-Type": "application/json"}, timeout=5).status_code == 413
    assert requests.post(url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=5).status_code == 400
    assert requests.get(lively_demo.url + "static/../page.py", timeout=5).status_code == 404
    # A page elsewhere cannot drive it: a form post (no CORS preflight) and another host name are refused.
    before = len(lively_demo.demo.slack.calls)
    form = requests.post(url, data='{"channel": "C_REVIEW", "text": "/rw balance"}', headers={"Content-Type": "text/plain"}, timeout=5)
    rebound = requests.post(url, json={"channel": "C_REVIEW", "text": "/rw balance"}, headers={"Host": "evil.example:3000"}, timeout=5)
    assert (form.status_code, rebound.status_code) == (415, 403)
    assert not [c for c in lively_demo.demo.slack.calls[before:] if c.method == "response_url"]


@pytest.mark.unit  # an ast scan: kept out of the threaded tier (CPython 3.11 gh-106905)
def test_the_sandbox_never_imports_the_tests():
    import ast

    def imported(path: Path) -> set[str]:
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        return names

    offenders = [str(p) for p in (REPO / "sandbox").rglob("*.py") if any(n.split(".")[0] == "tests" for n in imported(p))]
    assert offenders == []


# --- make run / make demo ------------------------------------------------------------------


def _fake_gigdesk(tmp_path: Path) -> Path:
    """A stand-in for .venv/bin/gigdesk that prints how it was called (newer than pyproject.toml: no install)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "gigdesk"
    script.write_text('#!/bin/sh\necho "gigdesk $*"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def _make(tmp_path: Path, target: str, **env: str) -> str:
    bin_dir = _fake_gigdesk(tmp_path) if not (tmp_path / "bin").exists() else tmp_path / "bin"
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAKE"))} | env
    result = subprocess.run(["make", "-s", "-C", str(REPO), target, f"BIN={bin_dir}", f"ENV_FILE={tmp_path / '.env'}"],
                            capture_output=True, text=True, env=full, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_without_a_env_starts_the_demo_and_with_one_the_bot(tmp_path):
    out = _make(tmp_path, "run")
    assert "gigdesk demo" in out and "gigdesk serve" not in out
    assert "connect" not in out.lower()  # the demo prints the one hint itself (test_gigdesk_demo_prints_…)
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-x\n")
    assert _make(tmp_path, "run").strip() == "gigdesk serve"
    (tmp_path / ".env").unlink()
    assert _make(tmp_path, "run", SLACK_BOT_TOKEN="xoxb-from-env").strip() == "gigdesk serve"
    assert _make(tmp_path, "demo").strip() == "gigdesk demo"


# --- the Socket Mode manifest ----------------------------------------------------------------

from tests.test_manifest import _errors, validator  # noqa: E402, F401  (the schema fixture)


def _without_urls(doc: dict) -> dict:
    import copy

    doc = copy.deepcopy(doc)
    for command in doc["features"]["slash_commands"]:
        command.pop("url", None)
    doc["settings"]["event_subscriptions"].pop("request_url", None)
    doc["settings"]["interactivity"].pop("request_url", None)
    doc["settings"]["interactivity"].pop("message_menu_options_url", None)  # Socket Mode delivers options requests too
    doc["settings"].pop("socket_mode_enabled")
    return doc


def test_the_socket_mode_manifest_is_valid_and_is_manifest_yml_without_public_urls(validator):  # noqa: F811
    import yaml

    socket = yaml.safe_load((REPO / "manifest.socket.yml").read_text(encoding="utf-8"))
    http = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    assert _errors(validator, socket) == []
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "example.com" not in (REPO / "manifest.socket.yml").read_text(encoding="utf-8").split("_metadata")[1]
    assert _without_urls(socket) == _without_urls(http)  # same commands, scopes, events and home


# --- a fresh install's first start; the time zone ----------------------------------------------


def test_the_first_start_of_a_fresh_install_posts_no_catch_up_digest_and_a_restart_does(slack, sandbox, tmp_path):
    from tests.support.harness import bot_env

    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), GIGDESK_DIGEST_CHANNEL="C_DIGEST",
                  GIGDESK_DIGEST_AT="00:00", GIGDESK_TZ="UTC", PORT=str(free_port()))
    first = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        wait_for(lambda: "no catch-up digest" in first.output()[1], timeout=20)
    finally:
        first.stop()
    assert slack.messages("C_DIGEST") == []
    env["PORT"] = str(free_port())
    again = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        wait_for(lambda: slack.messages("C_DIGEST"), timeout=20)  # the same install, started again: today's digest
    finally:
        again.stop()


def test_gigdesk_tz_defaults_to_the_machine_zone():
    from bot.config import load_settings, machine_time_zone

    base = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "RAPIDWORKERS_API_KEY": "k", "GIGDESK_REVIEW_CHANNEL": "C0REVIEW"}
    assert load_settings({**base, "TZ": "Asia/Tokyo"}, dotenv_path="").tz_name == "Asia/Tokyo"
    assert load_settings({**base, "TZ": ":America/Chicago"}, dotenv_path="").tz_name == "America/Chicago"
    assert load_settings({**base, "TZ": "Asia/Tokyo", "GIGDESK_TZ": "Europe/Berlin"}, dotenv_path="").tz_name == "Europe/Berlin"
    assert load_settings(base, dotenv_path="").tz_name == machine_time_zone() != ""
    assert load_settings({**base, "TZ": "Not/AZone"}, dotenv_path="").tz_name == machine_time_zone()


# --- the simulators on the command line ----------------------------------------------------------


def _dotenv_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if re.fullmatch(r"[A-Z_]+=\S+", line))


def test_wonolo_sandbox_sends_signed_webhooks_on_every_state_change_and_prints_dotenv_settings(make_bot, slack, tmp_path):
    port = free_port()
    secret = "sk_test_from_cli"
    bot = make_bot(WONOLO_API_KEY="pk_test_sandbox", WONOLO_SECRET_KEY=secret, WONOLO_BASE_URL=f"http://127.0.0.1:{port}",
                   WONOLO_CHANNEL="C_WONOLO")
    sim = BotProcess({}, "wonolo-sandbox", "--port", str(port), "--webhook", bot.url + "/wonolo/webhook",
                     "--webhook-secret", secret, workdir=tmp_path)
    try:
        printed = wait_for(lambda: "Press Ctrl-C" in sim.output()[0] and _dotenv_lines(sim.output()[0]), timeout=20)
        assert printed == {"WONOLO_BASE_URL": f"http://127.0.0.1:{port}", "WONOLO_API_KEY": "pk_test_sandbox", "WONOLO_SECRET_KEY": secret}
        api = f"http://127.0.0.1:{port}/api_v2"
        token = requests.post(api + "/authenticate", data={"api_key": "pk_test_sandbox", "secret_key": secret}, timeout=5).json()["token"]
        jobs = requests.get(api + "/jobs", params={"token": token, "state": "filled"}, timeout=5).json()["jobs"]
        job = jobs[0]["id"]
        assert slack.messages("C_WONOLO") == []
        requests.patch(f"{api}/jobs/{job}", data={"token": token, "job[state]": "in_progress"}, timeout=5).raise_for_status()
        # Signed with the secret the bot holds: the bot accepts it and shows the change.
        wait_for(lambda: f"webhook job {job} -> HTTP 200" in sim.output()[0], timeout=20)
        wait_for(lambda: any(str(job) in json.dumps(m.blocks) for m in slack.messages("C_WONOLO")), timeout=20)
    finally:
        sim.stop()


def test_rapidworkers_sandbox_prints_its_settings_as_dotenv_lines(tmp_path):
    port = free_port()
    sim = BotProcess({}, "sandbox", "--port", str(port), "--quiet", workdir=tmp_path)
    try:
        printed = wait_for(lambda: _dotenv_lines(sim.output()[0]), timeout=20)
        assert printed == {"RAPIDWORKERS_BASE_URL": f"http://127.0.0.1:{port}", "RAPIDWORKERS_API_KEY": "rw_sandbox_key"}
    finally:
        sim.stop()


# --- gigdesk init ---------------------------------------------------------------------------------


def _init(tmp_path: Path, answers: list[str], **env: str) -> tuple[subprocess.CompletedProcess, Path]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RAPIDWORKERS_", "GIGDESK_", "WONOLO_"))}
    full["PYTHONPATH"] = str(REPO)
    full.update(env)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "init"], input="\n".join(answers) + "\n", capture_output=True,
                            text=True, cwd=tmp_path, env=full, timeout=60)
    return result, tmp_path / ".env"


def test_gigdesk_init_checks_each_answer_accepts_a_channel_name_and_writes_a_private_env(slack, sandbox, tmp_path):
    from dotenv import dotenv_values

    from bot.config import load_settings, machine_time_zone

    answers = [
        "socket",
        "xoxb-wrong-token", slack.token,        # refused by auth.test, then accepted
        "not-an-app-token", "xapp-1-A0-demo",   # refused by its form, then accepted
        "#nowhere", "#review",                   # no such channel, then a name the bot can look up
        "",                                      # digest: the review channel
        "rw-wrong-key", sandbox.api_key,         # refused by RapidWorkers, then accepted
        "",                                      # no Wonolo
        "@nobody", "@alice",                     # no such person, then a name looked up (users.list)
        "",                                      # the time zone: the machine's
    ]
    result, env_file = _init(tmp_path, answers, SLACK_API_URL=slack.api_url, RAPIDWORKERS_BASE_URL=sandbox.url)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "refused SLACK_BOT_TOKEN" in out and "refused the API key" in out and "#review is C_REVIEW" in out
    assert "no one in the workspace is @nobody" in out and "@alice is U_ALICE" in out
    assert "review channel #review (C_REVIEW)" in out
    assert "gigdesk check" in out and "make run" in out
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert dotenv_values(env_file) == {
        "SLACK_API_URL": slack.api_url, "RAPIDWORKERS_BASE_URL": sandbox.url, "SLACK_BOT_TOKEN": slack.token,
        "SLACK_APP_TOKEN": "xapp-1-A0-demo", "GIGDESK_REVIEW_CHANNEL": "C_REVIEW", "RAPIDWORKERS_API_KEY": sandbox.api_key,
        "GIGDESK_ALLOWED_USERS": "U_ALICE", "GIGDESK_TZ": machine_time_zone(os.environ.get("TZ")),
    }
    for secret in (slack.token, "xapp-1-A0-demo", sandbox.api_key):
        assert secret not in out + result.stderr
    # What init wrote is what the bot reads.
    settings = load_settings({}, dotenv_path=str(env_file))
    assert settings.socket_mode and settings.review_channel == "C_REVIEW"
    assert settings.allowed_users == settings.spenders == {"U_ALICE"}


def test_gigdesk_init_writes_nothing_when_answers_run_out_or_are_refused(slack, sandbox, tmp_path):
    result, env_file = _init(tmp_path, ["socket", "xoxb-wrong-1", "xoxb-wrong-2", "xoxb-wrong-3"], SLACK_API_URL=slack.api_url)
    assert result.returncode == 1 and "nothing was written" in result.stdout and not env_file.exists()
    result, env_file = _init(tmp_path, ["socket", slack.token], SLACK_API_URL=slack.api_url)  # stops mid-way
    assert result.returncode == 1 and not env_file.exists()
    assert "Traceback" not in result.stderr
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-kept\n")
    result, _ = _init(tmp_path, ["n"])
    assert result.returncode == 1 and env_file.read_text() == "SLACK_BOT_TOKEN=xoxb-kept\n"


def test_gigdesk_init_replaces_a_symlinked_env_without_writing_through_it(slack, sandbox, tmp_path):
    target = tmp_path / "dotfiles.env"
    target.write_text("KEPT=1\n")
    (tmp_path / ".env").symlink_to(target)
    answers = ["y", "socket", slack.token, "xapp-1-A0-demo", "C_REVIEW", "", sandbox.api_key, "", "U_ALICE", ""]
    old = os.umask(0)  # the child inherits it: .env must still be 0600
    try:
        result, env_file = _init(tmp_path, answers, SLACK_API_URL=slack.api_url, RAPIDWORKERS_BASE_URL=sandbox.url)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f".env is a link to {target}. Replace the link with a new file" in result.stdout
    assert target.read_text() == "KEPT=1\n"
    assert not env_file.is_symlink() and stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert f"SLACK_BOT_TOKEN={slack.token}" in env_file.read_text()
