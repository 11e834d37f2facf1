"""Metrics, structured logs and the pieces that watch gigdesk run (issue 25)."""
