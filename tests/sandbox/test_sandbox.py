"""Simulator-specific behaviour: raw HTTP contract, knobs, admin endpoints, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from sandbox.rapidworkers import HOSTILE_PROOF, Sandbox

KEY = {"X-API-Key": "rw_sandbox_key"}


@pytest.fixture
def sb():
    s = Sandbox()
    s.start()
    yield s
    s.stop()


def api(sb: Sandbox, method: str, path: str, **kw) -> requests.Response:
    kw.setdefault("headers", KEY)
    return requests.request(method, sb.url + path, timeout=5, **kw)


def own(sb: Sandbox, status: str = "Active") -> str:
    return next(
        cid for cid in sb._campaigns if sb.campaign(cid)["owner"] == "me" and sb.campaign(cid)["status"] == status
    )


def pending_of(sb: Sandbox, cid: str) -> int:
    return next(s for s in sorted(sb._subs) if sb.submission(s)["campaign_id"] == cid and sb.submission(s)["status"] == "Pending")


def test_wsgi_app_without_server_and_auth():
    sb = Sandbox()
    c = Client(sb.wsgi_app)
    r = c.post("/account/get_balance", json={})
    assert r.status_code == 401 and r.get_json() == {"error": "Invalid or missing API key"}
    r = c.post("/account/get_balance", json={}, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    r = c.post("/account/get_balance", json={}, headers=KEY)
    assert r.status_code == 200 and r.get_json() == {"balance": "1000.00"}
    assert sb.count() == 3 and sb.count("POST", "get_balance") == 3


def test_paths_with_and_without_trailing_slash(sb):
    assert api(sb, "GET", "/api/campaigns/").status_code == 200
    assert api(sb, "GET", "/api/campaigns").status_code == 200
    assert api(sb, "POST", "/account/get_balance/", json={}).status_code == 200
    cid = own(sb)
    assert api(sb, "GET", f"/api/campaigns/detail/{cid}").json()["jobId"] == cid
    r = api(sb, "GET", "/account/get_balance")
    assert r.status_code == 405 and "error" in r.json()
    r = api(sb, "GET", "/api/nothing/")
    assert r.status_code == 404 and r.json() == {"error": "Not found"}


def test_demo_data(sb):
    camps = [sb.campaign(cid) for cid in sb._campaigns]
    mine = [c for c in camps if c["owner"] == "me"]
    assert sorted(c["status"] for c in mine) == ["Active", "Active", "Canceled", "Completed", "Pending"]
    assert any(c["owner"] != "me" for c in camps)
    active = [c for c in mine if c["status"] == "Active"]
    assert all(c["pending"] >= 3 for c in active)
    subs = [sb.submission(s) for s in sb._subs]
    assert sum(s["proof_text"] == HOSTILE_PROOF for s in subs) == 1
    assert all(1 <= s["images"] <= 3 for s in subs)
    workers = list(sb._workers.values())
    assert len(workers) == 12
    assert min(w["account_age_days"] for w in workers) == 2 and max(w["account_age_days"] for w in workers) == 900
    assert min(w["approval_rate"] for w in workers) == 20 and max(w["approval_rate"] for w in workers) == 99
    # deterministic by seed
    assert list(Sandbox(seed=7)._campaigns) == list(sb._campaigns)
    assert list(Sandbox(seed=8)._campaigns) != list(sb._campaigns)
    assert Sandbox(demo_data=False)._campaigns == {}


def test_documented_bodies_camel_and_snake():
    for style, keys in (("camel", ("jobId", "remainingAvailabilities")), ("snake", ("job_id", "remaining_availabilities"))):
        with Sandbox(key_style=style, list_shape="results") as s:
            body = api(s, "GET", "/api/campaigns/").json()
            assert set(keys) <= set(body["results"][0]) and body["count"] == 5
            cid = body["results"][0][keys[0]]
            page = api(s, "GET", f"/api/campaigns/{cid}/submissions/").json()
            sub = page["results"]["submissions"][0]
            if style == "camel":
                assert {"submissionId", "userId", "country_name", "proof_text", "workerAccountAgeDays"} <= set(sub)
                assert set(sub["images"][0]) == {"id", "url", "thumbnailUrl"}
                assert page["results"]["pagination"]["currentPage"] == 1
            else:
                assert {"submission_id", "user_id", "country_name", "proof_text", "worker_account_age_days"} <= set(sub)
                assert set(sub["images"][0]) == {"id", "url", "thumbnail_url"}
                assert page["results"]["pagination"]["current_page"] == 1
            # proof images are real pictures the simulator serves itself
            assert sub["images"][0]["url"].startswith(f"{s.url}/_images/")
            picture = requests.get(sub["images"][0]["url"], timeout=5)
            assert picture.status_code == 200 and picture.headers["Content-Type"] in ("image/png", "image/jpeg")


def test_pagination_links(sb):
    cid = sb.add_campaign("P", total=50)
    for _ in range(5):
        sb.add_submission(cid)
    page = api(sb, "GET", f"/api/campaigns/{cid}/submissions/", params={"rowsPerPage": 2, "page": 2}).json()
    assert page["count"] == 5 and len(page["results"]["submissions"]) == 2
    assert "page=3" in page["next"] and "page=1" in page["previous"] and "rowsPerPage=2" in page["next"]
    assert page["results"]["pagination"] == {"totalCount": 5, "pageCount": 3, "currentPage": 2, "rowsPerPage": 2}
    last = api(sb, "GET", f"/api/campaigns/{cid}/submissions/", params={"rowsPerPage": 2, "page": 3}).json()
    assert last["next"] is None and len(last["results"]["submissions"]) == 1


def test_server_side_validation(sb):
    cid = own(sb)
    sid = pending_of(sb, cid)
    r = api(sb, "POST", f"/api/campaigns/{cid}/submissions/{sid}/reject/", json={})
    assert (r.status_code, r.json()) == (400, {"error": "Missing rejection reason"})
    r = api(sb, "POST", "/api/jobs/instagram-likes/", json={"link": "https://i.com/x", "quantity": 5})
    assert (r.status_code, r.json()["error"]) == (400, "Quantity must be at least 6")
    r = api(sb, "POST", "/api/jobs/instagram-likes/", json={"link": "not a link", "quantity": 10})
    assert r.status_code == 400 and r.json()["error"].startswith("Invalid data")
    r = api(sb, "POST", "/api/jobs/instagram-likes/", json={"link": "https://i.com/x", "quantity": 10, "countries": ["UK"]})
    assert r.status_code == 400
    r = api(sb, "POST", "/api/jobs/tiktok-likes/", json={"link": "https://i.com/x", "quantity": 10})
    assert r.status_code == 404
    r = api(sb, "POST", "/api/workers/block/", json={})
    assert (r.status_code, r.json()) == (400, {"error": "Missing worker_id"})
    r = api(sb, "POST", "/jobs/add", json={"title": "x"})
    assert r.status_code == 400
    form = {k: (None, v) for k, v in {
        "title": "t", "description": "d", "pay_rate": "1.00", "total_availabilities": "2",
        "proof_required_description": "p", "category": "c", "countries": "US,CA"}.items()}
    r = api(sb, "POST", "/jobs/add", files=form)
    assert r.status_code == 400 and "countries" in r.json()["error"]
    assert sb.balance == Decimal("1000.00")


def test_docs_literal_job_example_is_accepted(sb):
    # Exactly the doc's example: some fields are passed to files= as plain strings.
    job_data = {
        "title": "Complete a Survey",
        "description": "Fill out our 5-minute customer satisfaction survey",
        "pay_rate": "2.50",
        "total_availabilities": "100",
        "proof_required_description": "Submit a screenshot of the completion page",
        "category": "Survey",
        "sub_category": (None, "Customer Feedback"),
        "countries": (None, '["US", "CA", "GB"]'),
    }
    r = requests.post(sb.url + "/jobs/add", headers=KEY, files=job_data, timeout=5)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["deduction_details"] == {
        "total_cost": "250.00", "commission": "25.00", "total_deducted": "275.00", "new_balance": "725.00"}
    c = sb.campaign(body["job"]["public_id"])
    assert c["countries"] == ["US", "CA", "GB"] and c["sub_category"] == "Customer Feedback"


def test_forbidden_everywhere_on_foreign_campaign(sb):
    other = next(cid for cid in sb._campaigns if sb.campaign(cid)["owner"] != "me")
    sid = pending_of(sb, other)
    for method, path, body in [
        ("GET", f"/api/campaigns/detail/{other}/", None),
        ("GET", f"/api/campaigns/{other}/submissions/", None),
        ("POST", f"/api/campaigns/{other}/submissions/{sid}/approve/", {}),
        ("POST", f"/api/campaigns/{other}/submissions/{sid}/reject/", {"notes": "x"}),
        ("POST", f"/api/campaigns/{other}/submissions/bulk_action/", {}),
    ]:
        r = api(sb, method, path, json=body)
        assert (r.status_code, r.json()) == (403, {"error": "You don't own this campaign"}), path
    assert sb.submission(sid)["status"] == "Pending"


def test_counts_are_derived(sb):
    cid = sb.add_campaign("C", total=10, pay="1.00")
    a, b, c = (sb.add_submission(cid) for _ in range(3))
    api(sb, "POST", f"/api/campaigns/{cid}/submissions/{a}/approve/", json={})
    api(sb, "POST", f"/api/campaigns/{cid}/submissions/{b}/reject/", json={"notes": "no"})
    d = api(sb, "GET", f"/api/campaigns/detail/{cid}/").json()
    assert (d["pendingSubmissions"], d["approvedSubmissions"], d["rejectedSubmissions"]) == (1, 1, 1)
    assert d["remainingAvailabilities"] == 10 - 1 - 1 and d["jobInstancesCompleted"] == 2
    assert sb.submission(a)["amount_paid"] == Decimal("1.00") and sb.balance == Decimal("999.00")


def test_prefilled_job_auto_approves_once_full(sb):
    r = api(sb, "POST", "/api/jobs/twitter-likes/", json={"link": "https://twitter.com/u/status/1", "quantity": 6})
    assert r.status_code == 201 and r.json()["total_cost"] == "0.30"
    cid = r.json()["job_id"]
    c = sb.campaign(cid)
    assert c["title"] == "Twitter likes: https://twitter.com/u/status/1" and c["category"] == "Social"
    subs = [sb.add_submission(cid) for _ in range(6)]
    assert all(sb.submission(s)["status"] == "Approved" for s in subs)
    assert sb.campaign(cid)["status"] == "Completed"
    assert sb.balance == Decimal("999.70")  # prepaid: auto-approval does not charge again


def test_rate_limit_and_admin_not_counted():
    with Sandbox(hourly_limit=2) as s:
        assert api(s, "POST", "/account/get_balance", json={}).status_code == 200
        assert api(s, "GET", "/api/campaigns/").status_code == 200
        assert requests.get(s.url + "/_sandbox/state", timeout=5).status_code == 200
        r = api(s, "GET", "/api/workers/blocked/")
        assert r.status_code == 429 and r.json() == {"error": "Rate limit exceeded"}
        assert 3500 <= int(r.headers["Retry-After"]) <= 3600
        s.reset_rate_limit()
        assert api(s, "GET", "/api/workers/blocked/").status_code == 200


def test_latency_knob(sb):
    sb.set_latency(0.5, "get_balance")
    t = time.monotonic()
    api(sb, "POST", "/account/get_balance", json={})
    assert time.monotonic() - t >= 0.5
    t = time.monotonic()
    api(sb, "GET", "/api/campaigns/")
    assert time.monotonic() - t < 0.45  # other paths unaffected
    sb.set_latency(0, "get_balance")
    t = time.monotonic()
    api(sb, "POST", "/account/get_balance", json={})
    assert time.monotonic() - t < 0.45


def test_fail_next_modes(sb):
    sb.fail_next(2, status=502, path_contains="blocked")
    assert api(sb, "GET", "/api/campaigns/").status_code == 200  # other paths unaffected
    assert api(sb, "GET", "/api/workers/blocked/").status_code == 502
    assert api(sb, "GET", "/api/workers/blocked/").json() == {"error": "Simulated failure"}
    assert api(sb, "GET", "/api/workers/blocked/").status_code == 200
    sb.fail_next(1, status=429, retry_after=7)
    r = api(sb, "GET", "/api/workers/blocked/")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    sb.fail_next(1, mode="close")
    with pytest.raises(requests.ConnectionError):
        api(sb, "GET", "/api/workers/blocked/")
    sb.fail_next(1, mode="timeout", delay=0.3)
    t = time.monotonic()
    assert api(sb, "GET", "/api/workers/blocked/").status_code == 500
    assert time.monotonic() - t >= 0.3
    cid = own(sb)
    sid = pending_of(sb, cid)
    sb.fail_next(1, path_contains="approve")
    assert api(sb, "POST", f"/api/campaigns/{cid}/submissions/{sid}/approve/", json={}).status_code == 500
    assert sb.submission(sid)["status"] == "Pending"  # no state change
    sb.fail_after_commit(1, path_contains="approve")
    assert api(sb, "POST", f"/api/campaigns/{cid}/submissions/{sid}/approve/", json={}).status_code == 500
    assert sb.submission(sid)["status"] == "Approved"  # state changed, answer lost
    assert [r.status for r in sb.requests][-2:] == [500, 500]


def test_admin_endpoints(sb):
    admin = sb.url + "/_sandbox"
    state = requests.get(admin + "/state", timeout=5).json()
    assert state["balance"] == "1000.00" and state["campaigns"] == 6 and state["submissions"]["Pending"] >= 9
    cid = requests.post(admin + "/campaigns", json={"title": "Admin", "pay": "0.20", "total": 5}, timeout=5).json()["campaign_id"]
    wid = requests.post(admin + "/workers", json={"name": "bob", "account_age_days": 3}, timeout=5).json()["worker_id"]
    r = requests.post(admin + "/submissions", json={"campaign_id": cid, "proof_text": "hi", "images": 2, "worker_id": wid}, timeout=5)
    sid = r.json()["submission_id"]
    sub = requests.get(f"{admin}/submissions/{sid}", timeout=5).json()
    assert (sub["status"], sub["images"], sub["worker_name"], sub["proof_text"]) == ("Pending", 2, "bob", "hi")
    assert requests.get(f"{admin}/campaigns/{cid}", timeout=5).json()["pending"] == 1
    assert requests.post(admin + "/submissions", json={"campaign_id": "nope"}, timeout=5).status_code == 400
    requests.post(admin + "/fail", json={"n": 1, "status": 503, "path_contains": "blocked"}, timeout=5)
    assert api(sb, "GET", "/api/workers/blocked/").status_code == 503
    requests.post(admin + "/latency", json={"seconds": 0.2, "path_contains": "blocked"}, timeout=5)
    t = time.monotonic()
    api(sb, "GET", "/api/workers/blocked/")
    assert time.monotonic() - t >= 0.2
    assert requests.get(admin + "/requests", params={"path_contains": "blocked"}, timeout=5).json() == {"count": 2}
    requests.post(admin + "/reset_log", timeout=5)
    assert requests.get(admin + "/requests", timeout=5).json() == {"count": 0}
    assert requests.post(admin + "/balance", json={"balance": "5"}, timeout=5).json() == {"balance": "5.00"}
    assert sb.balance == Decimal("5")
    requests.post(admin + "/fail", json={"n": 1, "mode": "after_commit", "path_contains": "block/"}, timeout=5)
    assert api(sb, "POST", "/api/workers/block/", json={"worker_id": int(wid)}).status_code == 500
    assert sb.blocked_ids() == {wid}


def test_recorded_requests_never_hold_the_key(sb):
    api(sb, "POST", "/account/get_balance", json={})
    assert "rw_sandbox_key" not in json.dumps([r.__dict__ for r in sb.requests], default=str)


def test_cli_main_serves_until_interrupted():
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from sandbox.rapidworkers import main; sys.exit(main(['--port', '0', '--quiet']))"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        first = proc.stdout.readline()
        settings = [proc.stdout.readline().strip() for _ in range(2)]
        assert first.startswith("RapidWorkers sandbox on http://127.0.0.1:") and "api key: rw_sandbox_key" in first
        url = first.split()[3]
        assert settings == [f"RAPIDWORKERS_BASE_URL={url}", "RAPIDWORKERS_API_KEY=rw_sandbox_key"]  # .env lines
        r = requests.post(url + "/account/get_balance", headers=KEY, json={}, timeout=5)
        assert r.json() == {"balance": "1000.00"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
