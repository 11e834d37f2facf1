"""WonoloClient against the Wonolo sandbox over loopback."""

from __future__ import annotations

import json
import logging
import threading
import traceback
from datetime import datetime
from decimal import Decimal

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.logsafe import RedactSecrets
from bot.wonolo.client import (
    FORBIDDEN_MESSAGE,
    Badge,
    Job,
    JobRequest,
    Message,
    User,
    WonoloClient,
    WonoloError,
    WonoloForbidden,
    WonoloInvalid,
    WonoloNetworkError,
    WonoloNotFound,
    WonoloServerError,
    WonoloUnauthorized,
    default_base_url,
)
from bot.wonolo.webhook import HEADER, parse_event, verify
from sandbox.wonolo import WonoloSandbox

API_KEY = "pk_test_Kq7ApiKeyValue"
SECRET = "sk_test_Zx9SecretValue"


@pytest.fixture
def sandbox():
    sb = WonoloSandbox(API_KEY, SECRET)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def client(sandbox):
    return WonoloClient(API_KEY, SECRET, sandbox.url, timeout=5)


def paths(sb: WonoloSandbox) -> list[str]:
    return [r.path.removeprefix("/api_v2") for r in sb.requests]


def issued_tokens(sb: WonoloSandbox) -> set[str]:
    return {r.params["token"] for r in sb.requests if "token" in r.params}


# --------------------------------------------------------------------------- configuration


def test_default_base_url_follows_key_prefix():
    assert default_base_url("pk_test_abc") == "https://test.wonolo.com"
    assert default_base_url("pk_live_abc") == "https://api.wonolo.com"
    assert default_base_url("something") == "https://api.wonolo.com"
    assert WonoloClient("pk_test_a", "sk").base_url == "https://test.wonolo.com"
    assert WonoloClient("pk_a", "sk", "http://x:1/api_v2/").base_url == "http://x:1"


def test_missing_keys_are_refused_locally():
    with pytest.raises(WonoloInvalid):
        WonoloClient("", "sk_x")


# --------------------------------------------------------------------------- authentication


def test_authenticates_once_and_sends_token_on_every_call(sandbox, client):
    client.list_jobs()
    client.get_job_request(client.list_job_requests()[0].id)
    client.list_badges()
    client.resend_notifications(client.list_job_requests()[0].id)
    auth = [r for r in sandbox.requests if r.path.endswith("/authenticate")]
    assert len(auth) == 1
    assert auth[0].params == {"api_key": API_KEY, "secret_key": SECRET}
    others = [r for r in sandbox.requests if not r.path.endswith("/authenticate")]
    assert len(others) >= 5
    (token,) = sandbox.tokens
    assert all(r.params.get("token") == token for r in others)


def test_info_needs_no_token(sandbox, client):
    assert client.info()["version"] == "2.0"
    assert paths(sandbox) == ["/info"]
    assert "token" not in sandbox.requests[0].params


def test_reauth_after_token_expiry(sandbox, client):
    client.list_badges()
    sandbox.expire_tokens()
    assert len(client.list_badges()) == 2
    assert sandbox.count(path_contains="/authenticate") == 2
    assert paths(sandbox) == ["/authenticate", "/badges", "/badges", "/authenticate", "/badges"]


def test_write_after_expiry_is_sent_again_once(sandbox, client):
    job_id = client.list_jobs(state="filled")[0].id
    sandbox.expire_tokens()
    job = client.cancel_job(job_id, "decided_to_cancel")
    assert job.state == "cancelled"
    assert sandbox.count("PATCH", f"/jobs/{job_id}") == 2  # 401, then the real one
    assert [t["to"] for t in job.transitions].count("cancelled") == 1


def test_persistent_401_raises_unauthorized(sandbox, client):
    client.list_badges()
    sandbox.inject_failure(401, times=2, path_contains="/badges")
    with pytest.raises(WonoloUnauthorized) as info:
        client.list_badges()
    assert info.value.status == 401
    assert sandbox.count(path_contains="/authenticate") == 2  # exactly one re-auth


