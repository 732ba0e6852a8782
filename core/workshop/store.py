"""Persistent state for quizzes and workshops, behind a small interface.

Settings (environment variables):
- GENAI_LAB_DB            path of the SQLite file (default: <cache dir>/genai-lab.sqlite3, see core/serving/settings.py)
- GENAI_LAB_DATABASE_URL  a database URL; overrides GENAI_LAB_DB. `sqlite:///relative.db` or
                          `sqlite:////absolute/path.db` use SQLite; `postgresql://user:password@host:5432/dbname`
                          (or `postgres://`) uses PostgreSQL, the setting for several app replicas sharing one state.
                          PostgreSQL needs the `psycopg` package (in requirements.txt, imported only when used); if
                          the server cannot be reached, `open_store` raises a StoreError saying so (password hidden).

Both stores run the same SQL (`_SQLStore`): one list of migrations rendered per dialect (type names) and `?`
placeholders, which the PostgreSQL store turns into `%s`. Uniqueness lives in the schema, every write is one
transaction, and the schema is created and migrated on open from the `schema_version` table.
SQLite runs in WAL mode (readers never block the writer), writes use BEGIN IMMEDIATE, and every call borrows one
of a few pooled connections and gives it back. PostgreSQL lends each call a connection from a psycopg_pool.ConnectionPool (at most `max_connections`
open, each checked before use so one lost with a server restart is replaced), serialises
migrations across replicas with an advisory lock, and locks the room row before numbering a new live question.
Either store object is safe to share across Streamlit sessions.
"""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from core.serving.settings import Settings


class StoreError(RuntimeError):
    """The database cannot be opened or used; the message says what to change."""


class AlreadyExists(StoreError):
    """A unique row (room code, nickname, answer) is already there."""


# Each entry upgrades the schema by one version; never edit an entry that has shipped, append a new one.
# {serial_pk} and {real} are the only dialect differences; `migrations(dialect)` fills them in.
MIGRATION_TEMPLATES: list[str] = [
    # 1: self-paced quiz attempts
    """
    CREATE TABLE attempts (
        id {serial_pk},
        learner TEXT NOT NULL,
        learner_key TEXT NOT NULL,
        question_id TEXT NOT NULL,
        section TEXT NOT NULL,
        correct INTEGER NOT NULL,
        response TEXT NOT NULL,
        answered_at {real} NOT NULL
    );
    CREATE INDEX attempts_by_learner ON attempts(learner_key, section);
    """,
    # 2: workshop rooms, participants, live questions and answers
    """
    CREATE TABLE rooms (
        code TEXT PRIMARY KEY,
        created_at {real} NOT NULL,
        expires_at {real} NOT NULL,
        section TEXT NOT NULL DEFAULT '',
        phase TEXT NOT NULL DEFAULT 'lobby',
        version INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE participants (
        room TEXT NOT NULL REFERENCES rooms(code),
        nickname TEXT NOT NULL,
        nickname_key TEXT NOT NULL,
        joined_at {real} NOT NULL,
        PRIMARY KEY (room, nickname_key)
    );
    CREATE TABLE live_questions (
        room TEXT NOT NULL REFERENCES rooms(code),
        seq INTEGER NOT NULL,
        question_id TEXT NOT NULL,
        section TEXT NOT NULL,
        started_at {real} NOT NULL,
        time_limit {real} NOT NULL,
        revealed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE live_answers (
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        nickname_key TEXT NOT NULL,
        nickname TEXT NOT NULL,
        response TEXT NOT NULL,
        correct INTEGER NOT NULL,
        elapsed {real} NOT NULL,
        points INTEGER NOT NULL,
        answered_at {real} NOT NULL,
        PRIMARY KEY (room, seq, nickname_key),
        FOREIGN KEY (room, seq) REFERENCES live_questions(room, seq)
    );
    """,
    # 3: a participant's seat: the SHA-256 of the token their device keeps, so a reload returns them to their seat
    """
    ALTER TABLE participants ADD COLUMN seat_hash TEXT NOT NULL DEFAULT '';
    """,
    # 4: RLHF labels (page 9): one labeler's ranking of a prompt's completions, kept across restarts
    """
    CREATE TABLE preference_labels (
        id {serial_pk},
        labeler TEXT NOT NULL,
        labeler_key TEXT NOT NULL,
        room TEXT NOT NULL DEFAULT '',
        prompt TEXT NOT NULL,
        completions TEXT NOT NULL,
        ranking TEXT NOT NULL,
        labelled_at {real} NOT NULL
    );
    CREATE INDEX preference_labels_by_labeler ON preference_labels(labeler_key, prompt);
    """,
    # 5: RLHF labeling rounds (page 9): the prompt and completions a presenter gives the whole room to rank
    """
    CREATE TABLE labeling_rounds (
        id {serial_pk},
        room TEXT NOT NULL,
        prompt TEXT NOT NULL,
        completions TEXT NOT NULL,
        opened_at {real} NOT NULL,
        closed_at {real}
    );
    CREATE INDEX labeling_rounds_by_room ON labeling_rounds(room, id);
    """,
    # 6: a presenter can remove a participant (their nickname stays taken, their seat and answers go); the server's
    # own secret (signs the presenter's console cookie); presenter console sessions that "Lock console" ends.
    # Progress and labels are keyed by the browser's id from now on (learner_key / labeler_key hold it).
    """
    ALTER TABLE participants ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE server_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE presenter_sessions (
        id_hash TEXT PRIMARY KEY,
        created_at {real} NOT NULL,
        expires_at {real} NOT NULL,
        revoked_at {real}
    );
    """,
    # 7: a learner's course progress, by browser id: the lessons they opened and the demos they tried
    """
    CREATE TABLE progress (
        learner_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        item TEXT NOT NULL,
        first_at {real} NOT NULL,
        last_at {real} NOT NULL,
        PRIMARY KEY (learner_key, kind, item)
    );
    """,
]
DIALECT_TYPES = {
    "sqlite": {"serial_pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL"},
    # PostgreSQL's REAL is 4 bytes (~2 minutes of resolution for a Unix time): timestamps need DOUBLE PRECISION.
    "postgres": {"serial_pk": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "real": "DOUBLE PRECISION"},
}


