"""The Wonolo API: client and webhook parsing. No Slack, no storage."""