def test_wrong_keys_raise_unauthorized_without_secrets(sandbox):
    bad = WonoloClient(API_KEY, "sk_test_WrongSecret", sandbox.url)
    with pytest.raises(WonoloUnauthorized) as info:
        bad.list_jobs()
    assert "sk_test_WrongSecret" not in str(info.value) and API_KEY not in str(info.value)


def test_sandbox_authenticate_status_codes(sandbox):
    url = f"{sandbox.url}/api_v2/authenticate"
    assert requests.post(url, data={"api_key": API_KEY}, timeout=5).status_code == 422
    assert requests.post(url, data={"api_key": API_KEY, "secret_key": "no"},
                         timeout=5).status_code == 401
    ok = requests.post(url, data={"api_key": API_KEY, "secret_key": SECRET}, timeout=5).json()
    assert ok["token"] and ok["expires_at"].endswith("Z")
    assert requests.get(f"{sandbox.url}/api_v2/jobs", timeout=5).status_code == 401


def test_reauth_shortly_before_expiry_with_injected_clock(sandbox):
    now = [0.0]
    client = WonoloClient(API_KEY, SECRET, sandbox.url, clock=lambda: now[0])
    now[0] = 1_000.0  # anything before expiry; the sandbox issues real 24 h expiries
    client.authenticate()
    assert client.expires_at is not None
    now[0] = client.expires_at - 400  # 6 minutes left: keep the token
    client.list_badges()
    assert sandbox.count(path_contains="/authenticate") == 1
    now[0] = client.expires_at - 200  # under 5 minutes left: refresh before calling
    client.list_badges()
    assert paths(sandbox) == ["/authenticate", "/badges", "/authenticate", "/badges"]


def test_concurrent_calls_after_expiry_reauthenticate_once(sandbox, client):
    client.list_badges()
    sandbox.expire_tokens()
    errors: list[Exception] = []

    def work():
        try:
            client.list_badges()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sandbox.count(path_contains="/authenticate") == 2


# --------------------------------------------------------------------------- pagination


def test_pagination_reads_pages_until_a_short_one():
    with WonoloSandbox(API_KEY, SECRET, demo_data=False) as sb:
        for i in range(120):
            sb.add_user(first_name=f"W{i}")
        client = WonoloClient(API_KEY, SECRET, sb.url)
        users = client.list_users(type="Worker")
        assert len(users) == 120 and len({u.id for u in users}) == 120
        pages = [r.params for r in sb.requests if r.path.endswith("/users")]
        assert [(p["page"], p["per"]) for p in pages] == [("1", "50"), ("2", "50"), ("3", "50")]


def test_pagination_exact_multiple_needs_an_empty_page():
    with WonoloSandbox(API_KEY, SECRET, demo_data=False) as sb:
        for _i in range(100):
            sb.add_user()
        client = WonoloClient(API_KEY, SECRET, sb.url)
        assert len(client.list_users()) == 100
        assert sb.count("GET", "/users") == 3


def test_explicit_page_fetches_one_page(sandbox, client):
    for _ in range(60):
        sandbox.add_user()
    assert len(client.list_users(page=2, per=10)) == 10
    assert sandbox.count("GET", "/users") == 1
    assert client.list_users(per=500, page=1) and sandbox.requests[-1].params["per"] == "50"


# --------------------------------------------------------------------------- every endpoint


