"""Reading a submitted modal's state.values, whatever shape a payload has."""

from __future__ import annotations


def state_field(values: object, block_id: str, action_id: str) -> dict:
    """values[block_id][action_id] of a view's state, or {} when the shape is anything else."""
    block = values.get(block_id) if isinstance(values, dict) else None
    found = block.get(action_id) if isinstance(block, dict) else None
    return found if isinstance(found, dict) else {}


def state_text(values: object, block_id: str, action_id: str) -> str:
    """A text input's value, stripped; '' when absent or not text."""
    value = state_field(values, block_id, action_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def state_choice(values: object, block_id: str, action_id: str) -> str | None:
    """A select's chosen option value, or None."""
    selected = state_field(values, block_id, action_id).get("selected_option")
    chosen = selected.get("value") if isinstance(selected, dict) else None
    return chosen if isinstance(chosen, str) else None
