"""Self-paced quiz attempts over the app's database: every answer a learner gives on page 12 or at the end of a
lesson, kept under the browser's id (`learner_key`; `learner` is only the name they are shown under).

It sits next to the question bank (core/workshop/quiz.py), which grades the answers and reads these rows back for a
learner's progress and the instructor's analytics; the quiz's code moves as one if the quiz ever leaves the workshop.
"""
from __future__ import annotations

import json
import time
from typing import Any

from core.storage.database import Database


class Attempts:
    """The table attempts."""

    def __init__(self, db: Database):
        self.db = db

    def record(self, learner_key: str, learner: str, question_id: str, section: str, correct: bool,
               response: Any) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO attempts (learner, learner_key, question_id, section, correct, response, "
                         "answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (learner, learner_key, question_id, section, int(bool(correct)), json.dumps(response),
                          time.time()))

    def rows(self, learner_key: str | None = None) -> list[dict]:
        """This learner's attempts (everyone's when None), oldest first, with `response` decoded."""
        if learner_key is None:
            rows = self.db.read("SELECT * FROM attempts ORDER BY id")
        else:
            rows = self.db.read("SELECT * FROM attempts WHERE learner_key = ? ORDER BY id", (learner_key,))
        return [dict(r, response=json.loads(r["response"])) for r in rows]