def test_job_requests_endpoints(sandbox, client):
    all_jrs = client.list_job_requests()
    assert {jr.state for jr in all_jrs} == {"posted", "filled", "completed"}
    posted = client.list_job_requests(state="posted")
    assert [jr.state for jr in posted] == ["posted"]
    jr = client.get_job_request(posted[0].id)
    assert isinstance(jr, JobRequest) and jr.venue and jr.city
    assert isinstance(jr.start_time, datetime) and jr.start_time.tzinfo is not None
    assert jr.wage == Decimal("18.50") and jr.slots == 3 and jr.slots_filled == 1
    assert jr.badge_requirements

    created = client.create_job_request(request_name="Movers", venue="Depot", city="Oakland",
                                        start_time="2031-05-01T16:00:00Z", duration=120,
                                        slots=2, wage=Decimal("22.5"))
    assert created.state == "posted" and created.wage == Decimal("22.5")
    assert sandbox.requests[-1].params["job_request[venue]"] == "Depot"
    updated = client.update_job_request(created.id, slots=4, description="Heavy lifting")
    assert updated.slots == 4 and updated.description == "Heavy lifting"

    rankings = client.job_request_rankings(created.id)
    assert rankings and "worker" in rankings[0]
    assert client.resend_notifications(created.id) == {"success": True}
    assert client.re_rank_workers(created.id) == {"success": True}


def test_jobs_endpoints(sandbox, client):
    jobs = client.list_jobs()
    assert len(jobs) == 4 and all(isinstance(j, Job) for j in jobs)
    assert all(j.worker and j.worker.type == "Worker" and j.worker.full_name for j in jobs)
    completed = client.list_jobs(state="completed")
    assert len(completed) == 1 and completed[0].hours_worked == 4.0
    assert [t["to"] for t in completed[0].transitions] == ["filled", "in_progress", "completed"]

    jr = client.create_job_request(start_time="2031-05-01T16:00:00Z", duration=60, slots=1)
    worker = client.list_users(type="Worker")[0]
    pending = client.create_job(job_request_id=jr.id)
    assert pending.state == "pending" and pending.job_request_id == jr.id
    assigned = client.assign_job(worker.id, jr.id, requestor_notes="Bring gloves")
    assert assigned.state == "filled" and assigned.worker.id == worker.id
    assert assigned.requestor_notes == "Bring gloves"
    assert sandbox.requests[-1].params["job[worker_id]"] == str(worker.id)
    assert client.get_job_request(jr.id).state == "filled"
    assert [j.id for j in client.list_jobs(job_request_id=jr.id)] == [pending.id, assigned.id]

    timed = client.set_actual_duration(assigned.id, 55)
    assert timed.actual_duration == 55
    noted = client.update_job(assigned.id, requestor_notes="Gate B")
    assert noted.requestor_notes == "Gate B"
    cancelled = client.cancel_job(assigned.id, "decided_to_cancel")
    assert cancelled.state == "cancelled"
    assert cancelled.raw["cancelled_reason"] == "decided_to_cancel"
    assert cancelled.transitions[-1]["to"] == "cancelled"
    assert sandbox.requests[-1].params["job[state]"] == "cancelled"
    assert client.get_job(assigned.id).state == "cancelled"
    assert client.get_job_request(jr.id).state == "posted"  # the slot opened again


def test_badges_endpoints(sandbox, client):
    assert {b.name for b in client.list_badges()} == {"Forklift Certified", "Food Handler"}
    badge = client.create_badge("CPR", "Current CPR card", info_url="https://example.com/cpr",
                                is_soft=True)
    assert isinstance(badge, Badge) and badge.is_soft is True
    assert client.get_badge(badge.id).info_url == "https://example.com/cpr"
    assert client.update_badge(badge.id, description="CPR + AED").description == "CPR + AED"
    client.delete_badge(badge.id)
    assert sandbox.requests[-1].method == "DELETE" and "token" in sandbox.requests[-1].params
    with pytest.raises(WonoloNotFound):
        client.get_badge(badge.id)


def test_customers_endpoints(client):
    assert client.list_customers() == []
    assert client.customer_exists("Acme") is False
    customer = client.create_customer(name="Acme", notes="VIP")
    assert customer["name"] == "Acme"
    assert client.get_customer(customer["id"])["notes"] == "VIP"
    assert client.update_customer(customer["id"], notes="Regular")["notes"] == "Regular"
    assert [c["id"] for c in client.list_customers()] == [customer["id"]]
    assert client.customer_exists("Acme") is True


