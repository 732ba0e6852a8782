"""The database's schema: one list of migrations, each upgrading the schema by one version, shared by SQLite and
PostgreSQL. `core/storage/database.py` applies the ones a database lacks when it opens it (the `schema_version` table
holds how many it has), so an existing database keeps its rows and gains the new tables.

Every domain's tables are here, in the order they shipped, because a migration's number is its place in this list:
moving one to its domain's module would renumber the rest and break every database already deployed.
"""
from __future__ import annotations

# Each entry upgrades the schema by one version; never edit an entry that has shipped, append a new one.
# {serial_pk}, {real} and {blob} are the only dialect differences; `migrations(dialect)` fills them in.
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
    # 8: a workshop room's training runs as the replica that runs them publishes them (core/workshop/room_runs.py),
    # so participants on every replica follow the presenter's run; and the completions sampled for RLHF labeling
    # (core/labs/rlhf/completions.py), once per prompt for the whole deployment
    """
    CREATE TABLE room_runs (
        id TEXT PRIMARY KEY,
        room TEXT NOT NULL,
        kind TEXT NOT NULL,
        owner TEXT NOT NULL,
        who TEXT NOT NULL,
        title TEXT NOT NULL,
        private INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        position INTEGER NOT NULL,
        progress {blob},
        result {blob},
        error TEXT,
        cancel_reason TEXT,
        submitted_at {real} NOT NULL,
        started_at {real},
        finished_at {real},
        version INTEGER NOT NULL,
        replica TEXT NOT NULL,
        updated_at {real} NOT NULL,
        viewed_at {real}
    );
    CREATE INDEX room_runs_by_room ON room_runs(room, kind, submitted_at);
    CREATE TABLE sampled_completions (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        prompt TEXT NOT NULL,
        n INTEGER NOT NULL,
        max_new_tokens INTEGER NOT NULL,
        completions TEXT NOT NULL,
        sampled_at {real} NOT NULL
    );
    """,
]
DIALECT_TYPES = {
    "sqlite": {"serial_pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "blob": "BLOB"},
    # PostgreSQL's REAL is 4 bytes (~2 minutes of resolution for a Unix time): timestamps need DOUBLE PRECISION.
    "postgres": {"serial_pk": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "real": "DOUBLE PRECISION",
                 "blob": "BYTEA"},
}


def migrations(dialect: str) -> list[str]:
    return [template.format(**DIALECT_TYPES[dialect]) for template in MIGRATION_TEMPLATES]


MIGRATIONS: list[str] = migrations("sqlite")     # the SQLite text, exactly as shipped
SCHEMA_VERSION = len(MIGRATIONS)
