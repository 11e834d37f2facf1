"""How /rw answers: a Reply from a builder's (text, blocks), a short problem, and RapidWorkers
errors in plain words (with whether a failed money call certainly did not take effect)."""

from __future__ import annotations

from bot.rapidworkers.client import (
    BadRequest,
    BudgetExhausted,
    Forbidden,
    InvalidInput,
    NetworkError,
    NotFound,
    RapidWorkersError,
    RateLimited,
    ServerError,
    Unauthorized,
)
from bot.rw import blocks as ui
from bot.slack.mrkdwn import escape, truncate
from bot.slack.replies import Reply


def reply(pair: tuple[str, list[dict]], *, replace: bool = False) -> Reply:
    text, blocks = pair
    return Reply(text, blocks, replace)


def problem(message: str, usage: str | None = None) -> Reply:
    """A short explanation of what is wrong (mrkdwn), plus the usage line."""
    text = f":warning: {message}"
    if usage:
        text += f"\nUsage: {ui.usage_line(usage)}"
    return reply(ui.text_message(truncate(text, 2900)))


def _detail(e: RapidWorkersError) -> str:
    return escape(e.error or "") if getattr(e, "error", None) else ""


def _low_balance(e: RapidWorkersError) -> bool:
    low = (e.error or str(e)).lower()
    return "insufficient" in low or "balance" in low or "funds" in low


def _refused(e: RapidWorkersError, *, creating: bool) -> str | None:
    """A refusal (400, 403, 404) in plain words; None for other errors."""
    detail = _detail(e)
    if isinstance(e, BadRequest):
        if _low_balance(e):
            return "RapidWorkers says the balance is too low for this. Top up your RapidWorkers account, then try again."
        return f"RapidWorkers refused the request as invalid: {detail or 'no reason given'}."
    if isinstance(e, Forbidden):
        if creating:
            return ("RapidWorkers rejected this job in its legitimacy check"
                    + (f" ({detail})" if detail else "") + ". Reword the job or contact RapidWorkers support.")
        return "RapidWorkers says your account may not do this" + (f" ({detail})" if detail else "") + "."
    if isinstance(e, NotFound):
        return "RapidWorkers could not find that" + (f" ({detail})" if detail else "") + "."
    return None


def explain(e: RapidWorkersError, *, creating: bool = False) -> str:
    """An API error in plain words (mrkdwn, escaped)."""
    if isinstance(e, (InvalidInput, BudgetExhausted, NetworkError)):
        return escape(str(e))
    refused = _refused(e, creating=creating)
    if refused is not None:
        return refused
    if isinstance(e, Unauthorized):
        return "RapidWorkers did not accept the bot's API key. Ask whoever runs gigdesk to check RAPIDWORKERS_API_KEY."
    if isinstance(e, RateLimited):
        wait = f"{int(e.retry_after)} s" if e.retry_after else "a minute"
        return f"RapidWorkers is limiting how fast we call it (too many requests). Wait {wait} and try again."
    if isinstance(e, ServerError):
        return "RapidWorkers had a server error."
    return escape(str(e)) or "RapidWorkers answered unexpectedly."


def certainly_not_applied(e: RapidWorkersError) -> bool:
    """True when a money call surely did not take effect (so Confirm may be clicked again)."""
    if isinstance(e, NetworkError):
        return not e.may_have_reached_server
    return isinstance(e, (InvalidInput, BudgetExhausted, BadRequest, Unauthorized, Forbidden, NotFound, RateLimited))


def stops_a_bulk_run(e: RapidWorkersError) -> bool:
    """A certain refusal that the next submission would meet too (budget, rate, key, account, funds)."""
    return isinstance(e, (BudgetExhausted, RateLimited, Unauthorized, Forbidden)) or _funds(e)


def _funds(e: RapidWorkersError) -> bool:
    low = (e.error or str(e)).lower()
    return "insufficient" in low or "funds" in low
