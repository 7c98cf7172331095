"""Which alert fingerprints have fired: every one ever, in eight bytes each.

Before an alert goes out, its fingerprint is checked against every
fingerprint ever fired, so the same change never alerts twice. A Python set
of the strings costs about 200 bytes per fingerprint, some 300 MB for an
archive of a million articles. Here each fingerprint (a hex SHA-256 prefix)
is kept as its first 64 bits in a sorted array, with the exact strings of
those added since the last merge beside it:

* not in either: certainly never fired (the common case, no query);
* among the recent strings: certainly fired;
* only its 64 bits in the array: probably fired; 64 bits can collide, so the
  caller confirms with the database, where every fingerprint is stored.

Recent strings are merged into the array only once their claims are
written, so a fingerprint the database does not hold yet is never left to
the database to confirm.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import numpy as np
import numpy.typing as npt

MERGE_AT = 4096
"""Recent fingerprints kept as strings before they join the array."""


class Seen(Enum):
    NO = "no"
    YES = "yes"
    ASK = "ask"
    """Only the 64-bit prefix matched: ask the database."""


def prefix(fp: str) -> int:
    """The first 64 bits of a hex fingerprint."""
    return int(fp[:16], 16)


class FiredSet:
    """The fingerprints fired so far; see the module's docstring."""

    def __init__(self, prefixes: npt.NDArray[np.uint64] | Iterable[int] = ()) -> None:
        keys = (
            prefixes if isinstance(prefixes, np.ndarray) else np.fromiter(prefixes, dtype=np.uint64)
        )
        self._sorted: npt.NDArray[np.uint64] = np.unique(keys)
        self._recent: set[str] = set()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    @property
    def nbytes(self) -> int:
        return int(self._sorted.nbytes)

    def seen(self, fp: str) -> Seen:
        if fp in self._recent:
            return Seen.YES
        key = np.uint64(prefix(fp))
        i = int(np.searchsorted(self._sorted, key))
        if i < len(self._sorted) and self._sorted[i] == key:
            return Seen.ASK
        return Seen.NO

    def add(self, fp: str) -> None:
        self._recent.add(fp)

    def merge(self, force: bool = False) -> None:
        """Move the recent strings into the array; call only once their claims are written."""
        if not self._recent or (len(self._recent) < MERGE_AT and not force):
            return
        keys = np.fromiter((prefix(fp) for fp in self._recent), dtype=np.uint64)
        self._sorted = np.union1d(self._sorted, keys)
        self._recent = set()
