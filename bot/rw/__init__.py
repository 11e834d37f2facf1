"""The /rw command: parsing, services, Block Kit."""
