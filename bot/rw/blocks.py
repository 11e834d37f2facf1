"""Block Kit for /rw: usage, balance, campaigns, spend confirmations, the two modals.

Pure builders (slack_sdk.models, so Block Kit limits are checked when the
dicts are made). Every text that came from RapidWorkers or from a user is
escaped with bot.slack.mrkdwn.escape before it goes into mrkdwn.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextObject,
    SectionBlock,
)

from bot.rw.finder import campaign_value
from bot.slack import ids
from bot.slack.mrkdwn import escape, money, plain, progress_bar, truncate

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_PAGE_ROWS = 20  # campaign rows on one list page: two blocks each, within Slack's 50

# --- block and action ids of the /rw modals (not in bot/slack/ids.py yet) ---------------
JOB_KIND_BLOCK = "rw-job-kind"
JOB_LINK_BLOCK = "rw-job-link"
JOB_QUANTITY_BLOCK = "rw-job-quantity"
COUNTRIES_BLOCK = "rw-countries"
MORE_COUNTRIES_BLOCK = "rw-more-countries"
LANGUAGE_BLOCK = "rw-language"
NEW_TITLE_BLOCK = "rw-new-title"
NEW_DESCRIPTION_BLOCK = "rw-new-description"
NEW_PAY_BLOCK = "rw-new-pay"
NEW_AVAILABILITIES_BLOCK = "rw-new-availabilities"
NEW_PROOF_BLOCK = "rw-new-proof"
NEW_CATEGORY_BLOCK = "rw-new-category"
NEW_SUB_CATEGORY_BLOCK = "rw-new-sub-category"
NEW_APPROVE_FULL_BLOCK = "rw-new-approve-full"
NEW_IMAGE_BLOCK = "rw-new-image"
CAMPAIGN_PICK_BLOCK = "rw-campaign-pick"  # the campaign type-ahead of the approve-all and campaign forms
INPUT = "value"  # the action_id of every modal input (block ids tell them apart)

USAGE: dict[str, str] = {
    "help": "/rw help",
    "balance": "/rw balance",
    "campaigns": "/rw campaigns [active|pending|completed|canceled] [newest]",
    "campaign": "/rw campaign [campaign_id or title start]",
    "job": "/rw job <kind> <link> <quantity> [CC,CC…] [language]",
    "new": "/rw new",
    "approve-all": "/rw approve-all [campaign_id or title start]",
    "blocked": "/rw blocked",
    "block": "/rw block <worker_id>",
    "unblock": "/rw unblock <worker_id>",
    "digest": "/rw digest",
    "worker": "/rw worker <worker_id>",
    "route": "/rw route <campaign id or title start> <#channel|off>",
    "routes": "/rw routes",
    "spend": "/rw spend [this-week|last-week|this-month|last-month|YYYY-MM] [campaign title start]",
    "audit": "/rw audit [@user|worker <id>|campaign <title start>] [since YYYY-MM-DD]",
}

HELP_LINES: tuple[tuple[str, str], ...] = (
    ("balance", "your RapidWorkers balance"),
    ("campaigns", "your campaigns, most pending first (`newest` for newest first), with Details buttons"),
    ("campaign", "one campaign, with Approve all / Post pending buttons; the start of its title is enough, alone a form"),
    ("job", "a prefilled social job ($0.05 each, at least 6); `/rw job` alone opens a form"),
    ("new", "a custom campaign (form with every field, image included)"),
    ("approve-all", "approve every pending submission of a campaign; alone, it opens a form to pick one"),
    ("blocked", "workers you have blocked"),
    ("block", "block a worker from all your campaigns"),
    ("unblock", "unblock a worker"),
    ("digest", "post the daily digest now"),
    ("worker", "a worker's submissions, proof flags and block across your campaigns"),
    ("route", "send a campaign's submissions to its own channel (`off`: back to the review channel)"),
    ("routes", "which campaigns go to which channel"),
    ("spend", "what was spent, by campaign (this month unless you say); a chart and a CSV in your direct messages"),
    ("audit", "who did what and when, newest first, 20 a page; a CSV on request"),
)

# A reasonable list for the countries multi-select (Slack allows 100 options);
# any other ISO code can be typed in the text field below it.
COMMON_COUNTRIES: tuple[tuple[str, str], ...] = (
    ("US", "United States"), ("GB", "United Kingdom"), ("CA", "Canada"), ("AU", "Australia"),
    ("NZ", "New Zealand"), ("IE", "Ireland"), ("DE", "Germany"), ("FR", "France"), ("ES", "Spain"),
    ("IT", "Italy"), ("NL", "Netherlands"), ("BE", "Belgium"), ("PT", "Portugal"), ("AT", "Austria"),
    ("CH", "Switzerland"), ("SE", "Sweden"), ("NO", "Norway"), ("DK", "Denmark"), ("FI", "Finland"),
    ("PL", "Poland"), ("CZ", "Czechia"), ("RO", "Romania"), ("HU", "Hungary"), ("GR", "Greece"),
    ("UA", "Ukraine"), ("TR", "Türkiye"), ("IL", "Israel"), ("AE", "United Arab Emirates"),
    ("SA", "Saudi Arabia"), ("EG", "Egypt"), ("MA", "Morocco"), ("NG", "Nigeria"), ("KE", "Kenya"),
    ("ZA", "South Africa"), ("IN", "India"), ("PK", "Pakistan"), ("BD", "Bangladesh"), ("LK", "Sri Lanka"),
    ("NP", "Nepal"), ("PH", "Philippines"), ("ID", "Indonesia"), ("MY", "Malaysia"), ("SG", "Singapore"),
    ("TH", "Thailand"), ("VN", "Vietnam"), ("JP", "Japan"), ("KR", "South Korea"), ("HK", "Hong Kong"),
    ("TW", "Taiwan"), ("BR", "Brazil"), ("MX", "Mexico"), ("AR", "Argentina"), ("CO", "Colombia"),
    ("CL", "Chile"), ("PE", "Peru"), ("VE", "Venezuela"),
)

JOB_KINDS_HELP = (
    "facebook-likes facebook-shares instagram-likes instagram-followers twitter-likes "
    "twitter-followers twitter-retweets trustpilot-reviews 9gag-upvotes youtube-likes"
)


def section(text: str, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text or " ", SECTION_LIMIT)), block_id=block_id)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, FIELD_LIMIT))])


def _dicts(blocks: Iterable[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]


def usage_line(name: str) -> str:
    """`/rw job &lt;kind&gt; …` — a usage line safe for mrkdwn."""
    return f"`{escape(USAGE.get(name, USAGE['help']))}`"


# --- simple replies -------------------------------------------------------------------


def text_message(text: str, *, context: str | None = None) -> tuple[str, list[dict]]:
    """One mrkdwn section (and an optional grey line)."""
    blocks: list[Block] = [section(text)]
    if context:
        blocks.append(_context(context))
    return truncate(text, 3000), _dicts(blocks)


def help_message(problem: str | None = None) -> tuple[str, list[dict]]:
    """Usage of every subcommand; `problem` (mrkdwn, already escaped) goes first."""
    lines = [f"{usage_line(name)} — {what}" for name, what in HELP_LINES]
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {problem}"))
    blocks.append(section("*gigdesk — RapidWorkers from Slack*\n" + "\n".join(lines)))
    blocks.append(_context(f"Job kinds: {JOB_KINDS_HELP}. Anything that spends money asks you to confirm first."))
    text = (f"{problem}\n" if problem else "") + "Usage: /rw help | balance | campaigns | campaign | job | new | approve-all | blocked | block | unblock | digest | worker | spend | audit"
    return truncate(text, 3000), _dicts(blocks)


def balance_message(balance: Decimal, low: Decimal | None = None) -> tuple[str, list[dict]]:
    text = f"RapidWorkers balance: {money(balance)}"
    blocks: list[Block] = [section(f":moneybag: *RapidWorkers balance:* {money(balance)}")]
    if low is not None and balance < low:
        blocks.append(_context(f":warning: Below the low-balance mark of {money(low)}. Top up before creating jobs."))
    return text, _dicts(blocks)


# --- campaigns ------------------------------------------------------------------------------


def _campaign_row(c) -> str:
    title = truncate(escape(c.title or "Untitled campaign"), 150)
    bar = progress_bar(c.completed, c.total)
    return (
        f"*{title}* · {escape(c.status or '?')}\n"
        f"`{bar}` {c.completed}/{c.total} · :hourglass: {c.pending} pending · :white_check_mark: {c.approved}"
        f" · :x: {c.rejected} · pay {money(c.pay)}\n"
        f"`{escape(c.id)}`"
    )


def _row_actions(c, n: int) -> ActionsBlock:
    """Details, and an overflow with the campaign's two other actions (their values carry only the id)."""
    return ActionsBlock(block_id=f"rw-campaign-row-{n}", elements=[
        ButtonElement(text="Details", action_id=ids.CAMPAIGN_DETAILS, value=campaign_value(c.id)),
        OverflowMenuElement(action_id=ids.CAMPAIGN_ROW_MENU, options=[
            Option(value=f"{ROW_APPROVE_ALL}|{campaign_value(c.id)}", text="Approve all…"),
            Option(value=f"{ROW_POST_PENDING}|{campaign_value(c.id)}", text="Post pending for review"),
        ]),
    ])


