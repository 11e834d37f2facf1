"""Low-balance alert: one message in the review channel per drop below the line.

The balance is "low" when it is below GIGDESK_LOW_BALANCE or below what
approving every submission now waiting in Slack would cost (the sum of the
stored pay of submissions in state 'posted'). The alert is posted once when
the balance becomes low; it is posted again only after the balance has
recovered (is no longer low) and dropped again. The state lives in the kv
table, so restarts do not repeat it.

Call check_balance(services, balance) after spending with the balance you
already have (e.g. the new_balance of a job creation): it then costs no
RapidWorkers request. After a review sync call check_balance_throttled(services):
it fetches the balance at most every CHECK_EVERY_SECONDS, so an idle sync
cycle keeps costing one request.
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal, InvalidOperation

from bot.digest.blocks import LowBalance, low_balance_alert
from bot.rapidworkers.client import RapidWorkersError
from storage.kv import kv_change, kv_get, kv_set
from storage.submissions import posted_pays

log = logging.getLogger("gigdesk.alerts")

STATE_KEY = "alerts.low_balance"
CHECK_EVERY_SECONDS = 900.0
ALERTED = "alerted"
OK = "ok"


def waiting_cost(db) -> tuple[int, Decimal]:
    """(count, total pay) of posted submissions that wait for a decision."""
    count, total = 0, Decimal("0")
    for pay in posted_pays(db):
        count += 1
        try:
            total += Decimal(str(pay)) if pay is not None else Decimal("0")
        except InvalidOperation:
            continue
    return count, total


def assess(services, balance: Decimal) -> LowBalance:
    """Whether (and why) this balance is low."""
    count, cost = waiting_cost(services.store.db)
    threshold = services.settings.low_balance
    balance = Decimal(balance)
    return LowBalance(
        threshold=threshold,
        waiting_count=count,
        waiting_cost=cost,
        below_threshold=balance < threshold,
        below_waiting=balance < cost,
    )


def _claim(db) -> bool:
    """Move the alert state to 'alerted'; True only for the one caller that does it."""
    return kv_change(db, STATE_KEY, ALERTED)


def check_balance(services, balance: Decimal | None = None) -> bool:
    """Post the low-balance alert if it is due; True if it posted.

    Never raises for an API failure: the check is a side duty of its callers.
    """
    db = services.store.db
    if balance is None:
        try:
            balance = services.rw.background_view().get_balance()
        except RapidWorkersError as e:
            log.warning("low-balance check skipped: %s", e)
            return False
    low = assess(services, balance)
    if not low.low:
        if kv_get(db, STATE_KEY) == ALERTED:
            kv_set(db, STATE_KEY, OK)  # recovered: the next drop alerts again
            log.info("balance recovered to %s", balance)
        return False
    if not _claim(db):
        return False
    text, blocks = low_balance_alert(Decimal(balance), low)
    try:
        services.slack.chat_postMessage(
            channel=services.settings.review_channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
        )
    except Exception as e:  # not posted (or unknown): let the next check try again
        kv_set(db, STATE_KEY, OK)
        error = getattr(getattr(e, "response", None), "get", lambda *_: None)("error") or type(e).__name__
        log.warning("could not post the low-balance alert: %s", error)
        return False
    log.info("low-balance alert posted (balance %s)", balance)
    return True


_last_check: dict[int, float] = {}
_last_lock = threading.Lock()


def check_balance_throttled(services, every: float = CHECK_EVERY_SECONDS) -> bool:
    """check_balance(services), but fetch the balance at most once per `every` seconds per process."""
    now = time.monotonic()
    with _last_lock:
        last = _last_check.get(id(services))
        if last is not None and now - last < every:
            return False
        _last_check[id(services)] = now
    return check_balance(services)