def migrations(dialect: str) -> list[str]:
    return [template.format(**DIALECT_TYPES[dialect]) for template in MIGRATION_TEMPLATES]


MIGRATIONS: list[str] = migrations("sqlite")     # the SQLite text, exactly as shipped
SCHEMA_VERSION = len(MIGRATIONS)


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


class Store(ABC):
    """Everything the app persists. Implementations must be safe to call from many threads."""

    # self-paced quizzes: `learner_key` is who (the browser's id), `learner` only how they are shown
    @abstractmethod
    def record_attempt(self, learner_key: str, learner: str, question_id: str, section: str, correct: bool,
                       response: Any) -> None: ...
    @abstractmethod
    def attempts(self, learner_key: str | None = None) -> list[dict]: ...

    # RLHF labels (page 9): `labeler_key` is who, `labeler` how they are shown
    @abstractmethod
    def record_label(self, labeler_key: str, labeler: str, prompt: str, completions: list[str], ranking: dict,
                     room: str = "") -> None: ...
    @abstractmethod
    def labels(self, labeler_key: str | None = None, room: str | None = None) -> list[dict]: ...
    @abstractmethod
    def open_round(self, room: str, prompt: str, completions: list[str]) -> LabelingRound:
        """Start a labeling round in `room` (closing any open one): everyone there ranks these completions."""
    @abstractmethod
    def close_round(self, room: str) -> LabelingRound | None:
        """Close the room's open round (rankings are no longer accepted); the closed round, or None if none was open."""
    @abstractmethod
    def current_round(self, room: str) -> LabelingRound | None:
        """The room's latest round, open or closed, or None."""

    # rooms
    @abstractmethod
    def create_room(self, code: str, expires_at: float, section: str = "") -> Room: ...
    @abstractmethod
    def room(self, code: str) -> Room | None: ...
    @abstractmethod
    def update_room(self, code: str, *, section: str | None = None, phase: str | None = None) -> Room: ...
    @abstractmethod
    def add_participant(self, code: str, nickname: str, nickname_key: str, seat_hash: str = "") -> None: ...
    @abstractmethod
    def participants(self, code: str) -> list[str]:
        """Nicknames of the room's participants, in the order they joined (removed ones left out)."""
    @abstractmethod
    def participant(self, code: str, nickname_key: str) -> Seat | None:
        """The participant with this key (removed or not), or None."""
    @abstractmethod
    def participant_by_seat(self, code: str, seat_hash: str) -> Seat | None:
        """The participant holding this seat (removed or not), or None."""
    @abstractmethod
    def remove_participant(self, code: str, nickname_key: str) -> bool:
        """The presenter removes someone: their answers go, their nickname stays taken; False if unknown."""

    # course progress: `learner_key` is the browser's id; kind is "lesson" (opened) or "demo" (tried)
    @abstractmethod
    def record_progress(self, learner_key: str, kind: str, item: str) -> None:
        """Note that this learner opened a lesson or tried a demo (the first and latest time are kept)."""
    @abstractmethod
    def progress(self, learner_key: str) -> list[dict]:
        """This learner's progress rows (kind, item, first_at, last_at), oldest first."""

    # the server's own settings
    @abstractmethod
    def server_secret(self) -> str:
        """A random secret made once for this database and kept in it (every replica reads the same one)."""
    @abstractmethod
    def open_presenter_session(self, id_hash: str, expires_at: float) -> None: ...
    @abstractmethod
    def presenter_session_live(self, id_hash: str, now: float) -> bool: ...
    @abstractmethod
    def revoke_presenter_session(self, id_hash: str) -> None: ...

    # live questions
    @abstractmethod
    def start_question(self, code: str, question_id: str, section: str, time_limit: float) -> LiveQuestion: ...
    @abstractmethod
    def current_question(self, code: str) -> LiveQuestion | None: ...
    @abstractmethod
    def questions(self, code: str) -> list[LiveQuestion]: ...
    @abstractmethod
    def reveal(self, code: str, seq: int) -> None: ...
    @abstractmethod
    def add_answer(self, code: str, seq: int, nickname: str, nickname_key: str, response: Any, correct: bool,
                   elapsed: float, points: int) -> None: ...
    @abstractmethod
    def answers(self, code: str, seq: int | None = None) -> list[dict]: ...
    @abstractmethod
    def rooms(self) -> list[Room]: ...


