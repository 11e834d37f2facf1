"""A Wonolo API v2 simulator on loopback, for tests and for trying the bot.

It implements every endpoint of the seed under /api_v2 with the documented
behaviour (token auth, 401/403/404/422, page/per lists keyed by resource
name, job transitions) on a real werkzeug HTTP server in a daemon thread.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import queue
import re
import secrets
import signal
import threading
import time
from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from bot.logsafe import redact_query
from bot.wonolo.client import JOB_REQUEST_STATES, JOB_STATES, USER_TYPES
from bot.wonolo.webhook import HEADER
from sandbox.loopback import LoopbackServer

log = logging.getLogger("gigdesk.wonolo.sandbox")

RecordedRequest = namedtuple("RecordedRequest", "method path params time")

DEFAULT_PER = 25
MAX_PER = 50
_SLOT_STATES = frozenset({"filled", "in_progress", "completed", "approved", "paused"})
# Writes a Public Pool key may not make (the facts: "forbidden in many cases").
_PUBLIC_POOL_FORBIDDEN = frozenset({"jobs", "job_requests", "users", "badges",
                                    "multi_day_job_requests"})
_WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class _ApiError(Exception):
    """Raised by handlers; becomes a JSON error response."""

    def __init__(self, status: int, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    text = moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _parse_dt(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise _ApiError(422, f"{name} is invalid", {name: ["is not a valid time"]}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_int(value: Any, name: str, minimum: int = 0) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _ApiError(422, f"{name} is invalid", {name: ["must be an integer"]}) from None
    if number < minimum:
        raise _ApiError(422, f"{name} is invalid", {name: [f"must be at least {minimum}"]})
    return number


def _parse_bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "t", "y")


def _require(fields: dict, *names: str) -> None:
    missing = [n for n in names if not str(fields.get(n) or "").strip()]
    if missing:
        raise _ApiError(422, "missing parameters", {n: ["is required"] for n in missing})


def _nest(items: list[tuple[str, str]]) -> dict[str, Any]:
    """Rails-style keys (a[b]=1, a[c][]=2) into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in items:
        match = _KEY_RE.match(key)
        if not match:
            root[key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        cur: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(cur, list):  # a[][b] is beyond what the API uses
                if last:
                    cur.append(value)
                break
            if last:
                cur[part] = value
            elif parts[i + 1] == "":
                if not isinstance(cur.get(part), list):
                    cur[part] = []
                cur = cur[part]
            else:
                if not isinstance(cur.get(part), dict):
                    cur[part] = {}
                cur = cur[part]
    return root


class _QuietHandler(WSGIRequestHandler):
    """Log request lines at DEBUG, without query strings (they carry tokens)."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        try:
            text = message % args
        except (TypeError, ValueError):
            text = message
        log.debug("%s", redact_query(text))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = getattr(self, "path", "").split("?", 1)[0]
        log.debug("%s %s %s", getattr(self, "command", "?"), path, code)


class WonoloSandbox:
    """In-memory Wonolo with a real HTTP front; see the module docstring."""

    def __init__(self, api_key: str = "pk_test_sandbox", secret_key: str = "sk_test_sandbox", *,
                 token_ttl: float = 86400, demo_data: bool = True,
                 public_pool: bool = False) -> None:
        self.api_key = api_key
        self.secret_key = secret_key
        self.token_ttl = token_ttl
        self.public_pool = public_pool
        self.requests: list[RecordedRequest] = []
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._lock = threading.RLock()
        self._ids = itertools.count(101)
        self.users: dict[int, dict] = {}
        self.badges: dict[int, dict] = {}
        self.job_requests: dict[int, dict] = {}
        self.jobs: dict[int, dict] = {}
        self.messages: dict[int, dict] = {}
        self.customers: dict[int, dict] = {}
        self.multi_day: dict[int, dict] = {}
        self._failures: list[dict] = []
        # on_change(resource_type, id) after every state change, called in order from
        # one thread of its own (never under the lock): how webhooks are delivered.
        self.on_change: Callable[[str, int], Any] | None = None
        self._changes: queue.Queue[tuple[str, int]] = queue.Queue()
        self._notifier: threading.Thread | None = None
        self._loop = LoopbackServer(self, name="wonolo-sandbox", request_handler=_QuietHandler, join_timeout=2)
        self._url: str | None = None
        self.employer_id: int | None = None
        self._rules = Map([
            Rule("/api_v2/authenticate", methods=["POST"], endpoint="authenticate"),
            Rule("/api_v2/info", methods=["GET"], endpoint="info"),
            Rule("/api_v2/badges", methods=["GET", "POST"], endpoint="badges"),
            Rule("/api_v2/badges/<rid>", methods=["GET", "PATCH", "PUT", "DELETE"],
                 endpoint="badge"),
            Rule("/api_v2/customers", methods=["GET", "POST"], endpoint="customers"),
            Rule("/api_v2/customers/exists", methods=["GET"], endpoint="customer_exists"),
            Rule("/api_v2/customers/<rid>", methods=["GET", "PATCH", "PUT"], endpoint="customer"),
            Rule("/api_v2/job_requests", methods=["GET", "POST"], endpoint="job_requests"),
            Rule("/api_v2/job_requests/<rid>", methods=["GET", "PATCH"], endpoint="job_request"),
            Rule("/api_v2/job_requests/<rid>/rankings", methods=["GET"], endpoint="rankings"),
            Rule("/api_v2/job_requests/<rid>/resend_notifications", methods=["POST"],
                 endpoint="resend_notifications"),
            Rule("/api_v2/job_requests/<rid>/re_rank_workers", methods=["POST"],
                 endpoint="re_rank_workers"),
            Rule("/api_v2/jobs", methods=["GET", "POST"], endpoint="jobs"),
            Rule("/api_v2/jobs/assign", methods=["POST"], endpoint="assign"),
            Rule("/api_v2/jobs/<rid>", methods=["GET", "PATCH"], endpoint="job"),
            Rule("/api_v2/messages", methods=["GET", "POST"], endpoint="messages"),
            Rule("/api_v2/messages/<rid>", methods=["GET"], endpoint="message"),
            Rule("/api_v2/multi_day_job_requests", methods=["POST"], endpoint="multi_days"),
            Rule("/api_v2/multi_day_job_requests/<rid>", methods=["GET", "PATCH"],
                 endpoint="multi_day"),
            Rule("/api_v2/search", methods=["GET"], endpoint="search"),
            Rule("/api_v2/users", methods=["GET", "POST"], endpoint="users"),
            Rule("/api_v2/users/invite", methods=["POST"], endpoint="invite"),
            Rule("/api_v2/users/<rid>", methods=["GET", "PATCH", "PUT"], endpoint="user"),
            Rule("/api_v2/users/<rid>/tracking", methods=["GET"], endpoint="tracking"),
            Rule("/api_v2/sync_auth_token", methods=["POST"], endpoint="sync_auth_token"),
        ])
        if demo_data:
            self._load_demo()

    # ----------------------------------------------------------- server lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread; returns the base URL (without /api_v2)."""
        if self._loop.running:
            return self.url
        self._url = self._loop.start(host, port)
        return self._url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._loop.stop()

    @property
    def url(self) -> str:
        """Base URL of the running sandbox."""
        if self._url is None:
            raise RuntimeError("the sandbox is not started")
        return self._url

    def __enter__(self) -> WonoloSandbox:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ----------------------------------------------------------- test helpers

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """How many recorded requests match."""
        with self._lock:
            return sum(1 for r in self.requests
                       if (method is None or r.method == method.upper())
                       and (path_contains is None or path_contains in r.path))

    def expire_tokens(self) -> None:
        """Invalidate every issued token: the next call gets 401."""
        with self._lock:
            self.tokens.clear()

    def inject_failure(self, status: int | None = 503, *, times: int = 1,
                       method: str | None = None, path_contains: str | None = None,
                       delay: float = 0.0, error: str = "injected failure") -> None:
        """Make the next `times` matching requests fail with `status` (None: only delay) and `error` as the body's error."""
        with self._lock:
            self._failures.append({"status": status, "times": times, "delay": delay, "error": error,
                                   "method": method.upper() if method else None,
                                   "path": path_contains})

    def add_user(self, **fields: Any) -> int:
        """Add a user (default a Worker); returns its id."""
        with self._lock:
            uid = next(self._ids)
            now = _now()
            user = {"id": uid, "type": "Worker", "first_name": f"Worker{uid}",
                    "last_name": "Sandbox", "email": f"worker{uid}@example.com",
                    "phone": None, "rating": 4.8, "suspended": False, "address_state": "CA",
                    "external_id": None, "badge_ids": [], "created_at": now, "updated_at": now}
            user.update(fields)
            user["id"] = uid
            self.users[uid] = user
            return uid

    def add_job_request(self, **fields: Any) -> int:
        """Add a job request (default posted, in three days at 09:00 UTC, 1 slot); returns its id.

        Three days out: far from WONOLO_UNFILLED_ALERT_HOURS' default, so a
        request raises an unfilled alert only when a test means it to."""
        with self._lock:
            jid = next(self._ids)
            now = _now()
            record = {"id": jid, "state": "posted", "request_name": f"Job request {jid}",
                      "category": "General Labor", "description": "Sandbox job request",
                      "address": "1 Market St", "city": "San Francisco", "zip": "94105",
                      "venue": "Sandbox Venue",
                      "start_time": (now + timedelta(days=3)).replace(hour=9, minute=0, second=0),
                      "duration": 240, "slots": 1, "wage": Decimal("17.00"),
                      "employer_id": self.employer_id, "company_id": 1,
                      "timezone": "America/Los_Angeles", "multi_day_job_request_id": None,
                      "badge_ids": [], "created_at": now, "updated_at": now}
            record.update(fields)
            record["id"] = jid
            if isinstance(record.get("start_time"), str):
                record["start_time"] = _parse_dt(record["start_time"], "start_time")
            if record.get("wage") is not None and not isinstance(record["wage"], Decimal):
                record["wage"] = Decimal(str(record["wage"]))
            self.job_requests[jid] = record
            return jid

    def add_job(self, job_request_id: int, worker_id: int | None = None,
                state: str = "filled") -> int:
        """Add a job on a job request; returns its id."""
        with self._lock:
            if job_request_id not in self.job_requests:
                raise KeyError(f"no job request {job_request_id}")
            if state not in JOB_STATES:
                raise ValueError(f"unknown job state {state!r}")
            jid = next(self._ids)
            now = _now()
            self.jobs[jid] = {
                "id": jid, "state": "pending", "job_request_id": job_request_id,
                "worker_id": worker_id, "hours_worked": None, "actual_duration": None,
                "confirmed_at": None, "started_at": None, "completed_at": None,
                "requestor_notes": None, "cancelled_reason": None, "transitions": [],
                "created_at": now, "updated_at": now,
            }
            if state != "pending":
                self._transition(self.jobs[jid], state)
            return jid

    def set_job_state(self, job_id: int, state: str) -> None:
        """Move a job to a state, recording a transition."""
        with self._lock:
            if state not in JOB_STATES:
                raise ValueError(f"unknown job state {state!r}")
            self._transition(self.jobs[job_id], state)

    def set_job_request_state(self, jr_id: int, state: str) -> None:
        """Force a job request's state."""
        with self._lock:
            if state not in JOB_REQUEST_STATES:
                raise ValueError(f"unknown job request state {state!r}")
            changed = self.job_requests[jr_id]["state"] != state
            self.job_requests[jr_id]["state"] = state
            self.job_requests[jr_id]["updated_at"] = _now()
            if changed:
                self._changed("job_request", jr_id)

    def _changed(self, resource_type: str, resource_id: int) -> None:
        """Queue an on_change call (a webhook delivery) for a state change."""
        if self.on_change is None:
            return
        self._changes.put((resource_type, int(resource_id)))
        if self._notifier is None or not self._notifier.is_alive():
            self._notifier = threading.Thread(target=self._notify, name="wonolo-webhooks", daemon=True)
            self._notifier.start()

    def _notify(self) -> None:
        while True:
            resource_type, resource_id = self._changes.get()
            callback = self.on_change
            if callback is None:
                continue
            try:
                callback(resource_type, resource_id)
            except Exception as exc:  # a receiver that is down must not stop the simulator
                log.warning("webhook for %s %s not delivered: %s", resource_type, resource_id, exc)

    def webhook_body(self, resource_type: str, resource_id: int) -> bytes:
        """The JSON body Wonolo would send for this resource's current state."""
        with self._lock:
            if resource_type == "job":
                record, type_name = self.jobs.get(int(resource_id)), "Job"
            elif resource_type == "job_request":
                record, type_name = self.job_requests.get(int(resource_id)), "JobRequest"
            else:
                raise ValueError("resource_type must be 'job' or 'job_request'")
            if record is None:
                raise KeyError(f"no {resource_type} {resource_id}")
            payload = {"type": type_name, "id": record["id"], "state": record["state"],
                       "event": f"{resource_type}.state_changed",
                       "updated_at": _iso(record["updated_at"])}
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def send_webhook(self, url: str, resource_type: str, resource_id: int, *,
                     secret_key: str | None = None) -> requests.Response:
        """POST a signed webhook delivery to `url`."""
        body = self.webhook_body(resource_type, resource_id)
        # Signed as Wonolo documents it, not with the bot's own expected_token():
        # the simulator must not share the code it is there to check.
        key = secret_key if secret_key is not None else self.secret_key
        token = hashlib.sha256(body + key.encode("utf-8")).hexdigest()
        return requests.post(url, data=body, timeout=10,
                             headers={"Content-Type": "application/json", HEADER: token})

    # ----------------------------------------------------------- demo data

    def _load_demo(self) -> None:
        now = _now()
        self.employer_id = self.add_user(type="Employer", first_name="Dana", last_name="Ops",
                                         email="dana.ops@example.com", rating=None)
        forklift = self._new_badge("Forklift Certified", "Holds a current forklift certification",
                                   is_soft=False)
        self._new_badge("Food Handler", "Has a food handler card", is_soft=True)
        workers = [
            self.add_user(first_name="Maria", last_name="Lopez", email="maria.lopez@example.com",
                          phone="+15105550101", rating=4.9, badge_ids=[forklift]),
            self.add_user(first_name="James", last_name="Chen", email="james.chen@example.com",
                          phone="+15105550102", rating=4.7),
            self.add_user(first_name="Aisha", last_name="Khan", email="aisha.khan@example.com",
                          phone="+15105550103", rating=4.95),
            self.add_user(first_name="Tom", last_name="Becker", email="tom.becker@example.com",
                          phone="+15105550104", rating=4.2),
        ]
        tomorrow = (now + timedelta(days=1)).replace(hour=15, minute=0, second=0)
        posted = self.add_job_request(
            request_name="Warehouse packers", category="Warehouse",
            venue="Acme Fulfillment Center",
            address="1200 Harbor Way", city="Oakland", zip="94607", start_time=tomorrow,
            duration=480, slots=3, wage=Decimal("18.50"), badge_ids=[forklift])
        self.add_job(posted, workers[0], "filled")
        filled = self.add_job_request(
            request_name="Event setup crew", category="Events", venue="Moscone Center",
            address="747 Howard St", city="San Francisco", zip="94103",
            start_time=tomorrow + timedelta(days=1), duration=300, slots=2, wage=Decimal("21.00"))
        self.add_job(filled, workers[1], "filled")
        self.add_job(filled, workers[2], "filled")
        self.set_job_request_state(filled, "filled")
        done = self.add_job_request(
            request_name="Inventory count", category="Retail", venue="Bay Street Store",
            address="5600 Bay St", city="Emeryville", zip="94608",
            start_time=now - timedelta(days=1), duration=240, slots=1, wage=Decimal("19.25"))
        job = self.add_job(done, workers[3], "filled")
        for state in ("in_progress", "completed"):
            self.set_job_state(job, state)
        self.jobs[job].update(hours_worked=4.0, actual_duration=240)
        self.set_job_request_state(done, "completed")

    def _new_badge(self, name: str, description: str, **fields: Any) -> int:
        bid = next(self._ids)
        now = _now()
        self.badges[bid] = {"id": bid, "name": name, "description": description,
                            "info_url": None, "remote_icon_url": None, "is_soft": False,
                            "created_at": now, "updated_at": now, **fields}
        return bid

    # ----------------------------------------------------------- serialisers

    def _user_json(self, user: dict | None) -> dict | None:
        if user is None:
            return None
        badges = [{"id": b, "badge_id": b, "name": self.badges[b]["name"]}
                  for b in user.get("badge_ids", []) if b in self.badges]
        out = {k: v for k, v in user.items() if k not in ("badge_ids", "created_at", "updated_at")}
        out.update(user_badges=badges, created_at=_iso(user["created_at"]),
                   updated_at=_iso(user["updated_at"]))
        return out

    def _badge_json(self, badge: dict) -> dict:
        return {**badge, "created_at": _iso(badge["created_at"]),
                "updated_at": _iso(badge["updated_at"])}

    def _job_json(self, job: dict) -> dict:
        jr = self.job_requests.get(job["job_request_id"], {})
        out = {k: v for k, v in job.items() if k != "worker_id"}
        out.update(
            worker_id=job["worker_id"],
            worker=self._user_json(self.users.get(job["worker_id"])),
            employer=self._user_json(self.users.get(jr.get("employer_id"))),
            transitions=[{**t, "created_at": _iso(t["created_at"])} for t in job["transitions"]],
        )
        for key in ("confirmed_at", "started_at", "completed_at", "created_at", "updated_at"):
            out[key] = _iso(job[key])
        return out

    def _jr_json(self, jr: dict) -> dict:
        out = {k: v for k, v in jr.items() if k != "badge_ids"}
        out.update(
            start_time=_iso(jr["start_time"]),
            wage=str(jr["wage"]) if jr.get("wage") is not None else None,
            created_at=_iso(jr["created_at"]), updated_at=_iso(jr["updated_at"]),
            badge_requirements=[{"badge_id": b, "name": self.badges[b]["name"]}
                                for b in jr.get("badge_ids", []) if b in self.badges],
            # Summaries only (no slots_filled field: the client derives it).
            jobs=[{"id": j["id"], "state": j["state"], "worker_id": j["worker_id"]}
                  for j in self.jobs.values() if j["job_request_id"] == jr["id"]],
        )
        return out

    def _message_json(self, msg: dict) -> dict:
        return {**msg, "created_at": _iso(msg["created_at"])}

    def _plain_json(self, rec: dict) -> dict:
        return {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in rec.items()}

    # ----------------------------------------------------------- state helpers

    def _transition(self, job: dict, state: str) -> None:
        old = job["state"]
        now = _now()
        job["state"] = state
        job["updated_at"] = now
        stamp = {"filled": "confirmed_at", "in_progress": "started_at",
                 "completed": "completed_at"}
        if state in stamp and job.get(stamp[state]) is None:
            job[stamp[state]] = now
        job["transitions"].append({"id": next(self._ids), "job_id": job["id"], "name": state,
                                   "from": old, "to": state, "created_at": now})
        if old != state:
            self._changed("job", job["id"])
        self._rederive(job["job_request_id"])

    def _rederive(self, jr_id: int) -> None:
        """posted <-> filled follows how many jobs hold a slot."""
        jr = self.job_requests.get(jr_id)
        if jr is None or jr["state"] not in ("posted", "filled"):
            return
        active = sum(1 for j in self.jobs.values()
                     if j["job_request_id"] == jr_id and j["state"] in _SLOT_STATES)
        new = "filled" if active >= int(jr.get("slots") or 1) else "posted"
        if new != jr["state"]:
            jr["state"], jr["updated_at"] = new, _now()
            self._changed("job_request", jr_id)

    # ----------------------------------------------------------- WSGI

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        items = list(request.args.items(multi=True))
        if request.method != "GET":
            items += list(request.form.items(multi=True))
        params = _nest(items)
        if request.is_json:  # tolerate JSON bodies too
            body = request.get_json(silent=True)
            if isinstance(body, dict):
                params.update(body)
        with self._lock:
            flat = dict(request.args.items()) | dict(request.form.items())
            self.requests.append(RecordedRequest(request.method, request.path, flat, time.time()))
            failure = self._take_failure(request)
        if failure is not None:
            if failure["delay"]:
                time.sleep(failure["delay"])
            if failure["status"] is not None:
                return self._json({"error": failure["error"]}, failure["status"])
        try:
            adapter = self._rules.bind_to_environ(request.environ)
            endpoint, args = adapter.match()
            if endpoint not in ("authenticate", "info"):
                self._check_token(params.get("token"))
                segment = request.path.split("/")[2] if request.path.count("/") >= 2 else ""
                if (self.public_pool and request.method in _WRITE_METHODS
                        and segment in _PUBLIC_POOL_FORBIDDEN):
                    raise _ApiError(403, "forbidden for Public Pool access")
            params.pop("token", None)
            handler = getattr(self, f"_ep_{endpoint}")
            with self._lock:
                result = handler(request.method, params, **args)
        except _ApiError as exc:
            body: dict[str, Any] = {"error": exc.message}
            if exc.errors is not None:
                body["errors"] = exc.errors
            return self._json(body, exc.status)
        except HTTPException as exc:  # unknown route (404) or wrong method (405)
            return self._json({"error": exc.name}, exc.code or 500)
        if result is None:
            return Response(status=204)
        status, payload = result if isinstance(result, tuple) else (200, result)
        return self._json(payload, status)

    def _take_failure(self, request: Request) -> dict | None:
        for rule in self._failures:
            if rule["method"] and rule["method"] != request.method:
                continue
            if rule["path"] and rule["path"] not in request.path:
                continue
            rule["times"] -= 1
            if rule["times"] <= 0:
                self._failures.remove(rule)
            return rule
        return None

    @staticmethod
    def _json(payload: Any, status: int = 200) -> Response:
        return Response(json.dumps(payload, default=str), status=status,
                        mimetype="application/json")

    def _check_token(self, token: Any) -> None:
        with self._lock:
            expiry = self.tokens.get(token) if isinstance(token, str) else None
        if expiry is None or expiry <= time.time():
            raise _ApiError(401, "invalid or expired token")

    # ----------------------------------------------------------- params helpers

    @staticmethod
    def _fields(params: dict, resource: str) -> dict:
        """Nested resource[...] fields, or flat ones as a fallback."""
        nested = params.get(resource)
        if isinstance(nested, dict):
            return dict(nested)
        return {k: v for k, v in params.items() if k not in ("page", "per")}

    @staticmethod
    def _page(params: dict, records: list[dict]) -> list[dict]:
        page = _parse_int(params.get("page", 1), "page", 1)
        per = min(_parse_int(params.get("per", DEFAULT_PER), "per", 1), MAX_PER)
        records = sorted(records, key=lambda r: r["id"])
        return records[(page - 1) * per: page * per]

    @staticmethod
    def _get(table: dict[int, dict], rid: str, what: str) -> dict:
        try:
            return table[int(rid)]
        except (ValueError, KeyError):
            raise _ApiError(404, f"{what} not found") from None

    @staticmethod
    def _updated_filter(records: list[dict], params: dict) -> list[dict]:
        if params.get("updated_after"):
            after = _parse_dt(params["updated_after"], "updated_after")
            records = [r for r in records if r["updated_at"] > after]
        if params.get("updated_before"):
            before = _parse_dt(params["updated_before"], "updated_before")
            records = [r for r in records if r["updated_at"] < before]
        return records

    # ----------------------------------------------------------- endpoints: auth, info

    def _ep_authenticate(self, method: str, params: dict) -> tuple[int, dict]:
        _require(params, "api_key", "secret_key")
        key_ok = secrets.compare_digest(str(params["api_key"]).encode(), self.api_key.encode())
        secret_ok = secrets.compare_digest(str(params["secret_key"]).encode(),
                                           self.secret_key.encode())
        if not (key_ok and secret_ok):
            raise _ApiError(401, "invalid API key or secret key")
        token = secrets.token_hex(20)
        expires = time.time() + self.token_ttl
        self.tokens[token] = expires
        return 200, {"token": token,
                     "expires_at": _iso(datetime.fromtimestamp(expires, tz=UTC))}

    def _ep_info(self, method: str, params: dict) -> dict:
        return {"name": "Wonolo API", "version": "2.0", "environment": "sandbox",
                "time": _iso(_now())}

    # ----------------------------------------------------------- badges

    def _ep_badges(self, method: str, params: dict) -> Any:
        if method == "GET":
            records = list(self.badges.values())
            if params.get("name"):
                records = [b for b in records if b["name"] == params["name"]]
            return {"badges": [self._badge_json(b) for b in self._page(params, records)]}
        fields = self._fields(params, "badge")
        _require(fields, "name", "description")
        extra = {k: fields.get(k) for k in ("info_url", "remote_icon_url")}
        bid = self._new_badge(str(fields["name"]), str(fields["description"]),
                              is_soft=_parse_bool(fields.get("is_soft", False)), **extra)
        return 201, {"badge": self._badge_json(self.badges[bid])}

    def _ep_badge(self, method: str, params: dict, rid: str) -> Any:
        badge = self._get(self.badges, rid, "badge")
        if method == "DELETE":
            del self.badges[badge["id"]]
            return None
        if method in ("PATCH", "PUT"):
            fields = self._fields(params, "badge")
            for key in ("name", "description", "info_url", "remote_icon_url"):
                if key in fields:
                    if key in ("name", "description") and not str(fields[key]).strip():
                        raise _ApiError(422, "invalid badge", {key: ["can't be blank"]})
                    badge[key] = fields[key]
            if "is_soft" in fields:
                badge["is_soft"] = _parse_bool(fields["is_soft"])
            badge["updated_at"] = _now()
        return {"badge": self._badge_json(badge)}

    # ----------------------------------------------------------- customers

    def _ep_customers(self, method: str, params: dict) -> Any:
        if method == "GET":
            records = list(self.customers.values())
            if params.get("name"):
                records = [c for c in records if c["name"] == params["name"]]
            return {"customers": [self._plain_json(c) for c in self._page(params, records)]}
        fields = self._fields(params, "customer")
        _require(fields, "name")
        cid = next(self._ids)
        now = _now()
        self.customers[cid] = {**fields, "id": cid, "created_at": now, "updated_at": now}
        return 201, {"customer": self._plain_json(self.customers[cid])}

    def _ep_customer_exists(self, method: str, params: dict) -> dict:
        _require(params, "name")
        name = str(params["name"]).strip().lower()
        return {"exists": any(str(c.get("name", "")).lower() == name
                              for c in self.customers.values())}

    def _ep_customer(self, method: str, params: dict, rid: str) -> dict:
        customer = self._get(self.customers, rid, "customer")
        if method in ("PATCH", "PUT"):
            fields = self._fields(params, "customer")
            if "name" in fields and not str(fields["name"]).strip():
                raise _ApiError(422, "invalid customer", {"name": ["can't be blank"]})
            customer.update({k: v for k, v in fields.items() if k not in ("id", "created_at")})
            customer["updated_at"] = _now()
        return {"customer": self._plain_json(customer)}

    # ----------------------------------------------------------- job requests

    def _apply_jr_fields(self, jr: dict, fields: dict) -> None:
        """Validate and copy writable job request fields."""
        text = ("request_name", "category", "description", "address", "city", "zip", "venue",
                "timezone")
        for key in text:
            if key in fields:
                jr[key] = fields[key]
        if "start_time" in fields:
            jr["start_time"] = _parse_dt(fields["start_time"], "start_time")
        if "duration" in fields:
            jr["duration"] = _parse_int(fields["duration"], "duration", 1)
        if "slots" in fields:
            jr["slots"] = _parse_int(fields["slots"], "slots", 1)
        if "wage" in fields:
            try:
                wage = Decimal(str(fields["wage"]))
            except InvalidOperation:
                raise _ApiError(422, "wage is invalid", {"wage": ["is not a number"]}) from None
            if not wage.is_finite() or wage <= 0:
                raise _ApiError(422, "wage is invalid", {"wage": ["must be positive"]})
            jr["wage"] = wage
        if "state" in fields:
            if fields["state"] not in JOB_REQUEST_STATES:
                raise _ApiError(422, "state is invalid", {"state": ["is not a valid state"]})
            if jr.get("id") in self.job_requests and jr["state"] != fields["state"]:
                self._changed("job_request", jr["id"])  # delivered after this request's lock is released
            jr["state"] = fields["state"]
        if "badge_ids" in fields:
            ids = fields["badge_ids"]
            ids = ids if isinstance(ids, list) else [ids]
            try:
                jr["badge_ids"] = [int(b) for b in ids if int(b) in self.badges]
                if len(jr["badge_ids"]) != len(ids):
                    jr["_unknown_badges"] = True  # a new request refuses them (_check_new_job_request)
            except ValueError:
                raise _ApiError(422, "badge_ids is invalid",
                                {"badge_ids": ["must be ids"]}) from None
        if "customer_id" in fields:
            jr["customer_id"] = fields["customer_id"]
        for key in ("employer_id", "multi_day_job_request_id"):
            if key in fields:
                jr[key] = _parse_int(fields[key], key, 1)

    def _check_new_job_request(self, draft: dict) -> None:
        """What a new request must have beyond its fields' formats: a known zone and customer,
        and badges that exist (a request naming an unknown badge is refused, not trimmed)."""
        zone = draft.get("timezone")
        if zone is not None:
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                raise _ApiError(422, "timezone is invalid", {"timezone": ["is not a time zone"]}) from None
        customer = draft.pop("customer_id", None)
        if customer is not None:
            try:
                known = int(customer) in self.customers
            except ValueError:
                known = False
            if not known:
                raise _ApiError(422, "customer_id is invalid", {"customer_id": ["does not exist"]})
            draft["customer_id"] = int(customer)
        if draft.pop("_unknown_badges", None):
            raise _ApiError(422, "badge_ids is invalid", {"badge_ids": ["do not exist"]})

    def _ep_job_requests(self, method: str, params: dict) -> Any:
        if method == "GET":
            records = list(self.job_requests.values())
            if params.get("state"):
                records = [r for r in records if r["state"] == params["state"]]
            records = self._updated_filter(records, params)
            return {"job_requests": [self._jr_json(r) for r in self._page(params, records)]}
        fields = self._fields(params, "job_request")
        _require(fields, "start_time", "duration")
        draft: dict = {}
        self._apply_jr_fields(draft, fields)  # validate before creating anything
        self._check_new_job_request(draft)
        jid = self.add_job_request(**draft)
        return 201, {"job_request": self._jr_json(self.job_requests[jid])}

    def _ep_job_request(self, method: str, params: dict, rid: str) -> dict:
        jr = self._get(self.job_requests, rid, "job request")
        if method == "PATCH":
            staged = dict(jr)
            self._apply_jr_fields(staged, self._fields(params, "job_request"))
            staged.pop("_unknown_badges", None)  # an update keeps the known ones, as before
            staged["updated_at"] = _now()
            jr.update(staged)
        return {"job_request": self._jr_json(jr)}

    def _ep_rankings(self, method: str, params: dict, rid: str) -> dict:
        self._get(self.job_requests, rid, "job request")
        workers = sorted((u for u in self.users.values()
                          if u["type"] == "Worker" and not u.get("suspended")),
                         key=lambda u: -(u.get("rating") or 0))
        return {"rankings": [{"rank": i, "score": u.get("rating"), "worker": self._user_json(u)}
                             for i, u in enumerate(workers, 1)]}

    def _ep_resend_notifications(self, method: str, params: dict, rid: str) -> dict:
        self._get(self.job_requests, rid, "job request")
        return {"success": True}

    def _ep_re_rank_workers(self, method: str, params: dict, rid: str) -> dict:
        self._get(self.job_requests, rid, "job request")
        return {"success": True}

    # ----------------------------------------------------------- jobs

    def _worker(self, value: Any) -> int:
        try:
            user = self.users[int(value)]
        except (ValueError, KeyError):
            raise _ApiError(422, "worker is invalid", {"worker_id": ["does not exist"]}) from None
        if user["type"] != "Worker":
            raise _ApiError(422, "worker is invalid", {"worker_id": ["is not a worker"]})
        return user["id"]

    def _job_request_ref(self, value: Any) -> dict:
        try:
            return self.job_requests[int(value)]
        except (ValueError, KeyError):
            raise _ApiError(422, "job request is invalid",
                            {"job_request_id": ["does not exist"]}) from None

    def _ep_jobs(self, method: str, params: dict) -> Any:
        if method == "GET":
            records = list(self.jobs.values())
            if params.get("state"):
                records = [r for r in records if r["state"] == params["state"]]
            if params.get("job_request_id"):
                wanted = str(params["job_request_id"])
                records = [r for r in records if str(r["job_request_id"]) == wanted]
            records = self._updated_filter(records, params)
            return {"jobs": [self._job_json(r) for r in self._page(params, records)]}
        fields = self._fields(params, "job")
        _require(fields, "job_request_id")
        jr = self._job_request_ref(fields["job_request_id"])
        worker = self._worker(fields["worker_id"]) if fields.get("worker_id") else None
        state = fields.get("state", "pending")
        if state not in JOB_STATES:
            raise _ApiError(422, "state is invalid", {"state": ["is not a valid state"]})
        jid = self.add_job(jr["id"], worker, state)
        self.jobs[jid]["requestor_notes"] = fields.get("requestor_notes")
        return 201, {"job": self._job_json(self.jobs[jid])}

    def _ep_assign(self, method: str, params: dict) -> Any:
        fields = self._fields(params, "job")
        _require(fields, "worker_id", "job_request_id")
        jr = self._job_request_ref(fields["job_request_id"])
        worker = self._worker(fields["worker_id"])
        if jr["state"] not in ("unassigned", "posted"):
            raise _ApiError(422, "job request is not open",
                            {"job_request_id": [f"is {jr['state']}, not open for workers"]})
        active = [j for j in self.jobs.values()
                  if j["job_request_id"] == jr["id"] and j["state"] in _SLOT_STATES]
        if any(j["worker_id"] == worker for j in active):
            raise _ApiError(422, "already assigned", {"worker_id": ["already has this job"]})
        if len(active) >= int(jr.get("slots") or 1):
            raise _ApiError(422, "job request is full", {"job_request_id": ["has no open slot"]})
        jid = self.add_job(jr["id"], worker, "filled")
        self.jobs[jid]["requestor_notes"] = fields.get("requestor_notes")
        return 201, {"job": self._job_json(self.jobs[jid])}

    def _ep_job(self, method: str, params: dict, rid: str) -> dict:
        job = self._get(self.jobs, rid, "job")
        if method == "PATCH":
            fields = self._fields(params, "job")
            state = fields.get("state")
            if state is not None and state not in JOB_STATES:
                raise _ApiError(422, "state is invalid", {"state": ["is not a valid state"]})
            duration = (_parse_int(fields["actual_duration"], "actual_duration", 0)
                        if "actual_duration" in fields else None)
            hours = None
            if "hours_worked" in fields:
                try:
                    hours = float(fields["hours_worked"])
                except ValueError:
                    raise _ApiError(422, "hours_worked is invalid",
                                    {"hours_worked": ["is not a number"]}) from None
            if "cancelled_reason" in fields:
                job["cancelled_reason"] = fields["cancelled_reason"]
            if "requestor_notes" in fields:
                job["requestor_notes"] = fields["requestor_notes"]
            if duration is not None:
                job["actual_duration"] = duration
            if hours is not None:
                job["hours_worked"] = hours
            job["updated_at"] = _now()
            if state is not None and state != job["state"]:
                self._transition(job, state)
        return {"job": self._job_json(job)}

    # ----------------------------------------------------------- messages

    def _ep_messages(self, method: str, params: dict) -> Any:
        if method == "GET":
            records = list(self.messages.values())
            for key in ("job_id", "sender_id", "receiver_id"):
                if params.get(key):
                    records = [m for m in records if str(m[key]) == str(params[key])]
            return {"messages": [self._message_json(m) for m in self._page(params, records)]}
        fields = self._fields(params, "message")
        _require(fields, "sender_id", "receiver_id", "job_id", "body")
        ids = {k: _parse_int(fields[k], k, 1) for k in ("sender_id", "receiver_id", "job_id")}
        if ids["job_id"] not in self.jobs:
            raise _ApiError(422, "job is invalid", {"job_id": ["does not exist"]})
        for key in ("sender_id", "receiver_id"):
            if ids[key] not in self.users:
                raise _ApiError(422, f"{key} is invalid", {key: ["does not exist"]})
        mid = next(self._ids)
        self.messages[mid] = {"id": mid, **ids, "body": str(fields["body"]), "created_at": _now()}
        return 201, {"message": self._message_json(self.messages[mid])}

    def _ep_message(self, method: str, params: dict, rid: str) -> dict:
        return {"message": self._message_json(self._get(self.messages, rid, "message"))}

    # ----------------------------------------------------------- multi-day job requests

    def _apply_multi_day(self, rec: dict, fields: dict) -> None:
        if "repeat_type" in fields:
            if fields["repeat_type"] not in ("daily", "weekly"):
                raise _ApiError(422, "repeat_type is invalid",
                                {"repeat_type": ["must be daily or weekly"]})
            rec["repeat_type"] = fields["repeat_type"]
        if "repeat_number" in fields:
            rec["repeat_number"] = _parse_int(fields["repeat_number"], "repeat_number", 1)
        if "same_workers" in fields:
            rec["same_workers"] = _parse_bool(fields["same_workers"])
        if "job_request_id" in fields:
            rec["job_request_id"] = self._job_request_ref(fields["job_request_id"])["id"]

    def _ep_multi_days(self, method: str, params: dict) -> Any:
        """Creates the series; with a nested job_request[...] (gigdesk's reading, the shape is not
        public) one job request per day or week, each at the same wall-clock time in its
        `timezone` (so a series across a DST change moves in UTC)."""
        fields = self._fields(params, "multi_day_job_request")
        _require(fields, "repeat_type", "repeat_number")
        rec: dict = {"same_workers": False, "job_request_id": None}
        self._apply_multi_day(rec, fields)
        template = fields.get("job_request")
        drafts: list[dict] = []
        if isinstance(template, dict):
            if rec["repeat_number"] > 31:
                raise _ApiError(422, "repeat_number is invalid", {"repeat_number": ["must be at most 31"]})
            draft: dict = {}
            _require(template, "start_time", "duration")
            self._apply_jr_fields(draft, template)
            self._check_new_job_request(draft)
            zone = ZoneInfo(str(draft.get("timezone") or "UTC"))
            first = draft["start_time"].astimezone(zone)
            step = timedelta(days=1 if rec["repeat_type"] == "daily" else 7)
            for n in range(rec["repeat_number"]):
                local = datetime.combine(first.date() + step * n, first.time().replace(tzinfo=None), tzinfo=zone)
                drafts.append({**draft, "start_time": local.astimezone(UTC)})
        mid = next(self._ids)
        now = _now()
        rec.update(id=mid, created_at=now, updated_at=now)
        rec["job_request_ids"] = [self.add_job_request(**d, multi_day_job_request_id=mid) for d in drafts]
        if drafts:
            rec["job_request_id"] = rec["job_request_ids"][0]
        self.multi_day[mid] = rec
        return 201, {"multi_day_job_request": self._plain_json(rec)}

    def _ep_multi_day(self, method: str, params: dict, rid: str) -> dict:
        rec = self._get(self.multi_day, rid, "multi-day job request")
        if method == "PATCH":
            staged = dict(rec)
            self._apply_multi_day(staged, self._fields(params, "multi_day_job_request"))
            staged["updated_at"] = _now()
            rec.update(staged)
        return {"multi_day_job_request": self._plain_json(rec)}

    # ----------------------------------------------------------- search

    def _ep_search(self, method: str, params: dict) -> dict:
        term = str(params.get("q") or params.get("query") or params.get("term") or "").lower()

        def hit(*values: Any) -> bool:
            return bool(term) and any(term in str(v or "").lower() for v in values)

        return {
            "job_requests": [self._jr_json(r) for r in self.job_requests.values()
                             if hit(r["request_name"], r["venue"], r["city"])],
            "users": [self._user_json(u) for u in self.users.values()
                      if hit(u["first_name"], u["last_name"], u["email"])],
        }

    # ----------------------------------------------------------- users

    def _apply_user_fields(self, user: dict, fields: dict) -> None:
        for key in ("first_name", "last_name", "phone", "address_state", "external_id"):
            if key in fields:
                user[key] = fields[key]
        if "email" in fields:
            email = str(fields["email"]).strip()
            if "@" not in email:
                raise _ApiError(422, "email is invalid", {"email": ["is invalid"]})
            if any(u["email"].lower() == email.lower() and u["id"] != user.get("id")
                   for u in self.users.values()):
                raise _ApiError(422, "email is taken", {"email": ["has already been taken"]})
            user["email"] = email
        if "type" in fields:
            if fields["type"] not in USER_TYPES:
                raise _ApiError(422, "type is invalid", {"type": ["must be Worker or Employer"]})
            user["type"] = fields["type"]
        if "suspended" in fields:
            user["suspended"] = _parse_bool(fields["suspended"])

    def _ep_users(self, method: str, params: dict) -> Any:
        if method == "GET":
            records = list(self.users.values())
            if params.get("type"):
                records = [u for u in records if u["type"] == params["type"]]
            if params.get("email"):
                email = str(params["email"]).lower()
                records = [u for u in records if u["email"].lower() == email]
            for key in ("first_name", "last_name", "external_id"):
                if params.get(key):
                    records = [u for u in records if str(u.get(key)) == str(params[key])]
            return {"users": [self._user_json(u) for u in self._page(params, records)]}
        fields = self._fields(params, "user")
        _require(fields, "email")
        staged: dict = {"type": "Worker"}
        self._apply_user_fields(staged, fields)
        uid = self.add_user(**staged)
        return 201, {"user": self._user_json(self.users[uid])}

    def _ep_invite(self, method: str, params: dict) -> Any:
        fields = self._fields(params, "user")
        _require(fields, "email")
        staged: dict = {"type": "Worker"}
        self._apply_user_fields(staged, fields)
        uid = self.add_user(**staged, invited=True)
        return 201, {"success": True, "user": self._user_json(self.users[uid])}

    def _ep_user(self, method: str, params: dict, rid: str) -> dict:
        user = self._get(self.users, rid, "user")
        if method in ("PATCH", "PUT"):
            staged = dict(user)
            self._apply_user_fields(staged, self._fields(params, "user"))
            staged["updated_at"] = _now()
            user.update(staged)
        return {"user": self._user_json(user)}

    def _ep_tracking(self, method: str, params: dict, rid: str) -> dict:
        user = self._get(self.users, rid, "user")
        now = _now()
        return {"user_id": user["id"], "tracking": [
            {"latitude": 37.8044, "longitude": -122.2712,
             "recorded_at": _iso(now - timedelta(minutes=m))}
            for m in (30, 15, 0)]}

    def _ep_sync_auth_token(self, method: str, params: dict) -> Any:
        fields = {k: v for k, v in params.items() if k not in ("page", "per")}
        if not fields:
            raise _ApiError(422, "missing parameters", {"external_id": ["is required"]})
        return 200, {"success": True, "auth_token": secrets.token_hex(16)}


def main(argv: list[str] | None = None) -> int:
    """`gigdesk wonolo-sandbox [--port N] [--webhook URL --webhook-secret S]`: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="gigdesk wonolo-sandbox",
                                     description="Run a Wonolo API v2 simulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--public-pool", action="store_true",
                        help="answer 403 to writes, like a Public Pool key")
    parser.add_argument("--webhook", metavar="URL",
                        help="send a signed webhook to URL on every job and job request state change "
                             "(the bot's is http://127.0.0.1:PORT/wonolo/webhook)")
    parser.add_argument("--webhook-secret", metavar="S",
                        help="the secret key the webhooks are signed with, and the one printed as "
                             "WONOLO_SECRET_KEY (default: the simulator's own)")
    args = parser.parse_args(argv)
    if args.webhook and not re.match(r"^https?://[^\s/]+", args.webhook):
        parser.error("--webhook must be an http(s) URL, like http://127.0.0.1:3000/wonolo/webhook")
    if args.webhook_secret is not None and not args.webhook_secret.strip():
        parser.error("--webhook-secret must not be empty")
    sandbox = WonoloSandbox(public_pool=args.public_pool,
                            **({"secret_key": args.webhook_secret} if args.webhook_secret else {}))
    try:
        url = sandbox.start(args.host, args.port)
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 1
    if args.webhook:
        def deliver(resource_type: str, resource_id: int) -> None:
            answer = sandbox.send_webhook(args.webhook, resource_type, resource_id)
            print(f"webhook {resource_type} {resource_id} -> HTTP {answer.status_code}", flush=True)

        sandbox.on_change = deliver
    print(f"Wonolo sandbox running at {url}/api_v2. Settings for .env:")
    print(f"WONOLO_BASE_URL={url}")
    print(f"WONOLO_API_KEY={sandbox.api_key}")
    print(f"WONOLO_SECRET_KEY={sandbox.secret_key}")
    if args.webhook:
        print(f"# signed webhooks go to {args.webhook} on every state change")
    print("Press Ctrl-C to stop.", flush=True)
    done = threading.Event()
    # Explicit handlers: a process started in the background inherits SIGINT ignored.
    previous = {sig: signal.signal(sig, lambda *_: done.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.on_change = None
        sandbox.stop()
        print("Wonolo sandbox stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