ROW_APPROVE_ALL = "approve-all"  # overflow option values: "<what>|<campaign id>"
ROW_POST_PENDING = "post-pending"
SORT_LABEL = {"most-pending": "most pending first", "newest": "newest first"}


def campaigns_message(campaigns: list, status: str | None = None, *, page: int = 1, pages: int = 1,
                      sort: str = "most-pending", values: dict[str, str] | None = None) -> tuple[str, list[dict]]:
    """One page of the campaign list: a row per campaign (Details, overflow), then Previous / Next.

    `campaigns`: this page's rows, already ordered; `values`: the pager buttons' values
    by action id ("previous", "next", "sort").
    """
    label = f"{status.lower()} campaigns" if status else "campaigns"
    if not campaigns:
        return text_message(f"No {label} on RapidWorkers.")
    values = values or {}
    header = f"{label[:1].upper()}{label[1:]}, {SORT_LABEL.get(sort, sort)}" + (f" (page {page} of {pages})" if pages > 1 else "")
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=plain(header, 150), emoji=False))]
    for n, c in enumerate(campaigns[:MAX_PAGE_ROWS]):
        blocks += [section(_campaign_row(c)), _row_actions(c, n)]
    pager = []
    if "previous" in values:
        pager.append(ButtonElement(text="Previous", action_id=ids.CAMPAIGNS_PAGE_PREVIOUS, value=values["previous"]))
    if "next" in values:
        pager.append(ButtonElement(text="Next", action_id=ids.CAMPAIGNS_PAGE_NEXT, value=values["next"]))
    if "sort" in values:
        other = "newest" if sort == "most-pending" else "most-pending"
        pager.append(ButtonElement(text=f"Sort {SORT_LABEL[other]}", action_id=ids.CAMPAIGNS_SORT, value=values["sort"]))
    if pager:
        blocks.append(ActionsBlock(block_id="rw-campaigns-pager", elements=pager))
    blocks.append(_context(f"Details and buttons: {usage_line('campaign')}"))
    text = f"{header}: " + ", ".join(escape(c.title) for c in campaigns[:10])
    return truncate(text, 3000), _dicts(blocks)