class _SQLStore(Store):
    """The queries both stores share. Subclasses provide `_write()` (one transaction, yielding an object with
    `execute(sql, args)`), `_read(sql, args)`, `_integrity_error` and `_where()` (the database, for messages)."""

    dialect = ""
    _integrity_error: type[Exception] = Exception
    _migration_lock: str | None = None     # taken first in the migration transaction (PostgreSQL: several replicas)

    @abstractmethod
    def _write(self): ...
    @abstractmethod
    def _read(self, sql: str, args: tuple = ()) -> list: ...
    @abstractmethod
    def _where(self) -> str: ...
    @abstractmethod
    def close(self) -> None: ...

    def schema_version(self) -> int:
        rows = self._read("SELECT version FROM schema_version")
        return rows[0]["version"] if rows else 0

    def migrate(self) -> None:
        with self._write() as conn:
            if self._migration_lock:
                conn.execute(self._migration_lock)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            current = row["version"] if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(f"{self._where()} was written by a newer version of the app "
                                 f"(schema {current}, this app knows {SCHEMA_VERSION})")
            for sql in migrations(self.dialect)[current:]:
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            else:
                conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    # -- self-paced
    def record_attempt(self, learner_key, learner, question_id, section, correct, response):
        with self._write() as conn:
            conn.execute("INSERT INTO attempts (learner, learner_key, question_id, section, correct, response, "
                         "answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (learner, learner_key, question_id, section, int(bool(correct)), json.dumps(response),
                          time.time()))

    def attempts(self, learner_key=None):
        if learner_key is None:
            rows = self._read("SELECT * FROM attempts ORDER BY id")
        else:
            rows = self._read("SELECT * FROM attempts WHERE learner_key = ? ORDER BY id", (learner_key,))
        return [dict(r, response=json.loads(r["response"])) for r in rows]

    # -- RLHF labels
    def record_label(self, labeler_key: str, labeler: str, prompt: str, completions: list[str], ranking: dict,
                     room: str = "") -> None:
        """Keep one ranking; a labeler who ranks the same prompt and completions again replaces the earlier one."""
        texts = json.dumps(list(completions))
        with self._write() as conn:
            conn.execute("DELETE FROM preference_labels WHERE labeler_key = ? AND prompt = ? AND completions = ? "
                         "AND room = ?", (labeler_key, prompt, texts, room))
            conn.execute("INSERT INTO preference_labels (labeler, labeler_key, room, prompt, completions, ranking, "
                         "labelled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (labeler, labeler_key, room, prompt, texts, json.dumps(ranking), time.time()))

    def labels(self, labeler_key: str | None = None, room: str | None = None) -> list[dict]:
        """Rankings, oldest first, as dicts with `completions` (list) and `ranking` (dict) decoded."""
        where, args = [], []
        if labeler_key is not None:
            where.append("labeler_key = ?")
            args.append(labeler_key)
        if room is not None:
            where.append("room = ?")
            args.append(room)
        sql = "SELECT * FROM preference_labels" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [dict(r, completions=json.loads(r["completions"]), ranking=json.loads(r["ranking"]))
                for r in self._read(sql, tuple(args))]

    @staticmethod
    def _round(row) -> LabelingRound:
        return LabelingRound(int(row["id"]), row["room"], row["prompt"], tuple(json.loads(row["completions"])),
                             float(row["opened_at"]), None if row["closed_at"] is None else float(row["closed_at"]))

    def open_round(self, room: str, prompt: str, completions: list[str]) -> LabelingRound:
        now = time.time()
        with self._write() as conn:
            conn.execute("UPDATE labeling_rounds SET closed_at = ? WHERE room = ? AND closed_at IS NULL", (now, room))
            conn.execute("INSERT INTO labeling_rounds (room, prompt, completions, opened_at) VALUES (?, ?, ?, ?)",
                         (room, prompt, json.dumps(list(completions)), now))
        return self.current_round(room)

    def close_round(self, room: str) -> LabelingRound | None:
        current = self.current_round(room)
        if current is None or not current.open:
            return None
        with self._write() as conn:
            conn.execute("UPDATE labeling_rounds SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                         (time.time(), current.id))
        return self.current_round(room)

    def current_round(self, room: str) -> LabelingRound | None:
        rows = self._read("SELECT * FROM labeling_rounds WHERE room = ? ORDER BY id DESC LIMIT 1", (room,))
        return self._round(rows[0]) if rows else None

    # -- rooms
    @staticmethod
    def _room(row) -> Room:
        return Room(row["code"], row["created_at"], row["expires_at"], row["section"], row["phase"], row["version"])

    def create_room(self, code, expires_at, section=""):
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO rooms (code, created_at, expires_at, section) VALUES (?, ?, ?, ?)",
                             (code, time.time(), expires_at, section))
        except self._integrity_error as exc:
            raise AlreadyExists(f"room {code} already exists") from exc
        return self.room(code)

    def room(self, code):
        rows = self._read("SELECT * FROM rooms WHERE code = ?", (code,))
        return self._room(rows[0]) if rows else None

    def rooms(self):
        return [self._room(r) for r in self._read("SELECT * FROM rooms ORDER BY created_at DESC")]

    def update_room(self, code, *, section=None, phase=None):
        with self._write() as conn:
            cur = conn.execute("UPDATE rooms SET section = COALESCE(?, section), phase = COALESCE(?, phase), "
                               "version = version + 1 WHERE code = ?", (section, phase, code))
            if cur.rowcount != 1:
                raise StoreError(f"no room {code}")
        return self.room(code)

    def add_participant(self, code, nickname, nickname_key, seat_hash=""):
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO participants (room, nickname, nickname_key, joined_at, seat_hash) "
                             "VALUES (?, ?, ?, ?, ?)", (code, nickname, nickname_key, time.time(), seat_hash))
        except self._integrity_error as exc:
            raise AlreadyExists(f"the nickname {nickname!r} is taken in room {code}") from exc

    def participants(self, code):
        return [r["nickname"] for r in self._read(
            "SELECT nickname FROM participants WHERE room = ? AND removed = 0 ORDER BY joined_at, nickname", (code,))]

    @staticmethod
    def _seat(row) -> Seat:
        return Seat(row["nickname"], row["seat_hash"], bool(row["removed"]))

    def participant(self, code, nickname_key):
        rows = self._read("SELECT nickname, seat_hash, removed FROM participants WHERE room = ? AND nickname_key = ?",
                          (code, nickname_key))
        return self._seat(rows[0]) if rows else None

    def participant_by_seat(self, code, seat_hash):
        if not seat_hash:
            return None
        rows = self._read("SELECT nickname, seat_hash, removed FROM participants WHERE room = ? AND seat_hash = ? "
                          "ORDER BY removed, joined_at", (code, seat_hash))
        return self._seat(rows[0]) if rows else None

    def remove_participant(self, code, nickname_key):
        with self._write() as conn:
            cur = conn.execute("UPDATE participants SET removed = 1 WHERE room = ? AND nickname_key = ?",
                               (code, nickname_key))
            if cur.rowcount != 1:
                return False
            conn.execute("DELETE FROM live_answers WHERE room = ? AND nickname_key = ?", (code, nickname_key))
            conn.execute("UPDATE rooms SET version = version + 1 WHERE code = ?", (code,))
        return True

    # -- course progress
    def record_progress(self, learner_key, kind, item):
        now = time.time()
        with self._write() as conn:
            conn.execute("INSERT INTO progress (learner_key, kind, item, first_at, last_at) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (learner_key, kind, item) DO UPDATE SET last_at = excluded.last_at",
                         (learner_key, kind, item, now, now))

    def progress(self, learner_key):
        return self._read("SELECT kind, item, first_at, last_at FROM progress WHERE learner_key = ? "
                          "ORDER BY first_at, item", (learner_key,))

    # -- the server's own settings
    def server_secret(self) -> str:
        rows = self._read("SELECT value FROM server_settings WHERE name = 'secret'")
        if rows:
            return rows[0]["value"]
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO server_settings (name, value) VALUES ('secret', ?)", (secrets.token_hex(32),))
        except self._integrity_error:
            pass                    # another replica made it first: read theirs
        return self._read("SELECT value FROM server_settings WHERE name = 'secret'")[0]["value"]

    def open_presenter_session(self, id_hash, expires_at):
        with self._write() as conn:
            conn.execute("INSERT INTO presenter_sessions (id_hash, created_at, expires_at) VALUES (?, ?, ?)",
                         (id_hash, time.time(), expires_at))

    def presenter_session_live(self, id_hash, now):
        rows = self._read("SELECT expires_at, revoked_at FROM presenter_sessions WHERE id_hash = ?", (id_hash,))
        return bool(rows) and rows[0]["revoked_at"] is None and float(rows[0]["expires_at"]) > now

    def revoke_presenter_session(self, id_hash):
        with self._write() as conn:
            conn.execute("UPDATE presenter_sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL",
                         (time.time(), id_hash))

    # -- live questions
    @staticmethod
    def _question(row) -> LiveQuestion:
        return LiveQuestion(row["room"], row["seq"], row["question_id"], row["section"], row["started_at"],
                            row["time_limit"], bool(row["revealed"]))

    def start_question(self, code, question_id, section, time_limit):
        with self._write() as conn:
            # Updating the room first locks its row (PostgreSQL), so two launches cannot pick the same seq;
            # SQLite's BEGIN IMMEDIATE already serialises writers.
            conn.execute("UPDATE rooms SET phase = 'question', version = version + 1 WHERE code = ?", (code,))
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM live_questions WHERE room = ?",
                               (code,)).fetchone()["seq"]
            conn.execute("INSERT INTO live_questions (room, seq, question_id, section, started_at, time_limit) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (code, seq, question_id, section, time.time(), time_limit))
        return self.current_question(code)

    def current_question(self, code):
        rows = self._read("SELECT * FROM live_questions WHERE room = ? ORDER BY seq DESC LIMIT 1", (code,))
        return self._question(rows[0]) if rows else None

    def questions(self, code):
        return [self._question(r) for r in self._read(
            "SELECT * FROM live_questions WHERE room = ? ORDER BY seq", (code,))]

    def reveal(self, code, seq):
        with self._write() as conn:
            conn.execute("UPDATE live_questions SET revealed = 1 WHERE room = ? AND seq = ?", (code, seq))
            conn.execute("UPDATE rooms SET version = version + 1 WHERE code = ?", (code,))

    def add_answer(self, code, seq, nickname, nickname_key, response, correct, elapsed, points):
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO live_answers (room, seq, nickname_key, nickname, response, correct, elapsed, "
                             "points, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (code, seq, nickname_key, nickname, json.dumps(response), int(bool(correct)),
                              float(elapsed), int(points), time.time()))
        except self._integrity_error as exc:
            raise AlreadyExists(f"{nickname} already answered question {seq}") from exc

    def answers(self, code, seq=None):
        if seq is None:
            rows = self._read("SELECT a.*, q.question_id, q.section FROM live_answers a JOIN live_questions q "
                              "ON q.room = a.room AND q.seq = a.seq WHERE a.room = ? ORDER BY a.seq, a.answered_at",
                              (code,))
        else:
            rows = self._read("SELECT a.*, q.question_id, q.section FROM live_answers a JOIN live_questions q "
                              "ON q.room = a.room AND q.seq = a.seq WHERE a.room = ? AND a.seq = ? "
                              "ORDER BY a.answered_at", (code, seq))
        return [dict(r, response=json.loads(r["response"])) for r in rows]


