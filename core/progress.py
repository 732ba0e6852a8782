"""A learner's course progress over the app's database: the lessons they opened and the demos they tried, by browser
id, with the first and the latest time. The home page's course map (components/common/progress.py) reads these rows
beside the learner's quiz attempts and RLHF labels."""
from __future__ import annotations

import time

from core.storage.database import Database


class Progress:
    """The table progress; `kind` is "lesson" (opened) or "demo" (tried)."""

    def __init__(self, db: Database):
        self.db = db

    def record(self, learner_key: str, kind: str, item: str) -> None:
        """Note that this learner opened a lesson or tried a demo (the first and latest time are kept)."""
        now = time.time()
        with self.db.write() as conn:
            conn.execute("INSERT INTO progress (learner_key, kind, item, first_at, last_at) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (learner_key, kind, item) DO UPDATE SET last_at = excluded.last_at",
                         (learner_key, kind, item, now, now))

    def rows(self, learner_key: str) -> list[dict]:
        """This learner's progress rows (kind, item, first_at, last_at), oldest first."""
        return self.db.read("SELECT kind, item, first_at, last_at FROM progress WHERE learner_key = ? "
                            "ORDER BY first_at, item", (learner_key,))
