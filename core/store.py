"""Persistent state for quizzes and workshops, behind a small interface.

Settings (environment variables):
- GENAI_LAB_DB            path of the SQLite file (default: <cache dir>/genai-lab.sqlite3, see core/settings.py)
- GENAI_LAB_DATABASE_URL  a database URL; overrides GENAI_LAB_DB. `sqlite:///relative.db` or
                          `sqlite:////absolute/path.db` work. `postgresql://...` is the intended setting when
                          several app replicas must share one state: the interface below is all the app uses and
                          the SQL is plain, but a PostgreSQL implementation is NOT included in this version —
                          `open_store` says so instead of silently falling back to a local file.

SQLite runs in WAL mode (readers never block the writer), every write is one transaction (BEGIN IMMEDIATE),
and the schema is created and migrated on open from the `schema_version` table. Each thread gets its own
connection, so one store object is safe to share across Streamlit sessions.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from core.settings import Settings


class StoreError(RuntimeError):
    """The database cannot be opened or used; the message says what to change."""


class AlreadyExists(StoreError):
    """A unique row (room code, nickname, answer) is already there."""


# Each entry upgrades the schema by one version; never edit an entry that has shipped, append a new one.
MIGRATIONS: list[str] = [
    # 1: self-paced quiz attempts
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        learner TEXT NOT NULL,
        learner_key TEXT NOT NULL,
        question_id TEXT NOT NULL,
        section TEXT NOT NULL,
        correct INTEGER NOT NULL,
        response TEXT NOT NULL,
        answered_at REAL NOT NULL
    );
    CREATE INDEX attempts_by_learner ON attempts(learner_key, section);
    """,
    # 2: workshop rooms, participants, live questions and answers
    """
    CREATE TABLE rooms (
        code TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        section TEXT NOT NULL DEFAULT '',
        phase TEXT NOT NULL DEFAULT 'lobby',
        version INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE participants (
        room TEXT NOT NULL REFERENCES rooms(code),
        nickname TEXT NOT NULL,
        nickname_key TEXT NOT NULL,
        joined_at REAL NOT NULL,
        PRIMARY KEY (room, nickname_key)
    );
    CREATE TABLE live_questions (
        room TEXT NOT NULL REFERENCES rooms(code),
        seq INTEGER NOT NULL,
        question_id TEXT NOT NULL,
        section TEXT NOT NULL,
        started_at REAL NOT NULL,
        time_limit REAL NOT NULL,
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
        elapsed REAL NOT NULL,
        points INTEGER NOT NULL,
        answered_at REAL NOT NULL,
        PRIMARY KEY (room, seq, nickname_key),
        FOREIGN KEY (room, seq) REFERENCES live_questions(room, seq)
    );
    """,
]
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
class LiveQuestion:
    room: str
    seq: int              # 1, 2, 3 ... within the room
    question_id: str
    section: str
    started_at: float
    time_limit: float
    revealed: bool


class Store(ABC):
    """Everything the app persists. Implementations must be safe to call from many threads."""

    # self-paced quizzes
    @abstractmethod
    def record_attempt(self, learner: str, question_id: str, section: str, correct: bool, response: Any) -> None: ...
    @abstractmethod
    def attempts(self, learner: str | None = None) -> list[dict]: ...

    # rooms
    @abstractmethod
    def create_room(self, code: str, expires_at: float, section: str = "") -> Room: ...
    @abstractmethod
    def room(self, code: str) -> Room | None: ...
    @abstractmethod
    def update_room(self, code: str, *, section: str | None = None, phase: str | None = None) -> Room: ...
    @abstractmethod
    def add_participant(self, code: str, nickname: str, nickname_key: str) -> None: ...
    @abstractmethod
    def participants(self, code: str) -> list[str]: ...

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


class SQLiteStore(Store):
    def __init__(self, path: Path | str, timeout_s: float = 10.0):
        self.path = Path(path).expanduser()
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"the quiz database {self.path} cannot be opened: {exc}. "
                             "Set GENAI_LAB_DB to a writable file path.") from exc

    # -- connections and transactions
    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock at once, so there are no upgrade deadlocks."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, args).fetchall()

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    def schema_version(self) -> int:
        rows = self._read("SELECT version FROM schema_version")
        return rows[0]["version"] if rows else 0

    def migrate(self) -> None:
        with self._write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            current = row[0] if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer version of the app "
                                 f"(schema {current}, this app knows {SCHEMA_VERSION})")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version - 1].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            else:
                conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    # -- self-paced
    def record_attempt(self, learner, question_id, section, correct, response):
        with self._write() as conn:
            conn.execute("INSERT INTO attempts (learner, learner_key, question_id, section, correct, response, "
                         "answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (learner, learner.casefold(), question_id, section, int(bool(correct)),
                          json.dumps(response), time.time()))

    def attempts(self, learner=None):
        if learner is None:
            rows = self._read("SELECT * FROM attempts ORDER BY id")
        else:
            rows = self._read("SELECT * FROM attempts WHERE learner_key = ? ORDER BY id", (learner.casefold(),))
        return [dict(r, response=json.loads(r["response"])) for r in rows]

    # -- rooms
    @staticmethod
    def _room(row) -> Room:
        return Room(row["code"], row["created_at"], row["expires_at"], row["section"], row["phase"], row["version"])

    def create_room(self, code, expires_at, section=""):
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO rooms (code, created_at, expires_at, section) VALUES (?, ?, ?, ?)",
                             (code, time.time(), expires_at, section))
        except sqlite3.IntegrityError as exc:
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

    def add_participant(self, code, nickname, nickname_key):
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO participants (room, nickname, nickname_key, joined_at) VALUES (?, ?, ?, ?)",
                             (code, nickname, nickname_key, time.time()))
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"the nickname {nickname!r} is taken in room {code}") from exc

    def participants(self, code):
        return [r["nickname"] for r in self._read(
            "SELECT nickname FROM participants WHERE room = ? ORDER BY joined_at, nickname", (code,))]

    # -- live questions
    @staticmethod
    def _question(row) -> LiveQuestion:
        return LiveQuestion(row["room"], row["seq"], row["question_id"], row["section"], row["started_at"],
                            row["time_limit"], bool(row["revealed"]))

    def start_question(self, code, question_id, section, time_limit):
        with self._write() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM live_questions WHERE room = ?",
                               (code,)).fetchone()[0]
            conn.execute("INSERT INTO live_questions (room, seq, question_id, section, started_at, time_limit) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (code, seq, question_id, section, time.time(), time_limit))
            conn.execute("UPDATE rooms SET phase = 'question', version = version + 1 WHERE code = ?", (code,))
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
        except sqlite3.IntegrityError as exc:
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
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        raise StoreError("GENAI_LAB_DATABASE_URL points to PostgreSQL, but this version ships only the SQLite store. "
                         "Unset it to use a local SQLite file (GENAI_LAB_DB), or add a PostgreSQL implementation of "
                         "core.store.Store.")
    raise StoreError(f"unsupported database URL {url.split(':')[0]!r}: use sqlite:///path (or set GENAI_LAB_DB)")
