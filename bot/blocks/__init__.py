"""Block Kit builders: pure functions from stored state to (text, blocks)."""
