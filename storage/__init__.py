"""gigdesk: storage."""
