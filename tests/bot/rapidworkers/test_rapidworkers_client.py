"""RapidWorkersClient against the simulator over real loopback HTTP."""

from __future__ import annotations

import json
import logging
import socket
import threading
from decimal import Decimal
from importlib import resources

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.rapidworkers.client import (
    ISO_COUNTRIES,
    PREFILLED_KINDS,
    BadRequest,
    BudgetExhausted,
    Campaign,
    Forbidden,
    InvalidInput,
    NetworkError,
    NotFound,
    RapidWorkersClient,
    RapidWorkersError,
    RateLimited,
    RequestBudget,
    ServerError,
    Submission,
    Unauthorized,
    custom_job_cost,
    prefilled_cost,
    validate_countries,
    validate_link,
)
from sandbox.rapidworkers import HOSTILE_PROOF, Sandbox, _QuietHandler

SECRET = "rw_live_TOPSECRET_0123456789abcdef"


@pytest.fixture
def sandbox():
    sb = Sandbox(api_key=SECRET)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def client(sandbox):
    return RapidWorkersClient(SECRET, sandbox.url, timeout=2.0, connect_timeout=1.0)


def own_active(client: RapidWorkersClient) -> Campaign:
    return client.list_campaigns(status="Active")[0]


def first_pending(client: RapidWorkersClient, campaign_id: str) -> Submission:
    return client.list_submissions(campaign_id, status="Pending")[0]


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- reads


def test_get_balance(client, sandbox):
    assert client.get_balance() == Decimal("1000.00")
    sandbox.balance = Decimal("12.34")
    assert client.get_balance() == Decimal("12.34")
    assert sandbox.count("POST", "/account/get_balance") == 2


def test_list_campaigns_all_statuses_and_counts(client, sandbox):
    campaigns = client.list_campaigns()
    assert {c.status for c in campaigns} == {"Active", "Pending", "Completed", "Canceled"}
    assert len(campaigns) == 5  # the campaign owned by someone else is not listed
    for c in campaigns:
        state = sandbox.campaign(c.id)
        assert (c.pending, c.approved, c.rejected) == (state["pending"], state["approved"], state["rejected"])
        assert c.remaining == c.total - c.approved - c.pending
        assert c.canceled == (c.status == "Canceled")
        assert isinstance(c.pay, Decimal) and c.pay > 0
        assert c.created_at is not None
    active = client.list_campaigns(status="active")
    assert active and all(c.status == "Active" for c in active)
    assert sandbox.requests[-1].query["status"] == "Active"


@pytest.mark.parametrize("list_shape", ["bare", "results"])
@pytest.mark.parametrize("key_style", ["camel", "snake"])
def test_every_documented_shape_and_key_style(list_shape, key_style):
    with Sandbox(api_key=SECRET, list_shape=list_shape, key_style=key_style) as sb:
        client = RapidWorkersClient(SECRET, sb.url, timeout=2.0)
        campaigns = client.list_campaigns()
        assert len(campaigns) == 5
        c = next(c for c in campaigns if c.title == "Follow our Instagram page")
        assert (c.pending, c.approved, c.rejected, c.total, c.remaining) == (5, 3, 1, 50, 42)
        assert c.pay == Decimal("0.10") and c.success_rate == "6%" and c.completed == 4
        assert client.get_campaign(c.id) == c
        subs = client.list_submissions(c.id)
        assert len(subs) == 9
        s = subs[0]
        assert s.proof_text == HOSTILE_PROOF
        assert s.worker_id and s.worker_name and s.country and s.campaign_id == c.id
        assert s.campaign_title == c.title and s.submitted_at is not None
        assert s.worker_account_age_days is not None and s.worker_total_completed is not None
        assert s.worker_approval_rate is not None and 0 < s.worker_approval_rate <= 100
        assert 1 <= len(s.images) <= 3 and all(i.thumbnail_url and i.url for i in s.images)
        client.block_worker(s.worker_id)
        blocked = client.list_blocked()
        assert [b.worker_id for b in blocked] == [s.worker_id]
        assert blocked[0].worker_name == s.worker_name and blocked[0].blocked_at is not None