def test_messages_endpoints(sandbox, client):
    job = client.list_jobs()[0]
    employer = client.list_users(type="Employer")[0]
    msg = client.create_message(employer.id, job.worker.id, job.id, "Please arrive by 7:45")
    assert isinstance(msg, Message) and msg.body == "Please arrive by 7:45"
    assert isinstance(msg.created_at, datetime)
    assert client.get_message(msg.id) == msg
    assert client.list_messages(job_id=job.id) == [msg]
    with pytest.raises(WonoloInvalid):
        client.create_message(employer.id, job.worker.id, job.id, "  ")
    assert sandbox.count("POST", "/messages") == 1  # the blank one never left


def test_multi_day_and_search_endpoints(client):
    jr = client.list_job_requests(state="posted")[0]
    mdjr = client.create_multi_day_job_request(job_request_id=jr.id, same_workers=True,
                                               repeat_type="daily", repeat_number=3)
    assert mdjr["repeat_number"] == 3 and mdjr["same_workers"] is True
    assert client.update_multi_day_job_request(mdjr["id"], repeat_type="weekly")[
        "repeat_type"] == "weekly"
    assert client.get_multi_day_job_request(mdjr["id"])["job_request_id"] == jr.id
    found = client.search(q="warehouse")
    assert [r["request_name"] for r in found["job_requests"]] == ["Warehouse packers"]


def test_users_endpoints(sandbox, client):
    assert len(client.list_users(type="Worker")) == 4
    maria = client.list_users(email="maria.lopez@example.com")
    assert [u.full_name for u in maria] == ["Maria Lopez"]
    assert maria[0].badges == ("Forklift Certified",) and maria[0].rating == 4.9
    user = client.create_user(email="new.worker@example.com", first_name="Nia", last_name="Obi",
                              type="Worker")
    assert isinstance(user, User) and user.full_name == "Nia Obi"
    assert client.update_user(user.id, phone="+15550001").phone == "+15550001"
    assert client.get_user(user.id).email == "new.worker@example.com"
    invite = client.invite_user(email="invitee@example.com", first_name="Ivy")
    assert invite["success"] is True
    assert client.user_tracking(user.id)["tracking"]
    assert client.sync_auth_token(external_id="ext-1", auth_token="abc")["success"] is True
    assert sandbox.requests[-1].params["external_id"] == "ext-1"


# --------------------------------------------------------------------------- errors


def test_public_pool_writes_are_forbidden_with_explanation():
    with WonoloSandbox(API_KEY, SECRET, public_pool=True) as sb:
        client = WonoloClient(API_KEY, SECRET, sb.url)
        assert client.list_job_requests()  # reads still work
        with pytest.raises(WonoloForbidden) as info:
            client.create_badge("CPR", "Current CPR card")
        assert info.value.status == 403
        assert "Public Pool" in str(info.value) and str(info.value) == FORBIDDEN_MESSAGE
        job = client.list_jobs()[0]
        with pytest.raises(WonoloForbidden):
            client.cancel_job(job.id, "decided_to_cancel")


@pytest.mark.parametrize("call", [
    lambda c: c.get_job(999999),
    lambda c: c.get_job_request(999999),
    lambda c: c.get_user(999999),
    lambda c: c.get_badge(999999),
    lambda c: c.get_message(999999),
    lambda c: c.get_customer(999999),
    lambda c: c.get_multi_day_job_request(999999),
    lambda c: c.update_job(999999, requestor_notes="x"),
    lambda c: c.resend_notifications(999999),
])
def test_unknown_ids_raise_not_found(client, call):
    with pytest.raises(WonoloNotFound) as info:
        call(client)
    assert info.value.status == 404 and "999999" in str(info.value)


def test_422_carries_errors(sandbox, client):
    with pytest.raises(WonoloInvalid) as info:
        client.create_job_request(request_name="No time")
    assert info.value.status == 422
    assert "start_time" in info.value.errors and "start_time" in str(info.value)
    with pytest.raises(WonoloInvalid):
        client.update_job(client.list_jobs()[0].id, actual_duration=-5)


