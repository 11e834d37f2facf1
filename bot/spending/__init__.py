"""Spending: who may spend and the limits (rules), and an offer from creation to result (offers)."""
