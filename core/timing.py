"""Measured rates for honest waiting times: "about 40 s" computed from how long the same kind of work took on
this server, not a number typed once on another machine (a bench once said 24 s and the run took 115 s).

One RateBook per server process (components/common/cache.py: `rate_book`), shared by every session: each finished
piece of work is recorded once under its kind and its own key, so a cached answer that is shown again does not
count twice."""
from __future__ import annotations

import threading
from collections.abc import Hashable


class RateBook:
    def __init__(self, keep: int = 500):
        self._lock = threading.Lock()
        self._seen: dict[str, dict[Hashable, float]] = {}
        self._keep = keep

    def record(self, kind: str, key: Hashable, seconds: float) -> None:
        """One piece of work of `kind` took `seconds` (the first record for a key wins; only the latest
        `keep` keys per kind are kept, so the rate follows the server's current load)."""
        if not seconds or seconds < 0:
            return
        with self._lock:
            book = self._seen.setdefault(kind, {})
            if key in book:
                return
            book[key] = float(seconds)
            while len(book) > self._keep:
                book.pop(next(iter(book)))

    def seconds_per_item(self, kind: str) -> tuple[float, int] | None:
        """(mean seconds, how many measurements), or None before the first one."""
        with self._lock:
            values = list(self._seen.get(kind, {}).values())
        return (sum(values) / len(values), len(values)) if values else None


def estimate_text(book: RateBook, kind: str, items: int, guess_per_item: float) -> str:
    """"about 40 s (measured here: 1.3 s each over 31 answers)", or a labelled first guess."""
    measured = book.seconds_per_item(kind)
    if measured:
        per, n = measured
        return f"about {_duration(per * items)} (measured on this server: {per:.1f} s each over {n} runs)"
    return f"roughly {_duration(guess_per_item * items)} (a first guess; the page measures this server as it runs)"


def _duration(seconds: float) -> str:
    seconds = max(1.0, seconds)
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