def test_local_validation_sends_nothing(sandbox, client):
    with pytest.raises(WonoloInvalid):
        client.list_jobs(state="bogus")
    with pytest.raises(WonoloInvalid):
        client.list_job_requests(state="pending")  # a Job state, not a JobRequest one
    with pytest.raises(WonoloInvalid):
        client.get_job("../users/1")
    with pytest.raises(WonoloInvalid):
        client.cancel_job(1, "")
    with pytest.raises(WonoloInvalid):
        client.set_actual_duration(1, -1)
    with pytest.raises(WonoloInvalid):
        client.create_badge("", "desc")
    with pytest.raises(WonoloInvalid):
        client.update_user(1)
    assert sandbox.requests == []


def test_get_is_retried_on_5xx(sandbox, client):
    client.authenticate()
    sandbox.inject_failure(503, times=1, method="GET", path_contains="/jobs")
    assert len(client.list_jobs()) == 4
    assert sandbox.count("GET", "/jobs") == 2


def test_get_gives_up_with_server_error(sandbox, client):
    sandbox.inject_failure(500, times=10, method="GET", path_contains="/badges")
    with pytest.raises(WonoloServerError) as info:
        client.list_badges()
    assert info.value.status == 500
    assert sandbox.count("GET", "/badges") == 3  # one try + two retries


def test_write_is_not_retried_on_5xx(sandbox, client):
    sandbox.inject_failure(503, times=1, method="POST", path_contains="/badges")
    with pytest.raises(WonoloServerError) as info:
        client.create_badge("CPR", "Current CPR card")
    assert "may not have been made" in str(info.value)
    assert sandbox.count("POST", "/badges") == 1
    assert len(client.list_badges()) == 2


def test_write_timeout_is_not_retried(sandbox):
    client = WonoloClient(API_KEY, SECRET, sandbox.url, timeout=0.3)
    job = client.list_jobs()[0]
    sandbox.inject_failure(None, method="POST", path_contains="/messages", delay=0.6)
    with pytest.raises(WonoloNetworkError) as info:
        client.create_message(job.employer.id, job.worker.id, job.id, "hello")
    assert "may or may not" in str(info.value)
    assert sandbox.count("POST", "/messages") == 1


def test_unreachable_server_raises_network_error():
    sb = WonoloSandbox(API_KEY, SECRET)
    url = sb.start()
    client = WonoloClient(API_KEY, SECRET, url, timeout=2)
    client.authenticate()
    sb.stop()
    with pytest.raises(WonoloNetworkError) as info:
        client.list_jobs()
    assert info.value.status is None
    assert info.value.__cause__ is None and info.value.__context__ is None


# --------------------------------------------------------------------------- secrets


def test_secrets_never_in_repr_exceptions_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    # The one redaction filter, as bot.logsafe.setup_logging installs it on its handler; given
    # no known secret, so the session tokens below are scrubbed by their query-string shape alone.
    caplog.handler.addFilter(RedactSecrets(()))
    sb = WonoloSandbox(API_KEY, SECRET)
    url = sb.start()
    client = WonoloClient(API_KEY, SECRET, url, timeout=2)
    failures: list[BaseException] = []
    try:
        client.list_jobs()
        sb.inject_failure(503, times=1, method="GET", path_contains="/jobs")
        client.list_jobs()  # retried by urllib3, which logs the URL
        sb.expire_tokens()
        client.list_badges()  # 401 -> re-auth
        sb.inject_failure(422, times=1, method="POST", path_contains="/badges")
        for call in (lambda: client.create_badge("CPR", "x"), lambda: client.get_job(424242)):
            try:
                call()
            except WonoloError as exc:
                failures.append(exc)
        bad = WonoloClient(API_KEY, "sk_test_OtherSecret", url)
        try:
            bad.list_jobs()
        except WonoloError as exc:
            failures.append(exc)
        tokens = issued_tokens(sb)
    finally:
        sb.stop()
    try:
        client.list_badges()  # connection refused, retried and logged by urllib3
    except WonoloError as exc:
        failures.append(exc)

    assert len(tokens) == 2 and len(failures) == 4
    secrets = [API_KEY, SECRET, "sk_test_OtherSecret", *tokens]
    texts = [repr(client), str(client), caplog.text]
    for exc in failures:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    # The logs did see the token-bearing URLs, scrubbed.
    assert "token=[redacted]" in caplog.text
    assert "/api_v2/jobs" in caplog.text


