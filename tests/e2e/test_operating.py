"""Operating gigdesk (issue 25), end to end: a real `gigdesk serve` process between the Slack
stand-in and the RapidWorkers simulator, real clicks, a real scrape of /metrics on its own port,
its JSON log lines, and the Grafana dashboard checked against that scrape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot.observability import metrics
from bot.slack import ids
from sandbox.rapidworkers import Sandbox
from sandbox.slack_workspace.server import SlackStandin
from storage import submissions as subs
from storage.db import connect
from tests.support.harness import BotProcess, bot_env, free_port, wait_for
from tests.support.slack_requests import SlackPoster

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
REASON = {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: {"type": "plain_text_input", "value": "Cropped"}},
          ids.REJECT_PRESET_BLOCK: {ids.REJECT_PRESET_INPUT: {"type": "static_select", "selected_option": None}}}


def samples(scrape: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text scrape, by the official parser."""
    found = {}
    for family in text_string_to_metric_families(scrape):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    """Two posts, one Approve, one Reject on a serve with JSON logs; (scrape, Slack-port answer, stderr)."""
    tmp = tmp_path_factory.mktemp("operating")
    sandbox, slack = Sandbox(demo_data=False), SlackStandin()
    sandbox.start()
    slack.start()
    try:
        cid = sandbox.add_campaign("Watched", pay="0.50")
        first, second = (sandbox.add_submission(cid, proof_text=f"proof {n}") for n in range(2))
        db_path = str(tmp / "gigdesk.db")
        metrics_port = free_port()
        env = bot_env(slack, sandbox, db_path, PORT=str(free_port()), GIGDESK_METRICS_PORT=str(metrics_port),
                      GIGDESK_POLL_SECONDS="1", GIGDESK_FORENSICS="off", GIGDESK_LOG_FORMAT="json")
        serve = BotProcess(env, "serve", workdir=tmp).wait_healthy()
        try:
            db = connect(db_path)
            wait_for(lambda: all((r := subs.get(db, sid)) and r.state == "posted" for sid in (first, second)), timeout=30)
            poster = SlackPoster(serve.url + "/slack/events", standin=slack)
            assert poster.click(ids.REVIEW_APPROVE, str(first), message_ts=subs.get(db, first).ts).status_code == 200
            assert poster.submit_view(ids.REVIEW_REJECT_MODAL, REASON, private_metadata=str(second)).status_code == 200
            wait_for(lambda: (subs.get(db, first).state, subs.get(db, second).state) == ("approved", "rejected"), timeout=30)
            slack_port_answer = requests.get(serve.url + "/metrics", timeout=5)
            scrape = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
            assert scrape.status_code == 200
            poster.session.close()
        finally:
            serve.stop()
        yield scrape.text, slack_port_answer, serve.output()[1]
    finally:
        slack.stop()
        sandbox.stop()


def test_metrics_move_with_real_traffic(traffic):
    scrape, _, _ = traffic
    got = samples(scrape)
    assert got[("gigdesk_submissions_posted_total", ())] == 2
    assert got[("gigdesk_decisions_total", (("action", "approve"), ("outcome", "approved")))] == 1
    assert got[("gigdesk_decisions_total", (("action", "reject"), ("outcome", "rejected")))] == 1
    assert got[("gigdesk_spent_cents_total", (("path", "approve"),))] == 50
    assert got[("gigdesk_ack_seconds_count", (("kind", "block_actions"),))] == 1
    assert got[("gigdesk_ack_seconds_count", (("kind", "view_submission"),))] == 1
    # Timed to the ack itself (Bolt's middleware does not wrap the listener: timing next() gave microseconds).
    assert got[("gigdesk_ack_seconds_sum", (("kind", "block_actions"),))] > 5e-5
    assert not any(name.endswith("_created") for name, _ in got)
    assert got[("gigdesk_click_to_in_progress_seconds_count", ())] == 2
    assert got[("gigdesk_upstream_request_seconds_count", (("api", "rapidworkers"), ("method", "POST")))] >= 2  # approve, reject
    assert got[("gigdesk_upstream_request_seconds_count", (("api", "slack"), ("method", "chat.postMessage")))] == 2
    assert got[("gigdesk_leader", (("lease", "review-sync"),))] == 1
    assert 0 < got[("gigdesk_rapidworkers_budget_left", ())] < 1000
    assert 0 <= got[("gigdesk_seconds_since_last_good_sync", ())] < 30
    assert got[("gigdesk_oldest_waiting_submission_age_seconds", ())] == 0  # both decided
    assert got[("gigdesk_pool_queue_depth", (("pool", "work"),))] == 0
    # Every family the code defines is in the scrape, named as Prometheus wants, with bounded labels.
    names = {family.name for family in text_string_to_metric_families(scrape)}
    defined = {name.removesuffix("_total") for name in metrics.families()} - {""}
    assert {n for n in defined if not n.endswith(("_bucket", "_count", "_sum", "_created"))} <= names
    ours = [n for n in names if n.startswith("gigdesk_")]
    assert len(ours) >= 16 and all(re.fullmatch(r"gigdesk_[a-z0-9_]+", n) for n in ours)
    labels = {k for (name, labels) in got if name.startswith("gigdesk_") for k, _ in labels}
    assert labels <= {"action", "outcome", "path", "kind", "result", "api", "method", "error", "pool", "lease", "le"}