def test_get_campaign_errors(client, sandbox):
    with pytest.raises(NotFound) as e:
        client.get_campaign("123e4567-e89b-12d3-a456-426614174000")
    assert e.value.status == 404 and e.value.error == "Campaign not found"
    other = next(c["id"] for c in map(sandbox.campaign, sandbox._campaigns) if c["owner"] != "me")
    with pytest.raises(Forbidden) as e:
        client.get_campaign(other)
    assert e.value.status == 403
    with pytest.raises(Forbidden):
        client.list_submissions(other)
    with pytest.raises(Forbidden):
        client.approve(other, 1)


def test_list_submissions_filters(client, sandbox):
    c = own_active(client)
    pending = client.list_submissions(c.id, status="Pending")
    assert pending and all(s.status == "Pending" for s in pending)
    name = pending[1].worker_name
    found = client.list_submissions(c.id, search=name[:4])
    assert name in {s.worker_name for s in found}
    assert sandbox.requests[-1].query["search"] == name[:4]


@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_list_submissions_follows_every_page(shape):
    with Sandbox(api_key=SECRET, demo_data=False, submissions_shape=shape) as sb:
        cid = sb.add_campaign("Many", total=100)
        ids = [sb.add_submission(cid) for _ in range(25)]
        client = RapidWorkersClient(SECRET, sb.url, timeout=2.0)
        subs = client.list_submissions(cid, rows_per_page=10)
        assert [s.id for s in subs] == ids
        assert sb.count("GET", "/submissions") == 3
        assert [r.query["page"] for r in sb.requests] == ["1", "2", "3"]
        assert all(r.query["rowsPerPage"] == "10" for r in sb.requests)


def test_default_page_size_is_one_request(client, sandbox):
    c = own_active(client)
    sandbox.reset_log()
    client.list_submissions(c.id)
    assert sandbox.count() == 1 and "rowsPerPage" not in sandbox.requests[0].query


# ---------------------------------------------------------------- decisions


def test_approve_pays_and_cannot_repeat(client, sandbox):
    c = own_active(client)
    s = first_pending(client, c.id)
    d = client.approve(c.id, s.id, notes="Great work!")
    assert (d.submission_id, d.status, d.amount_paid, d.worker) == (s.id, "Approved", c.pay, s.worker_name)
    assert sandbox.submission(s.id)["status"] == "Approved"
    assert sandbox.submission(s.id)["notes"] == "Great work!"
    assert client.get_balance() == Decimal("1000.00") - c.pay
    with pytest.raises(BadRequest) as e:
        client.approve(c.id, s.id)
    assert e.value.error == "Submission already processed"
    with pytest.raises(NotFound):
        client.approve(c.id, 999999)


def test_approve_insufficient_funds(client, sandbox):
    c = own_active(client)
    s = first_pending(client, c.id)
    sandbox.balance = Decimal("0.00")
    with pytest.raises(BadRequest) as e:
        client.approve(c.id, s.id)
    assert e.value.error == "Insufficient funds" and "Insufficient funds" in str(e.value)
    assert sandbox.submission(s.id)["status"] == "Pending"


def test_reject_requires_reason_locally(client, sandbox):
    c = own_active(client)
    s = first_pending(client, c.id)
    sandbox.reset_log()
    for notes in ("", "   ", None):
        with pytest.raises(InvalidInput):
            client.reject(c.id, s.id, notes)  # type: ignore[arg-type]
    assert sandbox.count() == 0
    d = client.reject(c.id, s.id, "Screenshot does not show completion page")
    assert (d.status, d.notes, d.amount_paid) == ("Rejected", "Screenshot does not show completion page", None)
    assert sandbox.submission(s.id)["status"] == "Rejected"
    assert sandbox.requests[-1].json == {"notes": "Screenshot does not show completion page"}


def test_bulk_approve(client, sandbox):
    c = own_active(client)
    pending = client.list_submissions(c.id, status="Pending")
    decisions = client.bulk_approve(c.id, notes="All verified")
    assert sorted(d.submission_id for d in decisions) == sorted(s.id for s in pending)
    assert all(d.status == "Approved" and d.worker for d in decisions)
    assert client.get_balance() == Decimal("1000.00") - c.pay * len(pending)
    with pytest.raises(NotFound) as e:
        client.bulk_approve(c.id)
    assert e.value.error == "No pending submissions found"