def test_dataclass_repr_hides_raw():
    user = User.from_dict({"id": "7", "first_name": "A", "secret_field": "zzz"})
    assert user.id == 7 and "zzz" not in repr(user) and user.raw["secret_field"] == "zzz"


# --------------------------------------------------------------------------- tolerant shapes


class _FakeResponse:
    def __init__(self, status: int, payload) -> None:
        self.status_code = status
        self.content = b"" if payload is None else json.dumps(payload).encode()

    def json(self):
        return json.loads(self.content)


class _FakeSession:
    """Answers /authenticate, then the queued payloads in order."""

    def __init__(self, *payloads) -> None:
        self.payloads = list(payloads)
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url))
        if url.endswith("/authenticate"):
            return _FakeResponse(200, {"token": "t", "expires_at": "2099-01-01T00:00:00Z"})
        return _FakeResponse(200, self.payloads.pop(0))


def test_tolerates_list_and_object_shapes():
    jobs = [{"id": i, "state": "filled"} for i in range(3)]
    session = _FakeSession(jobs, {"data": jobs[:1]}, {"job": {"id": 9}}, {"id": 10},
                           {"data": {"id": 11, "state": "posted", "jobs": [
                               {"state": "filled"}, {"state": "cancelled"},
                               {"state": "in_progress"}]}},
                           None)
    client = WonoloClient("pk_test_x", "sk_x", "http://wonolo.invalid", session=session)
    assert [j.id for j in client.list_jobs()] == [0, 1, 2]
    assert [j.id for j in client.list_jobs()] == [0]
    assert client.get_job(9).id == 9
    assert client.get_job(10).id == 10
    jr = client.get_job_request(11)
    assert jr.slots_filled == 2 and jr.slots is None and jr.start_time is None
    assert client.delete_badge(3) is None  # empty body is fine


def test_slots_filled_absent_without_jobs():
    assert JobRequest.from_dict({"id": 1}).slots_filled is None
    assert JobRequest.from_dict({"id": 1, "slots_filled": "2"}).slots_filled == 2


def test_unreadable_numbers_become_none_not_a_crash():
    jr = JobRequest.from_dict({"id": "12", "slots": "Infinity", "duration": "-Infinity", "wage": "NaN",
                               "slots_filled": "lots", "start_time": 10**20, "jobs": [{"state": "filled"}]})
    assert (jr.id, jr.slots, jr.duration, jr.wage, jr.start_time) == (12, None, None, None, None)
    assert jr.slots_filled == 1  # unreadable: counted from the embedded jobs instead


def test_sandbox_sends_signed_webhooks(sandbox):
    received: list[tuple[bytes, str | None]] = []

    @Request.application
    def receiver(request):
        received.append((request.get_data(), request.headers.get(HEADER)))
        return Response("ok")

    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        jr_id = next(iter(sandbox.job_requests))
        resp = sandbox.send_webhook(f"http://127.0.0.1:{server.port}/hook", "job_request", jr_id)
        assert resp.status_code == 200
        sandbox.send_webhook(f"http://127.0.0.1:{server.port}/hook", "job",
                             next(iter(sandbox.jobs)), secret_key="sk_other")
    finally:
        server.shutdown()
        server.server_close()
    (body, header), (body2, header2) = received
    assert verify(body, header, SECRET) and not verify(body2, header2, SECRET)
    event = parse_event(body)
    assert (event.resource_type, event.resource_id) == ("job_request", str(jr_id))
    assert event.state == sandbox.job_requests[jr_id]["state"]
    assert event.event == "job_request.state_changed"
