"""What both API clients share: scalar coercion and declared models (no Slack, storage or features)."""