# ---------------------------------------------------------------- workers


def test_block_unblock(client, sandbox):
    wid = first_pending(client, own_active(client).id).worker_id
    client.block_worker(int(wid))
    assert sandbox.requests[-1].json == {"worker_id": int(wid)}
    assert sandbox.blocked_ids() == {wid}
    with pytest.raises(BadRequest, match="already blocked"):
        client.block_worker(wid)
    client.unblock_worker(wid)
    assert client.list_blocked() == []
    with pytest.raises(BadRequest, match="not blocked"):
        client.unblock_worker(wid)
    with pytest.raises(NotFound):
        client.block_worker(1)
    sandbox.reset_log()
    with pytest.raises(InvalidInput):
        client.block_worker("../admin")
    assert sandbox.count() == 0


# ---------------------------------------------------------------- jobs


@pytest.mark.parametrize("kind", PREFILLED_KINDS)
def test_every_prefilled_endpoint(client, sandbox, kind):
    job = client.create_prefilled_job(kind, "https://example.com/post/1", 20, countries=["us", "GB"], language="en")
    assert job.job_id and job.total_cost == Decimal("1.00") == prefilled_cost(20)
    assert (job.pay_rate, job.total_availabilities) == (Decimal("0.05"), 20)
    req = sandbox.requests[-1]
    assert req.path == f"/api/jobs/{kind}/"
    assert req.json == {"link": "https://example.com/post/1", "quantity": 20, "countries": ["US", "GB"], "language": "en"}
    assert client.get_balance() == Decimal("999.00")
    created = next(c for c in client.list_campaigns() if c.id == job.job_id)
    assert created.title.endswith(": https://example.com/post/1") and created.category == "Social"


def test_prefilled_validation_sends_nothing(client, sandbox):
    sandbox.reset_log()
    bad = [
        dict(kind="tiktok-likes", link="https://x.com/a", quantity=10),
        dict(kind="instagram-likes", link="https://x.com/a", quantity=5),
        dict(kind="instagram-likes", link="https://x.com/a", quantity="10"),
        dict(kind="instagram-likes", link="https://x.com/a", quantity=True),
        dict(kind="instagram-likes", link="instagram.com/a", quantity=10),
        dict(kind="instagram-likes", link="ftp://x.com/a", quantity=10),
        dict(kind="instagram-likes", link="https:///nohost", quantity=10),
        dict(kind="instagram-likes", link="https://x.com/a b", quantity=10),
        dict(kind="instagram-likes", link="https://x.com/a", quantity=10, countries=["UK"]),
        dict(kind="instagram-likes", link="https://x.com/a", quantity=10, countries=["USA"]),
    ]
    for kw in bad:
        with pytest.raises(InvalidInput):
            client.create_prefilled_job(**kw)
    assert sandbox.count() == 0


def test_prefilled_insufficient_balance(client, sandbox):
    sandbox.balance = Decimal("0.20")
    with pytest.raises(BadRequest) as e:
        client.create_prefilled_job("youtube-likes", "https://youtube.com/watch?v=abc123", 6)
    assert e.value.error == "Insufficient balance"
    assert sandbox.balance == Decimal("0.20")


def test_create_job_multipart_with_image(client, sandbox):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    job = client.create_job(
        title="Complete a Survey",
        description="Fill out our 5-minute survey",
        pay_rate=Decimal("5.00"),
        total_availabilities=10,
        proof_required_description="Screenshot of the completion page",
        category="Survey",
        sub_category="Customer Feedback",
        countries=["US", "CA", "GB"],
        approve_once_full=True,
        image=("banner.png", png, "image/png"),
    )
    assert (job.total_cost, job.commission, job.total_deducted) == custom_job_cost(Decimal("5.00"), 10)
    assert job.total_deducted == Decimal("55.00") and job.new_balance == Decimal("945.00")
    assert (job.title, job.status, job.pay_rate, job.total_availabilities) == ("Complete a Survey", "Active", Decimal("5.00"), 10)
    req = sandbox.requests[-1]
    assert req.path == "/jobs/add" and req.json is None
    assert req.files == {"campaign_image": ("banner.png", "image/png", len(png))}
    assert req.form["countries"] == '["US", "CA", "GB"]'
    assert req.form["approve_once_full"] == "true"
    assert req.form["pay_rate"] == "5.00" and req.form["total_availabilities"] == "10"
    assert req.form["sub_category"] == "Customer Feedback"
    assert sandbox.campaign(job.job_id)["image"] == ("banner.png", "image/png", len(png))
    assert client.get_balance() == Decimal("945.00")


