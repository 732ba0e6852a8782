"""RLHF preference labels over the app's database (page 9): one labeler's ranking of a prompt's completions, kept
across restarts under the browser's id (`labeler_key`; `labeler` is only the name they are shown under) and, in a
workshop, the room's code. Their pairs train the reward model (core/labs/rlhf/pairs.py, reward.py)."""
from __future__ import annotations

import json
import time

from core.storage.database import Database


class Labels:
    """The table preference_labels."""

    def __init__(self, db: Database):
        self.db = db

    def record(self, labeler_key: str, labeler: str, prompt: str, completions: list[str], ranking: dict,
               room: str = "") -> None:
        """Keep one ranking; a labeler who ranks the same prompt and completions again replaces the earlier one."""
        texts = json.dumps(list(completions))
        with self.db.write() as conn:
            conn.execute("DELETE FROM preference_labels WHERE labeler_key = ? AND prompt = ? AND completions = ? "
                         "AND room = ?", (labeler_key, prompt, texts, room))
            conn.execute("INSERT INTO preference_labels (labeler, labeler_key, room, prompt, completions, ranking, "
                         "labelled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (labeler, labeler_key, room, prompt, texts, json.dumps(ranking), time.time()))

    def rows(self, labeler_key: str | None = None, room: str | None = None) -> list[dict]:
        """Rankings, oldest first, as dicts with `completions` (list) and `ranking` (dict) decoded; filtered by
        labeler and by room when given."""
        where, args = [], []
        if labeler_key is not None:
            where.append("labeler_key = ?")
            args.append(labeler_key)
        if room is not None:
            where.append("room = ?")
            args.append(room)
        sql = "SELECT * FROM preference_labels" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [dict(r, completions=json.loads(r["completions"]), ranking=json.loads(r["ranking"]))
                for r in self.db.read(sql, tuple(args))]