def candidates_message(query: str, candidates: list, *, limit: int = 10) -> tuple[str, list[dict]]:
    """Several campaigns start with what was typed: list them (escaped) with Details buttons; nothing else happens."""
    typed = truncate(escape(" ".join(query.split())), 60)
    head = (f":mag: {len(candidates)} campaigns start with `{typed}`. Nothing was done: "
            "type more of the title, or pick one below.")
    blocks: list[Block] = [section(head)]
    for c in candidates[:limit]:
        row = f"*{truncate(escape(c.title or 'Untitled campaign'), 150)}* · {escape(c.status or '?')} · {c.pending} pending\n`{escape(c.id)}`"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(row, SECTION_LIMIT)),
                                   accessory=ButtonElement(text="Details", action_id=ids.CAMPAIGN_DETAILS, value=campaign_value(c.id))))
    if len(candidates) > limit:
        blocks.append(_context(f"{len(candidates) - limit} more not shown."))
    text = f"{len(candidates)} campaigns start with {typed}: " + ", ".join(escape(c.title) for c in candidates[:limit])
    return truncate(text, 3000), _dicts(blocks)


def campaign_options(campaigns: list) -> list[dict]:
    """Options of the campaign type-ahead: "title · N pending" (plain text, cut to Slack's 75), the campaign's value."""
    options = []
    for c in campaigns:
        suffix = f" · {c.pending} pending"
        options.append(Option(value=campaign_value(c.id), text=plain(c.title or "Untitled campaign", 75 - len(suffix)) + suffix).to_dict())
    return options


def type_ahead_notice(text: str) -> list[dict]:
    """A type-ahead answer that is a note, not a campaign (its value names none, so picking it is refused)."""
    return [Option(value=NOT_A_CAMPAIGN, text=plain(text, 75)).to_dict()]


