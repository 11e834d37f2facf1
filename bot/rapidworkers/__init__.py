"""The RapidWorkers API: client, models, errors, request budget. No Slack, no storage."""
