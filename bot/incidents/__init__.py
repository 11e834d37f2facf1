"""Incidents in Slack, once each: what broke, what to do, and a word when it clears (issue 25)."""
