"""Workshop rooms over the app's database: rooms, their participants (seats), live questions and answers.

The workshop's rules (codes, nicknames, timing, points) are core/workshop/workshop.py's; this module only reads and
writes rows. A room's `version` is bumped on every presenter change so followers notice cheaply; starting a live
question updates the room row first, which locks it on PostgreSQL, so two launches cannot pick the same number.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from core.storage.database import AlreadyExists, Database, StoreError


@dataclass(frozen=True)
class Room:
    code: str
    created_at: float
    expires_at: float
    section: str          # the presenter's current section id ('' before the first move)
    phase: str            # lobby | question | podium
    version: int          # bumped on every presenter change, so followers notice cheaply


@dataclass(frozen=True)
class Seat:
    """A participant's row: the nickname as shown, the hash of the seat token, and whether the presenter removed
    them (a removed participant's nickname stays taken in the room)."""
    nickname: str
    seat_hash: str
    removed: bool


@dataclass(frozen=True)
class LiveQuestion:
    room: str
    seq: int              # 1, 2, 3 ... within the room
    question_id: str
    section: str
    started_at: float
    time_limit: float
    revealed: bool


class Rooms:
    """Rooms, participants, live questions and answers (tables rooms, participants, live_questions, live_answers)."""

    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _room(row) -> Room:
        return Room(row["code"], row["created_at"], row["expires_at"], row["section"], row["phase"], row["version"])

    def create_room(self, code: str, expires_at: float, section: str = "") -> Room:
        try:
            with self.db.write() as conn:
                conn.execute("INSERT INTO rooms (code, created_at, expires_at, section) VALUES (?, ?, ?, ?)",
                             (code, time.time(), expires_at, section))
        except self.db.integrity_error as exc:
            raise AlreadyExists(f"room {code} already exists") from exc
        return self.room(code)

    def room(self, code: str) -> Room | None:
        rows = self.db.read("SELECT * FROM rooms WHERE code = ?", (code,))
        return self._room(rows[0]) if rows else None

    def rooms(self) -> list[Room]:
        """Every room, newest first."""
        return [self._room(r) for r in self.db.read("SELECT * FROM rooms ORDER BY created_at DESC")]

    def update_room(self, code: str, *, section: str | None = None, phase: str | None = None) -> Room:
        with self.db.write() as conn:
            cur = conn.execute("UPDATE rooms SET section = COALESCE(?, section), phase = COALESCE(?, phase), "
                               "version = version + 1 WHERE code = ?", (section, phase, code))
            if cur.rowcount != 1:
                raise StoreError(f"no room {code}")
        return self.room(code)

    def add_participant(self, code: str, nickname: str, nickname_key: str, seat_hash: str = "") -> None:
        try:
            with self.db.write() as conn:
                conn.execute("INSERT INTO participants (room, nickname, nickname_key, joined_at, seat_hash) "
                             "VALUES (?, ?, ?, ?, ?)", (code, nickname, nickname_key, time.time(), seat_hash))
        except self.db.integrity_error as exc:
            raise AlreadyExists(f"the nickname {nickname!r} is taken in room {code}") from exc

    def participants(self, code: str) -> list[str]:
        """Nicknames of the room's participants, in the order they joined (removed ones left out)."""
        return [r["nickname"] for r in self.db.read(
            "SELECT nickname FROM participants WHERE room = ? AND removed = 0 ORDER BY joined_at, nickname", (code,))]

    @staticmethod
    def _seat(row) -> Seat:
        return Seat(row["nickname"], row["seat_hash"], bool(row["removed"]))

    def participant(self, code: str, nickname_key: str) -> Seat | None:
        """The participant with this key (removed or not), or None."""
        rows = self.db.read("SELECT nickname, seat_hash, removed FROM participants WHERE room = ? AND nickname_key = ?",
                             (code, nickname_key))
        return self._seat(rows[0]) if rows else None

    def participant_by_seat(self, code: str, seat_hash: str) -> Seat | None:
        """The participant holding this seat (removed or not), or None."""
        if not seat_hash:
            return None
        rows = self.db.read("SELECT nickname, seat_hash, removed FROM participants WHERE room = ? AND seat_hash = ? "
                             "ORDER BY removed, joined_at", (code, seat_hash))
        return self._seat(rows[0]) if rows else None

    def remove_participant(self, code: str, nickname_key: str) -> bool:
        """The presenter removes someone: their answers go, their nickname stays taken; False if unknown."""
        with self.db.write() as conn:
            cur = conn.execute("UPDATE participants SET removed = 1 WHERE room = ? AND nickname_key = ?",
                               (code, nickname_key))
            if cur.rowcount != 1:
                return False
            conn.execute("DELETE FROM live_answers WHERE room = ? AND nickname_key = ?", (code, nickname_key))
            conn.execute("UPDATE rooms SET version = version + 1 WHERE code = ?", (code,))
        return True

    @staticmethod
    def _question(row) -> LiveQuestion:
        return LiveQuestion(row["room"], row["seq"], row["question_id"], row["section"], row["started_at"],
                            row["time_limit"], bool(row["revealed"]))

    def start_question(self, code: str, question_id: str, section: str, time_limit: float) -> LiveQuestion:
        with self.db.write() as conn:
            # Updating the room first locks its row (PostgreSQL), so two launches cannot pick the same seq;
            # SQLite's BEGIN IMMEDIATE already serialises writers.
            conn.execute("UPDATE rooms SET phase = 'question', version = version + 1 WHERE code = ?", (code,))
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM live_questions WHERE room = ?",
                               (code,)).fetchone()["seq"]
            conn.execute("INSERT INTO live_questions (room, seq, question_id, section, started_at, time_limit) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (code, seq, question_id, section, time.time(), time_limit))
        return self.current_question(code)

    def current_question(self, code: str) -> LiveQuestion | None:
        rows = self.db.read("SELECT * FROM live_questions WHERE room = ? ORDER BY seq DESC LIMIT 1", (code,))
        return self._question(rows[0]) if rows else None

    def questions(self, code: str) -> list[LiveQuestion]:
        return [self._question(r) for r in self.db.read(
            "SELECT * FROM live_questions WHERE room = ? ORDER BY seq", (code,))]

    def reveal(self, code: str, seq: int) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE live_questions SET revealed = 1 WHERE room = ? AND seq = ?", (code, seq))
            conn.execute("UPDATE rooms SET version = version + 1 WHERE code = ?", (code,))

    def add_answer(self, code: str, seq: int, nickname: str, nickname_key: str, response: Any, correct: bool,
                   elapsed: float, points: int) -> None:
        try:
            with self.db.write() as conn:
                conn.execute("INSERT INTO live_answers (room, seq, nickname_key, nickname, response, correct, elapsed, "
                             "points, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (code, seq, nickname_key, nickname, json.dumps(response), int(bool(correct)),
                              float(elapsed), int(points), time.time()))
        except self.db.integrity_error as exc:
            raise AlreadyExists(f"{nickname} already answered question {seq}") from exc

    def answers(self, code: str, seq: int | None = None) -> list[dict]:
        """The room's answers (to question `seq`, or to all), with `response` decoded and the question's id and
        section."""
        if seq is None:
            rows = self.db.read("SELECT a.*, q.question_id, q.section FROM live_answers a JOIN live_questions q "
                                "ON q.room = a.room AND q.seq = a.seq WHERE a.room = ? ORDER BY a.seq, a.answered_at",
                                (code,))
        else:
            rows = self.db.read("SELECT a.*, q.question_id, q.section FROM live_answers a JOIN live_questions q "
                                "ON q.room = a.room AND q.seq = a.seq WHERE a.room = ? AND a.seq = ? "
                                "ORDER BY a.answered_at", (code, seq))
        return [dict(r, response=json.loads(r["response"])) for r in rows]
