"""Near-duplicate look-up among stored 64-bit hashes: vectorised XOR + popcount.

100,000 hashes are 800 KB per hash kind; one look-up XORs them all with the
query and counts bits (np.bitwise_count, numpy >= 2) in well under a
millisecond, which beats a BK-tree at this size and needs no rebuilding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.forensics.hashing import to_unsigned


@dataclass(frozen=True)
class Match:
    key: int  # the caller's row id (proof_images.id)
    phash_distance: int
    dhash_distance: int


class HashIndex:
    """Append-only (key, pHash, dHash) rows; look-up by Hamming distance."""

    def __init__(self) -> None:
        import numpy as np  # noqa: PLC0415 (numpy on first look-up: idle memory (bot/forensics/__init__.py))

        self._np = np
        self._keys = np.empty(0, dtype=np.int64)
        self._phash = np.empty(0, dtype=np.uint64)
        self._dhash = np.empty(0, dtype=np.uint64)
        self.last_key = 0

    def __len__(self) -> int:
        return len(self._keys)

    def extend(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """Add (key, phash, dhash) rows (signed or unsigned 64-bit ints)."""
        np = self._np
        rows = list(rows)
        if not rows:
            return
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ph = np.fromiter((to_unsigned(r[1]) for r in rows), dtype=np.uint64, count=len(rows))
        dh = np.fromiter((to_unsigned(r[2]) for r in rows), dtype=np.uint64, count=len(rows))
        self._keys = np.concatenate([self._keys, keys])
        self._phash = np.concatenate([self._phash, ph])
        self._dhash = np.concatenate([self._dhash, dh])
        self.last_key = max(self.last_key, int(keys.max()))

    def near(self, phash: int, dhash: int, *, max_phash: int, max_dhash: int) -> list[Match]:
        """Rows within both distances, nearest first."""
        np = self._np
        if not len(self._keys):
            return []
        pd = np.bitwise_count(self._phash ^ np.uint64(to_unsigned(phash)))
        hits = np.flatnonzero(pd <= max_phash)
        if not len(hits):
            return []
        dd = np.bitwise_count(self._dhash[hits] ^ np.uint64(to_unsigned(dhash)))
        keep = hits[dd <= max_dhash]
        dd = dd[dd <= max_dhash]
        found = [Match(int(self._keys[i]), int(pd[i]), int(d)) for i, d in zip(keep, dd, strict=True)]
        return sorted(found, key=lambda m: (m.phash_distance + m.dhash_distance, m.key))
