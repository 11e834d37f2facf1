"""Slack plumbing shared by every feature: ids, mrkdwn, view state, event dedup."""
