"""Bounded reads of Wonolo's job request lists (alerts, digest, App Home, polling).

A scan reads at most LIST_PAGES pages of PER per state, so a cycle costs a known
number of requests whatever the account's size.
"""

from __future__ import annotations

from typing import Any

LIST_PAGES = 4  # a scan reads at most this many pages of PER per state
PER = 50        # Wonolo's largest page


def scan_requests(client: Any, state: str, *, pages: int = LIST_PAGES, **filters: Any) -> list:
    """Job requests in one state, at most `pages` pages (filters such as updated_after pass through)."""
    return _scan(lambda page: client.list_job_requests(state, page=page, per=PER, **filters), pages)


def scan_jobs(client: Any, state: str, *, pages: int = LIST_PAGES, **filters: Any) -> list:
    """Jobs in one state, at most `pages` pages."""
    return _scan(lambda page: client.list_jobs(state, page=page, per=PER, **filters), pages)


def _scan(read_page: Any, pages: int) -> list:
    items: list = []
    previous = None
    for page in range(1, pages + 1):
        batch = read_page(page)
        batch_ids = [item.id for item in batch]
        if batch and batch_ids == previous:  # the server ignores `page`
            break
        items.extend(batch)
        previous = batch_ids
        if len(batch) < PER:
            break
    return items
