"""Wonolo API v2 client: one method per endpoint, over bot.wonolo.transport.

The errors (bot.wonolo.errors) and resources (bot.wonolo.resources) are
re-exported here: callers import everything Wonolo from this one module.
"""

from __future__ import annotations

from typing import Any

from bot.apiclient.coerce import to_bool
from bot.wonolo.errors import (
    FORBIDDEN_MESSAGE,
    WonoloError,
    WonoloForbidden,
    WonoloInvalid,
    WonoloNetworkError,
    WonoloNotFound,
    WonoloServerError,
    WonoloUnauthorized,
)
from bot.wonolo.resources import (
    JOB_REQUEST_STATES,
    JOB_STATES,
    USER_TYPES,
    Badge,
    Job,
    JobRequest,
    Message,
    User,
    estimated_cost,
    open_slots,
)
from bot.wonolo.transport import (
    API_PREFIX,
    LIVE_BASE_URL,
    MAX_PAGES,
    MAX_PER_PAGE,
    TEST_BASE_URL,
    WonoloTransport,
    check_id,
    check_state,
    default_base_url,
    flat_form,
    nested_form,
    require_fields,
    unwrap_list,
    unwrap_obj,
)

__all__ = [
    "API_PREFIX", "FORBIDDEN_MESSAGE", "JOB_REQUEST_STATES", "JOB_STATES", "LIVE_BASE_URL", "MAX_PAGES",
    "MAX_PER_PAGE", "TEST_BASE_URL", "USER_TYPES", "Badge", "Job", "JobRequest", "Message", "User",
    "WonoloClient", "WonoloError", "WonoloForbidden", "WonoloInvalid", "WonoloNetworkError", "WonoloNotFound",
    "WonoloServerError", "WonoloUnauthorized", "default_base_url", "estimated_cost", "open_slots",
]


