"""RLHF labeling rounds over the app's database: the prompt and completions a presenter gives the whole room to rank
(page 9). A room has at most one open round; opening a new one closes it. The rankings themselves are preference
labels (core/labs/rlhf/labels.py), saved with the room's code."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from core.storage.database import Database


@dataclass(frozen=True)
class LabelingRound:
    id: int
    room: str
    prompt: str
    completions: tuple[str, ...]
    opened_at: float
    closed_at: float | None   # None while labelers may still save rankings

    @property
    def open(self) -> bool:
        return self.closed_at is None


class LabelingRounds:
    """The table labeling_rounds."""

    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _round(row) -> LabelingRound:
        return LabelingRound(int(row["id"]), row["room"], row["prompt"], tuple(json.loads(row["completions"])),
                             float(row["opened_at"]), None if row["closed_at"] is None else float(row["closed_at"]))

    def open(self, room: str, prompt: str, completions: list[str]) -> LabelingRound:
        """Start a labeling round in `room` (closing any open one): everyone there ranks these completions."""
        now = time.time()
        with self.db.write() as conn:
            conn.execute("UPDATE labeling_rounds SET closed_at = ? WHERE room = ? AND closed_at IS NULL", (now, room))
            conn.execute("INSERT INTO labeling_rounds (room, prompt, completions, opened_at) VALUES (?, ?, ?, ?)",
                         (room, prompt, json.dumps(list(completions)), now))
        return self.current(room)

    def close(self, room: str) -> LabelingRound | None:
        """Close the room's open round (rankings are no longer accepted); the closed round, or None if none was open."""
        current = self.current(room)
        if current is None or not current.open:
            return None
        with self.db.write() as conn:
            conn.execute("UPDATE labeling_rounds SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                         (time.time(), current.id))
        return self.current(room)

    def current(self, room: str) -> LabelingRound | None:
        """The room's latest round, open or closed, or None."""
        rows = self.db.read("SELECT * FROM labeling_rounds WHERE room = ? ORDER BY id DESC LIMIT 1", (room,))
        return self._round(rows[0]) if rows else None
