"""Low-balance alert: once per drop below the line, again only after a recovery."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bot.digest.alerts import check_balance, waiting_cost


@pytest.fixture
def gigdesk(make_gigdesk):
    return make_gigdesk()


@pytest.fixture
def services(gigdesk):
    return gigdesk.services


def alerts(slack) -> list:
    return [m for m in slack.messages("C_REVIEW") if "balance is low" in m.text]


def test_one_alert_per_drop_below_the_threshold(services, sandbox, slack):
    sandbox.balance = "25.00"
    assert check_balance(services) is False and alerts(slack) == []

    sandbox.balance = "9.99"
    assert check_balance(services) is True
    [alert] = alerts(slack)
    body = json.dumps(alert.blocks)
    assert "$9.99" in alert.text and "below the alert threshold of $10.00" in body

    sandbox.balance = "4.00"  # still below: no second alert
    assert check_balance(services) is False
    assert len(alerts(slack)) == 1

    sandbox.balance = "50.00"  # recovered
    assert check_balance(services) is False
    sandbox.balance = "8.00"  # and below again
    assert check_balance(services) is True
    assert len(alerts(slack)) == 2


def test_state_survives_a_restart(make_services, sandbox, slack):
    sandbox.balance = "1.00"
    assert check_balance(make_services()) is True
    assert check_balance(make_services()) is False
    assert len(alerts(slack)) == 1


def test_threshold_comes_from_settings_and_a_given_balance_costs_no_request(make_services, sandbox, slack):
    services = make_services(GIGDESK_LOW_BALANCE="100")
    before = sandbox.count()
    assert check_balance(services, Decimal("150")) is False
    assert check_balance(services, Decimal("99.99")) is True
    assert sandbox.count() == before
    assert "below the alert threshold of $100.00" in json.dumps(alerts(slack)[0].blocks)


def test_alert_when_waiting_submissions_would_cost_more_than_the_balance(gigdesk, services, sandbox, slack):
    campaign = sandbox.add_campaign("Expensive review", status="Active", pay="5.00", total=10)
    for _ in range(4):
        sandbox.add_submission(campaign)
    assert gigdesk.features.review.sync().posted == 4
    assert waiting_cost(services.store.db) == (4, Decimal("20.00"))
    sandbox.balance = "15.00"  # above the $10 threshold, below the $20 the waiting work costs
    assert check_balance(services) is True
    body = json.dumps(alerts(slack)[0].blocks)
    assert "not enough to approve the 4 waiting submissions ($20.00)" in body
    assert "below the alert threshold" not in body
    sandbox.balance = "20.00"
    assert check_balance(services) is False  # recovered: enough for all of them


def test_a_failed_alert_is_tried_again(services, sandbox, slack):
    sandbox.balance = "2.00"
    slack.fail_next("chat.postMessage", error="channel_not_found")
    assert check_balance(services) is False
    assert check_balance(services) is True
    assert len(alerts(slack)) == 1


def test_rapidworkers_down_is_not_an_error(services, sandbox, slack):
    sandbox.fail_next(1, status=401)
    assert check_balance(services) is False
    assert alerts(slack) == []


def test_posting_a_digest_checks_the_balance(gigdesk, sandbox, slack):
    sandbox.balance = "3.50"
    gigdesk.features.digest.post(kind="manual")
    assert len(alerts(slack)) == 1
    digest = slack.messages("C_DIGEST")[0]
    assert "below the alert threshold of $10.00" in json.dumps(digest.blocks)
    gigdesk.features.digest.post(kind="manual")
    assert len(alerts(slack)) == 1


def test_throttled_check_fetches_the_balance_at_most_once_per_interval(services, sandbox, slack):
    from bot.digest.alerts import check_balance_throttled

    sandbox.balance = "1.00"
    before = sandbox.count(path_contains="get_balance")
    assert check_balance_throttled(services) is True
    assert check_balance_throttled(services) is False
    assert sandbox.count(path_contains="get_balance") == before + 1
    assert check_balance_throttled(services, every=0) is False  # fetched again, already alerted
    assert sandbox.count(path_contains="get_balance") == before + 2