NOT_A_CAMPAIGN = "~"  # neither an id nor a key


def campaign_message(c) -> tuple[str, list[dict]]:
    """Details, counts, remaining slots, and the Approve all / Post pending buttons."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=plain(c.title or "Untitled campaign", 150), emoji=False))]
    fields = [
        f"*Status*\n{escape(c.status or '?')}",
        f"*Category*\n{truncate(escape(c.category or '-'), 200)}",
        f"*Pay*\n{money(c.pay)}",
        f"*Progress*\n`{progress_bar(c.completed, c.total)}` {c.completed}/{c.total}",
        f"*Remaining slots*\n{c.remaining}",
        f"*Success rate*\n{truncate(escape(c.success_rate or '-'), 50)}",
        f"*Pending*\n{c.pending}",
        f"*Approved / rejected*\n{c.approved} / {c.rejected}",
    ]
    blocks.append(SectionBlock(fields=[MarkdownTextObject(text=truncate(f, FIELD_LIMIT)) for f in fields]))
    if c.description:
        blocks.append(section("*Description*\n" + truncate(escape(c.description), 1500)))
    blocks.append(_context(f"Campaign `{escape(c.id)}`"))
    buttons = []
    if c.pending > 0:
        buttons.append(ButtonElement(text="Approve all pending", action_id=ids.CAMPAIGN_APPROVE_ALL, value=campaign_value(c.id),
                                     style="primary"))
    buttons.append(ButtonElement(text="Post pending for review", action_id=ids.CAMPAIGN_POST_PENDING, value=campaign_value(c.id)))
    blocks.append(ActionsBlock(block_id="rw-campaign-actions", elements=buttons))
    text = f"{escape(c.title)}: {escape(c.status)}, {c.completed}/{c.total} done, {c.pending} pending"
    return truncate(text, 3000), _dicts(blocks)


def blocked_message(workers: list, blocked_by: dict[str, str | None]) -> tuple[str, list[dict]]:
    if not workers:
        return text_message("No blocked workers.")
    lines = []
    for w in workers[:200]:
        line = f"• *{truncate(escape(w.worker_name or 'unknown'), 100)}* `{truncate(escape(w.worker_id), 60)}`"
        if w.blocked_at:
            line += f" · since {w.blocked_at:%Y-%m-%d}"
        who = blocked_by.get(str(w.worker_id))
        if who:
            line += f" · by <@{who}>"
        lines.append(line)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=f"{len(workers)} blocked workers", emoji=False))]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    blocks = blocks[:48]
    if len(workers) > 200:
        blocks.append(_context(f"{len(workers) - 200} more not shown."))
    blocks.append(_context("Unblock with `/rw unblock &lt;worker_id&gt;`"))
    return f"{len(workers)} blocked workers", _dicts(blocks)


# --- spending -------------------------------------------------------------------------------


def _cost_fields(cost: Decimal, balance: Decimal, estimate: bool, cost_note: str | None) -> SectionBlock:
    label = "Estimated cost" if estimate else "Cost"
    after = balance - cost
    fields = [
        f"*{label}*\n{money(cost)}" + (f"\n{cost_note}" if cost_note else ""),
        f"*Balance now*\n{money(balance)}",
        f"*Balance after{' (est.)' if estimate else ''}*\n{money(after)}",
    ]
    return SectionBlock(fields=[MarkdownTextObject(text=truncate(f, FIELD_LIMIT)) for f in fields])


def spend_offer(
    *, what: str, cost: Decimal, balance: Decimal, estimate: bool, confirmation_id: str,
    cost_note: str | None = None, minutes: int = 10, terms: list[str] | None = None,
    confirmable: bool = True, include_flagged: int = 0,
) -> tuple[str, list[dict]]:
    """What will happen, the cost, the balance before and after, the spending rules, Confirm / Cancel.

    `include_flagged`: approve-all left out that many flagged submissions; a separate
    button makes a new offer that includes them (with its own Confirm).
    """
    buttons = []
    if confirmable:
        buttons.append(ButtonElement(text="Confirm", action_id=ids.SPEND_CONFIRM, value=confirmation_id, style="primary"))
    if include_flagged:
        buttons.append(ButtonElement(text=f"Include the {include_flagged} flagged…", action_id=ids.SPEND_INCLUDE_FLAGGED,
                                     value=confirmation_id))
    buttons.append(ButtonElement(text="Cancel", action_id=ids.SPEND_CANCEL, value=confirmation_id))
    note = (f"Nothing is spent until you click Confirm. Only you can confirm; this offer expires in {minutes} minutes."
            if confirmable else "Nothing is approved unless you include the flagged submissions explicitly." if include_flagged
            else "Nothing to approve now, and nothing is spent.")
    blocks: list[Block] = [
        section(f":money_with_wings: {what}"),
        _cost_fields(cost, balance, estimate, cost_note),
        *[_context(line) for line in terms or []],
        _context(note),
        ActionsBlock(block_id="rw-spend", elements=buttons),
    ]
    label = "estimated cost" if estimate else "cost"
    text = f"{what} — {label} {money(cost)}, balance {money(balance)} → {money(balance - cost)}. Confirm?"
    return truncate(text, 3000), _dicts(blocks)


def spend_refused(*, what: str, cost: Decimal, balance: Decimal, estimate: bool, reason: str,
                  cost_note: str | None = None, terms: list[str] | None = None) -> tuple[str, list[dict]]:
    """The facts of an offer that a spending rule (the daily limit) refuses: no Confirm button."""
    blocks: list[Block] = [
        section(f":no_entry: {reason}"),
        section(f":money_with_wings: {what}"),
        _cost_fields(cost, balance, estimate, cost_note),
        *[_context(line) for line in terms or []],
    ]
    return truncate(f"{reason} {what}", 3000), _dicts(blocks)


def second_approval_request(*, requester: str, what: str, cost: Decimal, threshold: Decimal | None,
                            confirmation_id: str, hours: int) -> tuple[str, list[dict]]:
    """Posted in the review channel: who asked, what and for how much; a second spender's Confirm runs it."""
    blocks: list[Block] = [
        section(f":raised_hand: <@{requester}> asks to spend *{money(cost)}*:\n{what}"),
        _context(f"Spends that take a person's day above {money(threshold)} need a second spender: anyone in GIGDESK_SPENDERS except <@{requester}> "
                 f"can Confirm. Nothing is spent until then; this request expires in {hours} hours."),
        ActionsBlock(
            block_id="rw-spend-second",
            elements=[
                ButtonElement(text="Confirm", action_id=ids.SPEND_CONFIRM, value=confirmation_id, style="primary"),
                ButtonElement(text="Cancel", action_id=ids.SPEND_CANCEL, value=confirmation_id),
            ],
        ),
    ]
    text = f"<@{requester}> asks to spend {money(cost)}; waiting for a second spender to confirm."
    return truncate(text, 3000), _dicts(blocks)


