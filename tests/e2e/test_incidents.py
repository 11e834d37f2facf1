"""Incidents in Slack, once each, across a restart: real `gigdesk serve` processes, the RapidWorkers
simulator told to refuse the bot's key (and then to take it again), the Slack stand-in's channel."""

from __future__ import annotations

import requests

from tests.support.harness import BotProcess, bot_env, free_port, wait_for

INCIDENT = "RapidWorkers refused the API key"
RECOVERY = "RapidWorkers accepts the API key again"


def texts(slack, needle: str) -> list[str]:
    return [m.text for m in slack.messages("C_REVIEW") if needle in m.text]


def readyz(proc: BotProcess) -> tuple[int, dict]:
    r = requests.get(proc.url + "/readyz", timeout=5)
    return r.status_code, r.json()


def syncs(proc: BotProcess) -> int:
    return proc.output()[1].count("review sync: ")


def test_a_refused_key_is_one_incident_and_one_recovery_across_a_restart(sandbox, slack, tmp_path):
    env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), PORT=str(free_port()), GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off")
    key = sandbox.api_key
    first = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        wait_for(lambda: readyz(first)[0] == 200, timeout=20)
        sandbox.api_key = "rotated-on-the-website"  # the bot's key is refused from now on (401)
        wait_for(lambda: texts(slack, INCIDENT), timeout=20)
        # /readyz turns 503 once no sync has worked for 3 × GIGDESK_POLL_SECONDS, and names the sync.
        status, body = wait_for(lambda: (r := readyz(first))[0] == 503 and r, timeout=20)
        assert [k for k, v in body["checks"].items() if not v.startswith("ok")] == ["review_sync"]
        assert "Invalid or missing API key" in body["checks"]["review_sync"] or "401" in body["checks"]["review_sync"], body
    finally:
        first.stop()
    second = BotProcess(env, "serve", workdir=tmp_path).wait_healthy()
    try:
        # The restarted process sees the same refusal for several syncs (its incident check runs each second).
        wait_for(lambda: syncs(second) >= 4, timeout=30)
        assert len(texts(slack, INCIDENT)) == 1
        sandbox.api_key = key  # repaired
        wait_for(lambda: texts(slack, RECOVERY), timeout=20)
        wait_for(lambda: readyz(second)[0] == 200, timeout=20)
        settled = syncs(second)
        wait_for(lambda: syncs(second) >= settled + 2, timeout=20)
    finally:
        second.stop()
    incident, = texts(slack, INCIDENT)
    recovery, = texts(slack, RECOVERY)
    assert "incident" in incident and "Resolved" in recovery
    (message,) = [m for m in slack.messages("C_REVIEW") if INCIDENT in m.text]
    shown = str(message.blocks)
    assert "RAPIDWORKERS_API_KEY" in shown and "What to do" in shown
    for proc in (first, second):
        assert "Traceback" not in proc.output()[1]
