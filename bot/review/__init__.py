"""Review: post each submission once, decide it once."""
