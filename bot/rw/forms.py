"""The /rw forms (modals): the job and custom campaign forms, the campaign type-ahead forms
(approve-all, campaign, route) and a modal that only says something. Pure builders."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ConversationFilter,
    ConversationSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.rapidworkers.client import MIN_PREFILLED_QUANTITY, PREFILLED_KINDS
from bot.rw.blocks import (
    CAMPAIGN_PICK_BLOCK,
    COMMON_COUNTRIES,
    COUNTRIES_BLOCK,
    INPUT,
    JOB_KIND_BLOCK,
    JOB_LINK_BLOCK,
    JOB_QUANTITY_BLOCK,
    LANGUAGE_BLOCK,
    MORE_COUNTRIES_BLOCK,
    NEW_APPROVE_FULL_BLOCK,
    NEW_AVAILABILITIES_BLOCK,
    NEW_CATEGORY_BLOCK,
    NEW_DESCRIPTION_BLOCK,
    NEW_IMAGE_BLOCK,
    NEW_PAY_BLOCK,
    NEW_PROOF_BLOCK,
    NEW_SUB_CATEGORY_BLOCK,
    NEW_TITLE_BLOCK,
    section,
)
from bot.slack import ids
from bot.slack.mrkdwn import plain


def _metadata(channel: str | None) -> str:
    return json.dumps({"channel": channel}) if channel else ""


def _country_inputs() -> list[Block]:
    return [
        InputBlock(
            block_id=COUNTRIES_BLOCK,
            label="Countries",
            optional=True,
            hint="Leave empty for all countries.",
            element=StaticMultiSelectElement(
                action_id=INPUT,
                placeholder="All countries",
                options=[Option(value=code, text=f"{name} ({code})") for code, name in COMMON_COUNTRIES],
            ),
        ),
        InputBlock(
            block_id=MORE_COUNTRIES_BLOCK,
            label="Other country codes",
            optional=True,
            hint="ISO codes not in the list above, like LU, MT, IS.",
            element=PlainTextInputElement(action_id=INPUT, placeholder="LU, MT", max_length=500),
        ),
    ]


def notice_modal(title: str, text: str) -> dict:
    """A modal that only says something (e.g. a refusal after a click in App Home)."""
    return View(type="modal", title=plain(title, 24), close="Close", blocks=[section(text)]).to_dict()


def job_modal(channel: str | None, *, kind: str | None = None) -> dict:
    """`/rw job` without arguments (or with only a kind, then chosen): kind, link, quantity, countries, language."""
    kinds = [Option(value=k, text=k) for k in PREFILLED_KINDS]
    chosen = next((o for o in kinds if o.value == kind), None)
    view = View(
        type="modal",
        callback_id=ids.JOB_MODAL,
        private_metadata=_metadata(channel),
        title="New prefilled job",
        submit="Review cost",
        close="Cancel",
        blocks=[
            section("Prefilled jobs cost *$0.05 per unit*. Their submissions come to the review channel as they arrive; "
                    "RapidWorkers pays any still undecided when the job is full. "
                     "You will see the cost and confirm before anything is spent."),
            InputBlock(
                block_id=JOB_KIND_BLOCK,
                label="Kind",
                element=StaticSelectElement(
                    action_id=INPUT,
                    placeholder="Pick a kind",
                    options=kinds,
                    initial_option=chosen,
                ),
            ),
            InputBlock(
                block_id=JOB_LINK_BLOCK,
                label="Link",
                element=PlainTextInputElement(action_id=INPUT, placeholder="https://instagram.com/p/…", max_length=2000),
            ),
            InputBlock(
                block_id=JOB_QUANTITY_BLOCK,
                label="Quantity",
                hint=f"At least {MIN_PREFILLED_QUANTITY}.",
                element=NumberInputElement(action_id=INPUT, is_decimal_allowed=False, min_value=MIN_PREFILLED_QUANTITY, max_value=100000),
            ),
            *_country_inputs(),
            InputBlock(
                block_id=LANGUAGE_BLOCK,
                label="Language",
                optional=True,
                element=PlainTextInputElement(action_id=INPUT, placeholder="en", max_length=20),
            ),
        ],
    )
    return view.to_dict()


def new_campaign_modal(channel: str | None) -> dict:
    """`/rw new`: every field of POST /jobs/add, the image as a Slack file input."""
    view = View(
        type="modal",
        callback_id=ids.NEW_CAMPAIGN_MODAL,
        private_metadata=_metadata(channel),
        title="New custom campaign",
        submit="Review cost",
        close="Cancel",
        blocks=[
            section("Cost is pay rate × availabilities plus RapidWorkers' 10% commission. "
                     "You will see it and confirm before anything is spent."),
            InputBlock(block_id=NEW_TITLE_BLOCK, label="Title",
                       element=PlainTextInputElement(action_id=INPUT, max_length=200)),
            InputBlock(block_id=NEW_DESCRIPTION_BLOCK, label="Description",
                       element=PlainTextInputElement(action_id=INPUT, multiline=True, max_length=3000)),
            InputBlock(block_id=NEW_PAY_BLOCK, label="Pay rate per task (USD)",
                       element=NumberInputElement(action_id=INPUT, is_decimal_allowed=True, min_value="0.01", max_value="1000")),
            InputBlock(block_id=NEW_AVAILABILITIES_BLOCK, label="Availabilities (number of tasks)",
                       element=NumberInputElement(action_id=INPUT, is_decimal_allowed=False, min_value=1, max_value=100000)),
            InputBlock(block_id=NEW_PROOF_BLOCK, label="Proof required",
                       element=PlainTextInputElement(action_id=INPUT, multiline=True, max_length=3000,
                                                     placeholder="Submit a screenshot of …")),
            InputBlock(block_id=NEW_CATEGORY_BLOCK, label="Category",
                       element=PlainTextInputElement(action_id=INPUT, max_length=100, placeholder="Survey")),
            InputBlock(block_id=NEW_SUB_CATEGORY_BLOCK, label="Sub-category", optional=True,
                       element=PlainTextInputElement(action_id=INPUT, max_length=100)),
            *_country_inputs(),
            InputBlock(
                block_id=NEW_APPROVE_FULL_BLOCK,
                label="Approval",
                optional=True,
                element=CheckboxesElement(
                    action_id=INPUT,
                    options=[Option(value="approve_once_full", text="Approve all and pay once the job is full")],
                ),
            ),
            InputBlock(
                block_id=NEW_IMAGE_BLOCK,
                label="Campaign image",
                optional=True,
                element={"type": "file_input", "action_id": INPUT, "filetypes": ["png", "jpg", "jpeg", "gif", "webp"], "max_files": 1},
            ),
        ],
    )
    return view.to_dict()


def _campaign_picker(callback_id: str, title: str, intro: str, submit: str, channel: str | None, *,
                     more: list[Block] | None = None) -> dict:
    """A form whose first field is a campaign type-ahead (external_select answered by app.options); `more`: fields after it."""
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=_metadata(channel),
        title=title,
        submit=submit,
        close="Cancel",
        blocks=[
            section(intro),
            InputBlock(
                block_id=CAMPAIGN_PICK_BLOCK,
                label="Campaign",
                hint="Type part of its title (or its id).",
                element=ExternalDataSelectElement(action_id=ids.CAMPAIGN_SELECT, placeholder="Start typing a title…",
                                                  min_query_length=1),
            ),
            *(more or []),
        ],
    )
    return view.to_dict()


def route_modal(channel: str | None) -> dict:
    """`/rw route` without arguments: a campaign type-ahead and a channel picker."""
    picker = InputBlock(
        block_id=ids.ROUTE_CHANNEL_BLOCK,
        label="Channel",
        element=ConversationSelectElement(
            action_id=ids.ROUTE_CHANNEL_SELECT, placeholder="Pick a channel",
            filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True, exclude_external_shared_channels=True),
        ),
    )
    return _campaign_picker(ids.ROUTE_MODAL, "Route a campaign",
                            "New submissions of the campaign go to the channel you pick instead of the review channel. "
                            "You and gigdesk must both be in it; channels shared with another organisation are refused. "
                            "To send a campaign back to the review channel, pick the review channel.",
                            "Route", channel, more=[picker])


def approve_all_modal(channel: str | None) -> dict:
    """`/rw approve-all` without a campaign: pick one by typing part of its title."""
    return _campaign_picker(ids.APPROVE_ALL_MODAL, "Approve all…", "Pick a campaign. You will see which pending submissions "
                            "would be approved, the cost and your balance, and confirm before anything is spent.",
                            "Review cost", channel)


def campaign_modal(channel: str | None) -> dict:
    """`/rw campaign` without a campaign: pick one by typing part of its title."""
    return _campaign_picker(ids.CAMPAIGN_MODAL, "Find a campaign", "Pick a campaign to see its details and buttons.",
                            "Show", channel)
