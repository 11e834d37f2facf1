"""gigdesk: bot."""