def test_create_job_legitimacy_check(client, sandbox):
    with pytest.raises(Forbidden) as e:
        client.create_job(
            title="Easy scam money", description="d", pay_rate=Decimal("1"), total_availabilities=1,
            proof_required_description="p", category="c",
        )
    assert e.value.error == "Job rejected by legitimacy check"
    assert sandbox.balance == Decimal("1000.00")


def test_create_job_validation_sends_nothing(client, sandbox):
    good = dict(
        title="t", description="d", pay_rate=Decimal("1.00"), total_availabilities=3,
        proof_required_description="p", category="c",
    )
    bad = [
        {"title": " "}, {"description": ""}, {"proof_required_description": None}, {"category": ""},
        {"pay_rate": Decimal("0")}, {"pay_rate": Decimal("-1")}, {"pay_rate": "abc"}, {"pay_rate": Decimal("0.005")},
        {"total_availabilities": 0}, {"total_availabilities": 2.5}, {"countries": ["XX"]},
        {"image": ("a.png", b"", "image/png")}, {"image": ("a.exe", b"MZ", "application/octet-stream")},
    ]
    sandbox.reset_log()
    for change in bad:
        with pytest.raises(InvalidInput):
            client.create_job(**{**good, **change})
    assert sandbox.count() == 0


def test_other_local_validation_sends_nothing(client, sandbox):
    sandbox.reset_log()
    with pytest.raises(InvalidInput):
        client.list_campaigns(status="Running")
    with pytest.raises(InvalidInput):
        client.list_submissions("abc", status="Done")
    with pytest.raises(InvalidInput):
        client.get_campaign("../account/get_balance")
    with pytest.raises(InvalidInput):
        client.approve("abc", 0)
    with pytest.raises(InvalidInput):
        client.list_submissions("abc", rows_per_page=0)
    assert sandbox.count() == 0


# ---------------------------------------------------------------- HTTP errors and retries


def test_unauthorized(sandbox):
    client = RapidWorkersClient("wrong-key", sandbox.url)
    with pytest.raises(Unauthorized) as e:
        client.get_balance()
    assert e.value.status == 401 and e.value.error == "Invalid or missing API key"
    assert sandbox.count() == 1  # 401 is not retried


def test_rate_limit_with_long_retry_after_is_not_waited_for():
    with Sandbox(api_key=SECRET, hourly_limit=3) as sb:
        client = RapidWorkersClient(SECRET, sb.url, timeout=2.0)
        for _ in range(3):
            client.get_balance()
        with pytest.raises(RateLimited) as e:
            client.get_balance()
        assert e.value.status == 429 and e.value.error == "Rate limit exceeded"
        assert e.value.retry_after is not None and 3500 < e.value.retry_after <= 3600
        assert sb.count() == 4  # Retry-After ~1 h is beyond the cap: no retry


def test_read_call_retries_429_then_raises(client, sandbox):
    sandbox.fail_next(10, status=429, retry_after=0, path_contains="campaigns")
    with pytest.raises(RateLimited) as e:
        client.list_campaigns()
    assert e.value.retry_after == 0
    assert sandbox.count() == 4  # 1 + 3 retries


def test_read_call_honours_retry_after(client, sandbox):
    sandbox.fail_next(1, status=429, retry_after=1, path_contains="balance")
    assert client.get_balance() == Decimal("1000.00")
    first, second = sandbox.requests
    assert second.time - first.time >= 0.9


def test_read_call_retried_after_500(client, sandbox):
    sandbox.fail_next(1, status=500, path_contains="campaigns")
    assert len(client.list_campaigns()) == 5
    assert sandbox.count() == 2


def test_read_call_gives_up_after_persistent_500(client, sandbox):
    sandbox.fail_next(10, status=503, path_contains="blocked")
    with pytest.raises(ServerError) as e:
        client.list_blocked()
    assert e.value.status == 503
    assert sandbox.count() == 4