class WonoloClient(WonoloTransport):
    """Thread-safe Wonolo API v2 client."""

    # ----------------------------------------------------------- info

    def info(self) -> dict:
        """GET /info (no token needed)."""
        resp = self._send("GET", "/info")
        data = self._handle(resp, "GET", "/info")
        return data if isinstance(data, dict) else {"info": data}

    # ----------------------------------------------------------- badges

    def list_badges(self, **filters: Any) -> list[Badge]:
        """All badges visible to this key."""
        return [Badge.from_dict(d) for d in self._list("/badges", "badges", filters)]

    def get_badge(self, id: int | str) -> Badge:
        """One badge."""
        bid = check_id(id, "badge")
        return Badge.from_dict(unwrap_obj(self._get(f"/badges/{bid}"), "badge"))

    def create_badge(self, name: str, description: str, info_url: str | None = None,
                     remote_icon_url: str | None = None, is_soft: bool | None = None) -> Badge:
        """Create a badge; name and description are required."""
        require_fields("A badge", name=name, description=description)
        form = nested_form("badge", {"name": name, "description": description, "info_url": info_url,
                                 "remote_icon_url": remote_icon_url, "is_soft": is_soft})
        return Badge.from_dict(unwrap_obj(self._write("POST", "/badges", form), "badge"))

    def update_badge(self, id: int | str, **fields: Any) -> Badge:
        """PATCH a badge."""
        bid = check_id(id, "badge")
        form = nested_form("badge", self._fields(fields, "badge"))
        return Badge.from_dict(unwrap_obj(self._write("PATCH", f"/badges/{bid}", form), "badge"))

    def delete_badge(self, id: int | str) -> None:
        """DELETE a badge."""
        bid = check_id(id, "badge")
        self._call("DELETE", f"/badges/{bid}")

    # ----------------------------------------------------------- customers

    def list_customers(self, **filters: Any) -> list[dict]:
        """Customers of the company (no public field list, so plain dicts)."""
        return self._list("/customers", "customers", filters)

    def get_customer(self, id: int | str) -> dict:
        """One customer."""
        cid = check_id(id, "customer")
        return unwrap_obj(self._get(f"/customers/{cid}"), "customer")

    def create_customer(self, **fields: Any) -> dict:
        """Create a customer."""
        form = nested_form("customer", self._fields(fields, "customer"))
        return unwrap_obj(self._write("POST", "/customers", form), "customer")

    def update_customer(self, id: int | str, **fields: Any) -> dict:
        """PATCH a customer."""
        cid = check_id(id, "customer")
        form = nested_form("customer", self._fields(fields, "customer"))
        return unwrap_obj(self._write("PATCH", f"/customers/{cid}", form), "customer")

    def customer_exists(self, name: str) -> bool:
        """Whether a customer with this name exists (answer shape not public)."""
        require_fields("A customer lookup", name=name)
        try:
            data = self._get("/customers/exists", {"name": name})
        except WonoloNotFound:
            return False
        if isinstance(data, bool):
            return data
        if isinstance(data, dict):
            for key in ("exists", "exist", "result", "success"):
                if key in data:
                    return bool(to_bool(data[key]))
            return bool(data.get("customer") or data.get("id"))
        return bool(data)

    # ----------------------------------------------------------- job requests

    def list_job_requests(self, state: str | None = None, **filters: Any) -> list[JobRequest]:
        """Job requests, optionally in one state; filters like updated_after pass through."""
        state = check_state(state, JOB_REQUEST_STATES, "job request")
        items = self._list("/job_requests", "job_requests", {"state": state, **filters})
        return [JobRequest.from_dict(d) for d in items]

    def create_job_request(self, **fields: Any) -> JobRequest:
        """Create a job request (fields nested as job_request[...])."""
        form = nested_form("job_request", self._fields(fields, "job request"))
        return JobRequest.from_dict(
            unwrap_obj(self._write("POST", "/job_requests", form), "job_request"))

    def update_job_request(self, id: int | str, **fields: Any) -> JobRequest:
        """PATCH a job request."""
        jid = check_id(id, "job request")
        form = nested_form("job_request", self._fields(fields, "job request"))
        return JobRequest.from_dict(
            unwrap_obj(self._write("PATCH", f"/job_requests/{jid}", form), "job_request"))

    def get_job_request(self, id: int | str) -> JobRequest:
        """One job request."""
        jid = check_id(id, "job request")
        return JobRequest.from_dict(unwrap_obj(self._get(f"/job_requests/{jid}"), "job_request"))

    def job_request_rankings(self, id: int | str) -> list[dict]:
        """Wonoloers ranked for a job request."""
        jid = check_id(id, "job request")
        data = self._get(f"/job_requests/{jid}/rankings")
        return unwrap_list(data, "rankings")

    def resend_notifications(self, id: int | str) -> dict:
        """Ask Wonolo to notify workers about this job request again."""
        jid = check_id(id, "job request")
        data = self._write("POST", f"/job_requests/{jid}/resend_notifications", [])
        return data if isinstance(data, dict) else {"result": data}

    def re_rank_workers(self, id: int | str) -> dict:
        """Ask Wonolo to re-rank workers for this job request."""
        jid = check_id(id, "job request")
        data = self._write("POST", f"/job_requests/{jid}/re_rank_workers", [])
        return data if isinstance(data, dict) else {"result": data}

    # ----------------------------------------------------------- jobs

    def list_jobs(self, state: str | None = None, job_request_id: int | str | None = None,
                  **filters: Any) -> list[Job]:
        """Jobs, optionally by state and/or job request."""
        state = check_state(state, JOB_STATES, "job")
        if job_request_id is not None:
            job_request_id = check_id(job_request_id, "job request")
        items = self._list("/jobs", "jobs",
                           {"state": state, "job_request_id": job_request_id, **filters})
        return [Job.from_dict(d) for d in items]

    def create_job(self, **fields: Any) -> Job:
        """Create a job (fields nested as job[...])."""
        form = nested_form("job", self._fields(fields, "job"))
        return Job.from_dict(unwrap_obj(self._write("POST", "/jobs", form), "job"))

    def assign_job(self, worker_id: int | str, job_request_id: int | str,
                   requestor_notes: str | None = None) -> Job:
        """Assign a Wonoloer to a job request (POST /jobs/assign)."""
        wid = check_id(worker_id, "worker")
        jrid = check_id(job_request_id, "job request")
        form = nested_form("job", {"worker_id": wid, "job_request_id": jrid,
                               "requestor_notes": requestor_notes})
        return Job.from_dict(unwrap_obj(self._write("POST", "/jobs/assign", form), "job"))

    def update_job(self, id: int | str, **fields: Any) -> Job:
        """PATCH a job (state, cancelled_reason, actual_duration, ...)."""
        jid = check_id(id, "job")
        if "state" in fields:
            fields["state"] = check_state(fields["state"], JOB_STATES, "job")
        form = nested_form("job", self._fields(fields, "job"))
        return Job.from_dict(unwrap_obj(self._write("PATCH", f"/jobs/{jid}", form), "job"))

    def cancel_job(self, id: int | str, reason: str) -> Job:
        """Cancel a job; Wonolo wants a cancelled_reason (e.g. decided_to_cancel)."""
        require_fields("Cancelling a job", reason=reason)
        return self.update_job(id, state="cancelled", cancelled_reason=reason.strip())

    def set_actual_duration(self, id: int | str, minutes: int) -> Job:
        """Record how long the job really took, in minutes."""
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise WonoloInvalid(
                "The actual duration must be a whole, non-negative number of minutes.",
                status=None)
        return self.update_job(id, actual_duration=minutes)

    def get_job(self, id: int | str) -> Job:
        """One job."""
        jid = check_id(id, "job")
        return Job.from_dict(unwrap_obj(self._get(f"/jobs/{jid}"), "job"))

    # ----------------------------------------------------------- messages

    def list_messages(self, **filters: Any) -> list[Message]:
        """In-app messages (filters such as job_id pass through)."""
        return [Message.from_dict(d) for d in self._list("/messages", "messages", filters)]

    def create_message(self, sender_id: int | str, receiver_id: int | str, job_id: int | str,
                       body: str) -> Message:
        """Send an in-app message about a job."""
        require_fields("A message", sender_id=sender_id, receiver_id=receiver_id, job_id=job_id,
                 body=body)
        form = nested_form("message", {"sender_id": sender_id, "receiver_id": receiver_id,
                                   "job_id": job_id, "body": body})
        return Message.from_dict(unwrap_obj(self._write("POST", "/messages", form), "message"))

    def get_message(self, id: int | str) -> Message:
        """One message."""
        mid = check_id(id, "message")
        return Message.from_dict(unwrap_obj(self._get(f"/messages/{mid}"), "message"))

    # ----------------------------------------------------------- multi-day job requests

    def create_multi_day_job_request(self, **fields: Any) -> dict:
        """Create a multi-day job request (same_workers, repeat_type, repeat_number, ...)."""
        form = nested_form("multi_day_job_request", self._fields(fields, "multi-day job request"))
        return unwrap_obj(self._write("POST", "/multi_day_job_requests", form),
                           "multi_day_job_request")

    def update_multi_day_job_request(self, id: int | str, **fields: Any) -> dict:
        """PATCH a multi-day job request."""
        mid = check_id(id, "multi-day job request")
        form = nested_form("multi_day_job_request", self._fields(fields, "multi-day job request"))
        return unwrap_obj(self._write("PATCH", f"/multi_day_job_requests/{mid}", form),
                           "multi_day_job_request")

    def get_multi_day_job_request(self, id: int | str) -> dict:
        """One multi-day job request."""
        mid = check_id(id, "multi-day job request")
        return unwrap_obj(self._get(f"/multi_day_job_requests/{mid}"), "multi_day_job_request")

    # ----------------------------------------------------------- search

    def search(self, **params: Any) -> dict:
        """GET /search (parameters are not public; passed through as given)."""
        data = self._get("/search", params)
        return data if isinstance(data, dict) else {"results": data}

    # ----------------------------------------------------------- users

    def list_users(self, type: str | None = None, email: str | None = None,
                   **filters: Any) -> list[User]:
        """Users, optionally by type (Worker/Employer), email, names, external_id."""
        if type is not None:
            matches = [t for t in USER_TYPES if t.lower() == str(type).strip().lower()]
            if not matches:
                raise WonoloInvalid("User type must be Worker or Employer.", status=None)
            type = matches[0]
        items = self._list("/users", "users", {"type": type, "email": email, **filters})
        return [User.from_dict(d) for d in items]

    def create_user(self, **fields: Any) -> User:
        """Create a user (fields nested as user[...])."""
        form = nested_form("user", self._fields(fields, "user"))
        return User.from_dict(unwrap_obj(self._write("POST", "/users", form), "user"))

    def invite_user(self, **fields: Any) -> dict:
        """Invite a worker into Wonolo."""
        form = nested_form("user", self._fields(fields, "invitation"))
        data = self._write("POST", "/users/invite", form)
        return data if isinstance(data, dict) else {"result": data}

    def update_user(self, id: int | str, **fields: Any) -> User:
        """PATCH a user."""
        uid = check_id(id, "user")
        form = nested_form("user", self._fields(fields, "user"))
        return User.from_dict(unwrap_obj(self._write("PATCH", f"/users/{uid}", form), "user"))

    def get_user(self, id: int | str) -> User:
        """One user."""
        uid = check_id(id, "user")
        return User.from_dict(unwrap_obj(self._get(f"/users/{uid}"), "user"))

    def user_tracking(self, id: int | str) -> dict:
        """Tracking data for a user."""
        uid = check_id(id, "user")
        data = self._get(f"/users/{uid}/tracking")
        return data if isinstance(data, dict) else {"tracking": data}

    def sync_auth_token(self, **fields: Any) -> dict:
        """POST /sync_auth_token for an external user (fields sent flat: not documented)."""
        data = self._write("POST", "/sync_auth_token", flat_form(self._fields(fields, "token sync")))
        return data if isinstance(data, dict) else {"result": data}