class SQLiteStore(_SQLStore):
    """The store in one SQLite file, for a single app process.

    Streamlit runs every script run and every fragment tick on a new thread, so connections cannot belong to
    threads (one per thread for ever leaked two file descriptors per run: a room of 30 exhausted a 1,024-file limit
    in minutes). Calls borrow one of at most `max_connections` connections and give it back; a caller that finds
    them all lent waits up to `timeout_s`."""

    dialect = "sqlite"
    _integrity_error = sqlite3.IntegrityError

    def __init__(self, path: Path | str, timeout_s: float = 10.0, max_connections: int = 8):
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.path = Path(path).expanduser()
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._idle: list[sqlite3.Connection] = []      # connections not lent out (last returned is lent first)
        self._opened = 0                               # lent + idle
        self._available = threading.Condition()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.migrate()
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise StoreError(f"the quiz database {self.path} cannot be opened: {exc}. "
                             "Set GENAI_LAB_DB to a writable file path.") from exc

    def _where(self) -> str:
        return str(self.path)

    # -- connections and transactions
    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _borrow(self) -> sqlite3.Connection:
        with self._available:
            if not self._available.wait_for(lambda: self._closed or self._idle or self._opened < self.max_connections,
                                            self.timeout_s):
                raise StoreError(f"{self._where()} is busy: all {self.max_connections} connections stayed in use "
                                 f"for {self.timeout_s:g} s")
            if self._closed:
                raise StoreError(f"{self._where()} was closed")
            if self._idle:
                return self._idle.pop()
            self._opened += 1
        try:
            return self._open()
        except BaseException:
            self._give_back(None)
            raise

    def _give_back(self, conn: sqlite3.Connection | None) -> None:
        """Return a borrowed connection; None (or a closed store) closes it and frees its place."""
        with self._available:
            if conn is not None and not self._closed:
                self._idle.append(conn)
            else:
                self._opened -= 1
                if conn is not None:
                    conn.close()
            self._available.notify()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection. Database errors other than a broken uniqueness rule become a StoreError with one
        sentence (a locked file, a full disk, no file descriptors left); the connection is closed then, not reused."""
        try:
            conn = self._borrow()
        except sqlite3.Error as exc:
            raise StoreError(f"{self._where()} cannot be opened: {exc}") from exc
        healthy = False
        try:
            yield conn
            healthy = True
        except sqlite3.IntegrityError:
            healthy = not conn.in_transaction
            raise
        except sqlite3.Error as exc:
            raise StoreError(f"{self._where()} failed: {exc}") from exc
        finally:
            self._give_back(conn if healthy or not conn.in_transaction else None)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock at once, so there are no upgrade deadlocks."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._connection() as conn:
            return conn.execute(sql, args).fetchall()

    def open_connections(self) -> int:
        """Connections this store holds now, lent or idle (never above max_connections)."""
        with self._available:
            return self._opened

    def close(self) -> None:
        """Close the idle connections now and the lent ones as they come back; later calls raise StoreError."""
        with self._available:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._available.notify_all()
        for conn in idle:
            try:
                conn.close()
            except sqlite3.Error:
                pass


class _QmarkToPyformat:
    """Lets the shared `?` SQL run on psycopg, which expects `%s` (the shared SQL has no literal ? or %)."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str, args: tuple = ()):
        return self.conn.execute(sql.replace("?", "%s"), args)