def test_read_call_retried_after_timeout(sandbox):
    client = RapidWorkersClient(SECRET, sandbox.url, timeout=0.5)
    sandbox.fail_next(1, mode="timeout", delay=1.0, path_contains="balance")
    assert client.get_balance() == Decimal("1000.00")
    assert sandbox.count() == 2


def _money_calls(client: RapidWorkersClient, sandbox: Sandbox):
    c = own_active(client)
    s = first_pending(client, c.id)
    return {
        "approve": (lambda: client.approve(c.id, s.id), "approve"),
        "reject": (lambda: client.reject(c.id, s.id, "no"), "reject"),
        "bulk": (lambda: client.bulk_approve(c.id), "bulk_action"),
        "prefilled": (lambda: client.create_prefilled_job("instagram-likes", "https://instagram.com/x", 10), "jobs/instagram"),
        "job": (
            lambda: client.create_job(
                title="t", description="d", pay_rate=Decimal("1"), total_availabilities=2,
                proof_required_description="p", category="c", image=("a.png", b"x", "image/png"),
            ),
            "jobs/add",
        ),
        "block": (lambda: client.block_worker(s.worker_id), "workers/block"),
    }, s


@pytest.mark.parametrize("call", ["approve", "reject", "bulk", "prefilled", "job", "block"])
def test_money_call_not_retried_after_500(client, sandbox, call):
    calls, s = _money_calls(client, sandbox)
    fn, path = calls[call]
    sandbox.fail_next(1, status=500, path_contains=path)
    sandbox.reset_log()
    with pytest.raises(ServerError):
        fn()
    assert sandbox.count() == 1
    assert sandbox.balance == Decimal("1000.00")
    assert sandbox.submission(s.id)["status"] == "Pending" and not sandbox.blocked_ids()


@pytest.mark.parametrize("call", ["approve", "job"])
def test_money_call_not_retried_after_read_timeout(sandbox, call):
    client = RapidWorkersClient(SECRET, sandbox.url, timeout=0.5)
    calls, s = _money_calls(client, sandbox)
    fn, path = calls[call]
    sandbox.fail_next(1, mode="timeout", delay=1.0, path_contains=path)
    sandbox.reset_log()
    with pytest.raises(NetworkError) as e:
        fn()
    assert e.value.may_have_reached_server is True
    assert sandbox.count() == 1
    assert sandbox.submission(s.id)["status"] == "Pending"


def test_money_call_not_retried_after_dropped_connection(client, sandbox):
    calls, s = _money_calls(client, sandbox)
    sandbox.fail_next(1, mode="close", path_contains="approve")
    sandbox.reset_log()
    with pytest.raises(NetworkError) as e:
        calls["approve"][0]()
    assert e.value.may_have_reached_server is True
    assert sandbox.count() == 1


@pytest.mark.parametrize("call", ["approve", "job"])
def test_money_call_retried_after_429(client, sandbox, call):
    calls, s = _money_calls(client, sandbox)
    fn, path = calls[call]
    sandbox.fail_next(1, status=429, retry_after=0, path_contains=path)
    sandbox.reset_log()
    fn()
    assert sandbox.count() == 2
    assert sandbox.balance < Decimal("1000.00")


def test_money_call_not_retried_after_503_with_retry_after(client, sandbox):
    calls, s = _money_calls(client, sandbox)
    sandbox.fail_next(1, status=503, retry_after=0, path_contains="approve")
    sandbox.reset_log()
    with pytest.raises(ServerError):
        calls["approve"][0]()
    assert sandbox.count() == 1


def test_lost_answer_after_commit_is_an_error_not_a_retry(client, sandbox):
    calls, s = _money_calls(client, sandbox)
    sandbox.fail_after_commit(1, path_contains="approve")
    sandbox.reset_log()
    with pytest.raises(ServerError):
        calls["approve"][0]()
    assert sandbox.count() == 1
    assert sandbox.submission(s.id)["status"] == "Approved"  # the server did it


