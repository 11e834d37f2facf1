"""bot.permissions: who may do what, with GIGDESK_ALLOWED_USERS / GIGDESK_SPENDERS set (no Slack
look-up is needed then; the channel-membership rule runs against the stand-in in
tests/handlers/test_error_funnel.py)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.errors import NotAllowed
from bot.permissions import Permissions
from storage.db import Store
from tests.bot.test_config_unit import read

pytestmark = pytest.mark.unit

def permissions(tmp_path, **env: str) -> Permissions:
    # No Slack here: a look-up would fail at once (nothing listens on port 9).
    settings, problems = read(SLACK_API_URL="http://127.0.0.1:9/api/", **env)
    assert problems == {}
    return Permissions(settings, WebClient(token="xoxb-1-secret", base_url=settings.slack_api_url), Store(str(tmp_path / "p.db")))


def test_reviewers_may_review_route_and_open_the_admin_pages_and_nobody_else(tmp_path):
    p = permissions(tmp_path, GIGDESK_ALLOWED_USERS="U_ALICE", GIGDESK_SPENDERS="U_BOB")
    for may in (p.may_review, p.may_route, p.may_admin):
        assert may("U_ALICE") and not may("U_BOB") and not may("U_EVE") and not may(None) and not may("")


def test_only_spenders_may_spend_and_being_allowed_to_review_is_not_enough(tmp_path):
    p = permissions(tmp_path, GIGDESK_ALLOWED_USERS="U_ALICE,U_BOB", GIGDESK_SPENDERS="U_BOB")
    assert p.may_spend("U_BOB")
    assert not p.may_spend("U_ALICE") and not p.may_spend(None) and not p.may_spend("")


def test_spenders_default_to_the_allowed_users_and_neither_set_means_nobody(tmp_path):
    assert permissions(tmp_path, GIGDESK_ALLOWED_USERS="U_ALICE").may_spend("U_ALICE")
    assert not permissions(tmp_path).may_spend("U_ALICE")


def test_a_refusal_is_audited_and_says_how_to_be_allowed(tmp_path):
    p = permissions(tmp_path, GIGDESK_ALLOWED_USERS="U_ALICE")
    p.require(p.may_admin, "U_ALICE", "audit", None, "read the audit log")  # allowed: nothing raised
    with pytest.raises(NotAllowed) as refused:
        p.require(p.may_admin, "U_EVE", "audit", None, "read the audit log")
    assert str(refused.value) == ("You are not allowed to read the audit log. "
                                  "Ask an admin to add you to GIGDESK_ALLOWED_USERS (your member ID is `U_EVE`).")
    assert [tuple(r) for r in p.store.db.execute("SELECT user_id, action, outcome FROM audit")] == [("U_EVE", "audit", "refused")]