class PostgresStore(_SQLStore):
    """The same store on PostgreSQL, for several app replicas sharing one state.

    Each call borrows a connection from a `psycopg_pool.ConnectionPool` (autocommit for reads,
    `conn.transaction()` for writes) and gives it back, so Streamlit's short-lived script threads do not each keep
    a server connection open. The pool checks a connection before lending it and replaces broken ones.
    """

    dialect = "postgres"
    _migration_lock = "SELECT pg_advisory_xact_lock(60611)"   # any constant; only this app's migrations take it

    def __init__(self, url: str, *, max_connections: int = 20, connect_timeout_s: int = 5, wait_s: float = 30.0):
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise StoreError("GENAI_LAB_DATABASE_URL points to PostgreSQL, but the psycopg package is not installed: "
                             "run `pip install -r requirements.txt`, or unset GENAI_LAB_DATABASE_URL to use a local "
                             "SQLite file.") from exc
        try:
            from psycopg_pool import ConnectionPool, PoolTimeout
        except ImportError as exc:
            raise StoreError("GENAI_LAB_DATABASE_URL points to PostgreSQL, but the psycopg-pool package is not "
                             "installed: run `pip install -r requirements.txt`, or unset GENAI_LAB_DATABASE_URL to "
                             "use a local SQLite file.") from exc
        self._pg, self._dict_row, self._pool_timeout = psycopg, dict_row, PoolTimeout
        self._integrity_error = psycopg.IntegrityError
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        self.wait_s = wait_s
        self.max_connections = max_connections
        try:
            info = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(f"GENAI_LAB_DATABASE_URL is not a valid PostgreSQL URL ({exc}); "
                             "expected postgresql://user:password@host:5432/dbname") from exc
        # For messages: never show the password.
        self.description = (f"{info.get('user') or 'default user'}@{info.get('host') or 'localhost'}:"
                            f"{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}")
        self._connect().close()     # fail fast, with the server's own reason, when it cannot be reached
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max_connections, timeout=wait_s, open=True, name="genai-lab",
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": connect_timeout_s,
                    "application_name": "genai-lab"},
            check=ConnectionPool.check_connection)
        try:
            self.migrate()
        except BaseException:
            self._pool.close()
            raise

    def _where(self) -> str:
        return f"the PostgreSQL database {self.description}"

    # -- connections and transactions
    def _connect(self):
        try:
            return self._pg.connect(self.url, autocommit=True, row_factory=self._dict_row,
                                    connect_timeout=self.connect_timeout_s, application_name="genai-lab")
        except self._pg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot connect to {self._where()} (GENAI_LAB_DATABASE_URL): {reason}. Check that "
                             "the server is running and the URL's host, port, user, password and database are "
                             "right, or unset GENAI_LAB_DATABASE_URL to use a local SQLite file.") from exc

    @contextmanager
    def _connection(self):
        """Borrow a connection from the pool; non-integrity database errors become StoreError (a clear message,
        no traceback). The pool rolls back what a failed block left open and replaces broken connections."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._integrity_error:
            raise
        except self._pool_timeout as exc:
            raise StoreError(f"no connection to {self._where()} within {self.wait_s:g} s: all "
                             f"{self.max_connections} were busy, or the server cannot be reached") from exc
        except self._pg.Error as exc:
            raise StoreError(f"{self._where()} failed: {str(exc).strip().splitlines()[0]}") from exc

    @contextmanager
    def _write(self):
        with self._connection() as conn, conn.transaction():
            yield _QmarkToPyformat(conn)

    def _read(self, sql: str, args: tuple = ()) -> list[dict]:
        try:
            with self._connection() as conn:
                return _QmarkToPyformat(conn).execute(sql, args).fetchall()
        except StoreError as exc:
            # A connection may die between the pool's check and the query (a server restart): the pool drops it,
            # and a read is safe to retry once on another.
            if not isinstance(exc.__cause__, self._pg.OperationalError) or isinstance(exc.__cause__, self._pool_timeout):
                raise
            with self._connection() as conn:
                return _QmarkToPyformat(conn).execute(sql, args).fetchall()

    def pool_size(self) -> int:
        """Connections the pool holds now, lent or idle (never above max_connections)."""
        return self._pool.get_stats()["pool_size"]

    def close(self) -> None:
        self._pool.close()


def database_url(env: dict[str, str] | None = None) -> str:
    """The configured database as a URL (GENAI_LAB_DATABASE_URL, else GENAI_LAB_DB, else the cache folder)."""
    env = dict(os.environ if env is None else env)
    if env.get("GENAI_LAB_DATABASE_URL", "").strip():
        return env["GENAI_LAB_DATABASE_URL"].strip()
    path = env.get("GENAI_LAB_DB", "").strip()
    if not path:
        path = str(Settings.from_env(env).cache_dir / "genai-lab.sqlite3")
    return "sqlite:///" + str(Path(path).expanduser())


def open_store(url: str) -> Store:
    """The store for a database URL; raises StoreError with a message for the UI when it cannot be opened."""
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    raise StoreError(f"unsupported database URL {url.split(':')[0]!r}: use sqlite:///path (or set GENAI_LAB_DB)")