@pytest.mark.parametrize("money", [False, True])
def test_connection_refused_is_network_error_never_sent(money):
    client = RapidWorkersClient(SECRET, f"http://127.0.0.1:{closed_port()}", timeout=0.5, connect_timeout=0.5)
    with pytest.raises(NetworkError) as e:
        client.approve("abc", 1) if money else client.get_balance()
    assert e.value.may_have_reached_server is False
    assert client.requests_sent == 4  # connect errors are retried, for money calls too


# ---------------------------------------------------------------- odd responses


class _Stub:
    """A tiny server answering every request with a fixed response."""

    def __init__(self, response: Response):
        self.response = response
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.hits = 0
        self.api_keys: list[str | None] = []  # the X-API-Key of each request received

    def app(self, environ, start_response):
        self.hits += 1
        request = Request(environ)
        request.get_data()
        self.api_keys.append(request.headers.get("X-API-Key"))
        return self.response(environ, start_response)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_non_json_error_body_is_tolerated():
    stub = _Stub(Response("<html>Bad gateway</html>", status=502, mimetype="text/html"))
    try:
        client = RapidWorkersClient(SECRET, stub.url)
        with pytest.raises(ServerError) as e:
            client.approve("abc", 1)
        assert e.value.status == 502 and e.value.error is None and "502" in str(e.value)
        assert stub.hits == 1
    finally:
        stub.close()


@pytest.mark.parametrize("money", [False, True], ids=["read", "money"])
def test_redirect_is_not_followed(money):
    # Another server on loopback (another port: a different origin) that would
    # answer: the key must never reach it, whether or not its name resolves.
    elsewhere = _Stub(Response("{}", mimetype="application/json"))
    stub = _Stub(Response("", status=307, headers={"Location": elsewhere.url + "/steal"}))
    try:
        client = RapidWorkersClient(SECRET, stub.url)
        with pytest.raises(RapidWorkersError) as e:
            client.approve("abc", 1) if money else client.list_blocked()
        assert e.value.status == 307 and stub.hits == 1 and stub.api_keys == [SECRET]
        assert elsewhere.hits == 0 and SECRET not in elsewhere.api_keys
    finally:
        stub.close()
        elsewhere.close()


def test_next_url_to_another_host_is_not_followed():
    elsewhere = _Stub(Response(json.dumps({"count": 0, "next": None, "results": {"submissions": []}}), mimetype="application/json"))
    body = {
        "count": 2, "next": elsewhere.url + "/steal?page=2", "previous": None,
        "results": {"submissions": [{"submissionId": 5, "userId": 7, "status": "Pending"}],
                    "pagination": {"totalCount": 2, "pageCount": 2, "currentPage": 1, "rowsPerPage": 1}},
    }
    stub = _Stub(Response(json.dumps(body), mimetype="application/json"))
    try:
        subs = RapidWorkersClient(SECRET, stub.url).list_submissions("abc", rows_per_page=1)
        # Page 2 is asked of the configured host (the stub repeats page 1: de-duplicated).
        assert [(s.id, s.worker_id) for s in subs] == [(5, "7")]
        assert stub.hits == 2 and stub.api_keys == [SECRET, SECRET]
        assert elsewhere.hits == 0 and SECRET not in elsewhere.api_keys
    finally:
        stub.close()
        elsewhere.close()


# ---------------------------------------------------------------- budget


def test_background_view_stops_at_reserve_interactive_continues(sandbox):
    budget = RequestBudget(hourly_limit=5, interactive_reserve=2)
    client = RapidWorkersClient(SECRET, sandbox.url, budget=budget)
    bg = client.background_view()
    assert bg.background and not client.background
    for _ in range(3):
        bg.get_balance()
    with pytest.raises(BudgetExhausted):
        bg.get_balance()
    assert sandbox.count() == 3
    client.get_balance()
    client.get_balance()
    with pytest.raises(BudgetExhausted) as e:
        client.get_balance()
    assert sandbox.count() == 5 and e.value.status is None
    assert client.requests_sent == bg.requests_sent == 5


def test_budget_constructor_limits(sandbox):
    client = RapidWorkersClient(SECRET, sandbox.url, hourly_limit=2, interactive_reserve=1)
    client.background_view().get_balance()
    with pytest.raises(BudgetExhausted):
        client.background_view().get_balance()
    client.get_balance()
    with pytest.raises(BudgetExhausted):
        client.get_balance()


