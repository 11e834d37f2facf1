"""Who may spend and the spending limits."""