def spend_insufficient(*, what: str, cost: Decimal, balance: Decimal, estimate: bool, cost_note: str | None = None) -> tuple[str, list[dict]]:
    """Same facts, no Confirm button: the balance does not cover it."""
    short = balance - cost
    blocks: list[Block] = [
        section(f":no_entry: Not enough balance. {what}"),
        _cost_fields(cost, balance, estimate, cost_note),
        _context(f"You are {money(-short)} short. Top up your RapidWorkers account, then run the command again."),
    ]
    text = f"Not enough balance: {what} costs {money(cost)}, the balance is {money(balance)}."
    return truncate(text, 3000), _dicts(blocks)


def result_message(headline: str, details: list[str] | None = None, *, campaign_id: str | None = None) -> tuple[str, list[dict]]:
    """A spend's outcome; `campaign_id`: a "View campaign" button (after a job is created)."""
    blocks: list[Block] = [section(headline)]
    if details:
        blocks.append(_context(" · ".join(details)))
    if campaign_id:
        blocks.append(ActionsBlock(block_id="rw-result-actions", elements=[
            ButtonElement(text="View campaign", action_id=ids.CAMPAIGN_DETAILS, value=campaign_value(campaign_id))]))
    return truncate(headline, 3000), _dicts(blocks)


def worker_block_button(worker_id: str) -> dict:
    """The Block button of a `/rw worker` reply, behind a confirm dialog like the review card's Block worker
    (the dialog names the worker by id: the reply above it shows the name, escaped)."""
    return ActionsBlock(block_id="rw-worker", elements=[ButtonElement(
        text="Block worker", action_id=ids.RW_WORKER_BLOCK, value=worker_id, style="danger",
        confirm=ConfirmObject(
            title="Block this worker?",
            text=PlainTextObject(text=truncate(f"Worker {plain(worker_id, 100)} will no longer see any of your campaigns.", 300),
                                 emoji=False),
            confirm="Block worker", deny="Cancel", style="danger",
        ),
    )]).to_dict()