def test_retries_count_against_budget(sandbox):
    budget = RequestBudget(hourly_limit=10, interactive_reserve=0)
    client = RapidWorkersClient(SECRET, sandbox.url, budget=budget)
    sandbox.fail_next(2, status=500, path_contains="balance")
    client.get_balance()
    assert budget.used() == 3 == client.requests_sent == sandbox.count()


def test_retries_stop_when_budget_runs_out(sandbox):
    budget = RequestBudget(hourly_limit=2, interactive_reserve=0)
    client = RapidWorkersClient(SECRET, sandbox.url, budget=budget)
    sandbox.fail_next(5, status=500, path_contains="balance")
    with pytest.raises(ServerError):
        client.get_balance()
    assert sandbox.count() == 2 == budget.used()


def test_concurrent_calls_are_counted_exactly(client, sandbox):
    threads = [threading.Thread(target=lambda: [client.get_balance() for _ in range(5)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.requests_sent == sandbox.count() == 40 == client.budget.used()


def test_budget_window_slides():
    now = [1000.0]
    budget = RequestBudget(3, 1, clock=lambda: now[0])
    assert budget.try_acquire(background=True) and budget.try_acquire(background=True)
    assert not budget.try_acquire(background=True)
    assert budget.try_acquire(background=False)
    assert not budget.try_acquire(background=False)
    assert budget.remaining(background=False) == 0
    assert budget.seconds_until_free(background=False) == pytest.approx(3600)
    now[0] += 3599
    assert not budget.try_acquire()
    now[0] += 2
    assert budget.remaining(background=False) == 3 and budget.used() == 0


def test_budget_is_thread_safe():
    budget = RequestBudget(500, 0)
    results: list[bool] = []
    lock = threading.Lock()

    def worker():
        for _ in range(100):
            ok = budget.try_acquire()
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 500 and budget.used() == 500


# ---------------------------------------------------------------- key hygiene


def test_api_key_never_in_repr_errors_or_logs(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    client = RapidWorkersClient(SECRET, sandbox.url, timeout=0.5, hourly_limit=40, interactive_reserve=0)
    errors: list[BaseException] = []

    def collect(fn):
        try:
            fn()
        except RapidWorkersError as e:
            errors.append(e)

    c = own_active(client)
    other = next(cid for cid in sandbox._campaigns if sandbox.campaign(cid)["owner"] != "me")
    collect(lambda: RapidWorkersClient("bad" + SECRET, sandbox.url).get_balance())  # 401
    collect(lambda: client.get_campaign(other))  # 403
    collect(lambda: client.get_campaign("nope"))  # 404
    collect(lambda: client.reject(c.id, 1, ""))  # invalid input
    sandbox.balance = Decimal("0")
    collect(lambda: client.bulk_approve(c.id))  # 400
    sandbox.fail_next(1, status=500, path_contains="approve")
    collect(lambda: client.approve(c.id, first_pending(client, c.id).id))  # 500
    sandbox.fail_next(4, status=429, retry_after=0, path_contains="blocked")
    collect(client.list_blocked)  # 429
    sandbox.fail_next(1, mode="timeout", delay=1.0, path_contains="block/")
    collect(lambda: client.block_worker(1))  # read timeout
    collect(lambda: RapidWorkersClient(SECRET, f"http://127.0.0.1:{closed_port()}").get_balance())
    exhausted = RapidWorkersClient(SECRET, sandbox.url, hourly_limit=1, interactive_reserve=1)
    collect(exhausted.background_view().get_balance)  # budget
    kinds = {type(e) for e in errors}
    assert kinds == {Unauthorized, Forbidden, NotFound, InvalidInput, BadRequest, ServerError,
                     RateLimited, NetworkError, BudgetExhausted}
    for e in errors:
        assert SECRET not in str(e) and SECRET not in repr(e)
        assert str(e) and len(str(e)) < 200
    assert SECRET not in repr(client) and SECRET not in repr(client.background_view())
    assert SECRET not in caplog.text
    assert "GET /api/campaigns/" in caplog.text  # the log does say what was called


def test_api_error_text_echoing_the_key_is_scrubbed():
    stub = _Stub(Response(json.dumps({"error": f"bad key {SECRET}"}), status=400, mimetype="application/json"))
    try:
        with pytest.raises(BadRequest) as e:
            RapidWorkersClient(SECRET, stub.url).block_worker(1)
        assert SECRET not in str(e.value) and SECRET not in (e.value.error or "")
    finally:
        stub.close()


# ---------------------------------------------------------------- models and helpers


def test_submission_round_trips_through_json(client):
    c = own_active(client)
    for s in client.list_submissions(c.id):
        d = json.loads(json.dumps(s.to_dict()))
        assert Submission.from_dict(d) == s


def test_pricing_helpers():
    assert prefilled_cost(6) == Decimal("0.30")
    assert prefilled_cost(50) == Decimal("2.50")
    assert custom_job_cost(Decimal("2.50"), 100) == (Decimal("250.00"), Decimal("25.00"), Decimal("275.00"))
    assert custom_job_cost(Decimal("0.33"), 3) == (Decimal("0.99"), Decimal("0.10"), Decimal("1.09"))


def test_validate_link_and_countries():
    assert validate_link("  https://instagram.com/ABC123 ") == "https://instagram.com/ABC123"
    assert validate_link("http://9gag.com/gag/abc") == "http://9gag.com/gag/abc"
    for bad in ["", None, "instagram.com/x", "javascript:alert(1)", "https://", "http:// x.com", 5]:
        with pytest.raises(InvalidInput):
            validate_link(bad)
    assert validate_countries(["us", " gb ", "US"]) == ["US", "GB"]
    assert validate_countries("us, ca") == ["US", "CA"]
    assert validate_countries(None) == []
    with pytest.raises(InvalidInput, match="GB"):
        validate_countries(["UK"])
    with pytest.raises(ValueError):  # InvalidInput is a ValueError too
        validate_countries(["ZZ"])


def test_iso_country_list_is_complete():
    assert len(ISO_COUNTRIES) == 249
    tab = resources.files("tzdata").joinpath("zoneinfo/iso3166.tab").read_text()
    official = {line.split("\t")[0] for line in tab.splitlines() if line and not line.startswith("#")}
    assert ISO_COUNTRIES == official


def test_tolerant_parsing_of_alternative_keys():
    from bot.rapidworkers.models import _campaign, _submission

    snake = _campaign({"job_id": "x", "job_title": "T", "job_pay": "1.5", "remaining_availabilities": 3,
                       "pending_submissions": 2, "canceled": "true"})
    assert (snake.id, snake.title, snake.pay, snake.remaining, snake.pending, snake.canceled) == (
        "x", "T", Decimal("1.5"), 3, 2, True)
    sub = _submission({"submission_id": "7", "user_id": 12345, "worker_approval_rate": 85,
                       "images": [{"id": "i", "url": "u", "thumbnail_url": "t"}], "proofText": "p"}, "cid")
    assert (sub.id, sub.worker_id, sub.worker_approval_rate, sub.images[0].thumbnail_url, sub.proof_text,
            sub.campaign_id) == (7, "12345", 85.0, "t", "p", "cid")


def test_unreadable_numbers_become_defaults_not_a_crash():
    from bot.rapidworkers.models import _campaign, _decision, _submission

    odd = _campaign({"jobId": "x", "jobInstancesCompleted": "Infinity", "jobPay": "NaN", "pendingSubmissions": "-Infinity",
                     "jobCreatedAt": "yesterday"})
    assert (odd.completed, odd.pay, odd.pending, odd.created_at) == (0, Decimal("0"), 0, None)
    sub = _submission({"id": "inf", "workerApprovalRate": "85%", "images": ["not an image", {"url": "u"}]}, "cid")
    assert (sub.id, sub.worker_approval_rate, [i.id for i in sub.images]) == (0, 85.0, ["img_2"])
    decided = _decision({"id": "not a number", "amountPaid": "$1,000.50"}, 7, "Approved", None)
    assert (decided.submission_id, decided.status, decided.amount_paid, decided.notes) == (
        7, "Approved", Decimal("1000.50"), None)


def test_invalid_construction():
    with pytest.raises(InvalidInput):
        RapidWorkersClient("", "http://127.0.0.1:1")
    with pytest.raises(InvalidInput):
        RapidWorkersClient("k", "ftp://example.com")