def test_the_slack_facing_port_never_serves_metrics(traffic):
    _, slack_port_answer, _ = traffic
    assert slack_port_answer.status_code == 404 and "gigdesk_" not in slack_port_answer.text


def test_json_logs_every_stderr_line_is_one_object(traffic):
    _, _, stderr = traffic
    lines = stderr.splitlines()
    assert len(lines) >= 5
    parsed = [json.loads(line) for line in lines]  # raises on any line that is not one JSON object
    assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
    loggers = {p["logger"] for p in parsed}
    assert "gigdesk" in loggers and any(not name.startswith("gigdesk") for name in loggers), loggers  # APScheduler's too
    assert any("listening on" in p["message"] for p in parsed)
    assert not any(bot_secret in stderr for bot_secret in ("xoxb-test-token",))


# --- the dashboard names only what the app exports ---------------------------------------

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are neither functions,
    keywords, label names (in {…}, by (…), without (…)), range durations nor strings."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word, rest = m.group(0), text[m.end():].lstrip()
        if word in PROMQL_WORDS or rest.startswith("("):
            continue
        names.add(word)
    return names


def dashboard_expressions() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]


def test_metric_names_reads_promql_as_written():
    assert metric_names('sum by (api, le) (rate(gigdesk_x_bucket{lease="a"}[5m])) * 60') == {"gigdesk_x_bucket"}
    assert metric_names("histogram_quantile(0.99, sum by (le) (rate(a_b[1m]))) / c") == {"a_b", "c"}


def test_every_dashboard_expression_names_a_metric_the_app_exports(traffic):
    scrape, _, _ = traffic
    # Sample names, and the families the scrape declares (a labelled counter with no sample yet
    # is still declared: its HELP/TYPE lines name it, `_total` being the counter's sample suffix).
    families = list(text_string_to_metric_families(scrape))
    exported = {name for name, _ in samples(scrape)} | {f.name for f in families} | {f"{f.name}_total" for f in families if f.type == "counter"}
    expressions = dashboard_expressions()
    titles = {panel["title"] for panel in json.loads(DASHBOARD.read_text())["panels"]}
    for wanted in ("backlog", "decisions", "spend", "latency p99", "errors", "budget"):
        assert any(wanted in t.lower() for t in titles), wanted
    for expr in expressions:
        names = metric_names(expr)
        assert names, expr
        assert names <= exported, (expr, names - exported)


def test_a_busy_metrics_port_is_one_json_line_naming_its_setting(sandbox, slack, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_env(slack, sandbox, str(tmp_path / "gigdesk.db"), PORT=str(free_port()), GIGDESK_METRICS_PORT=str(port),
                      GIGDESK_LOG_FORMAT="json")
        proc = BotProcess(env, "serve", workdir=tmp_path)
        assert proc.wait(30) == 1
    (line,) = [json.loads(raw) for raw in proc.output()[1].splitlines()]
    assert f"port {port} is already in use" in line["message"] and "GIGDESK_METRICS_PORT=" in line["message"]
