"""The signed Slack request builders live in sandbox/slack_requests.py (the demo sends them too)."""

from sandbox.slack_requests import *  # noqa: F403
from sandbox.slack_requests import FORM, JSON, VERIFICATION_TOKEN  # noqa: F401  (not in __all__)
