"""The Wonolo desk in Slack: service and Block Kit."""
