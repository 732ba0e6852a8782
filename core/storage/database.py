"""The app's database: connections, the SQLite and PostgreSQL dialects, the connection pools and the schema's
migrations (core/storage/migrations.py), and nothing about what is stored. The repositories that know the tables
live with the domain that owns them (core/workshop/rooms.py, core/workshop/attempts.py, core/labs/rlhf/labels.py,
core/progress.py, ...), each over one shared `Database`.

Settings (environment variables):
- GENAI_LAB_DB            path of the SQLite file (default: <cache dir>/genai-lab.sqlite3, see core/serving/settings.py)
- GENAI_LAB_DATABASE_URL  a database URL; overrides GENAI_LAB_DB. `sqlite:///relative.db` or
                          `sqlite:////absolute/path.db` use SQLite; `postgresql://user:password@host:5432/dbname`
                          (or `postgres://`) uses PostgreSQL, the setting for several app replicas sharing one state.
                          PostgreSQL needs the `psycopg` package (in requirements.txt, imported only when used); if
                          the server cannot be reached, `open_database` raises a StoreError saying so (password hidden).

Both dialects run the same SQL: one list of migrations rendered per dialect (type names) and `?` placeholders, which
the PostgreSQL database turns into `%s`. Uniqueness lives in the schema, every write is one transaction
(`write()`), and the schema is created and migrated on open from the `schema_version` table.
SQLite runs in WAL mode (readers never block the writer), writes use BEGIN IMMEDIATE, and every call borrows one
of a few pooled connections and gives it back. PostgreSQL lends each call a connection from a
psycopg_pool.ConnectionPool (at most `max_connections` open, each checked before use so one lost with a server restart
is replaced), serialises migrations across replicas with an advisory lock, and a repository that locks a row first
(UPDATE) in a write serialises writers on it. Either database object is safe to share across Streamlit sessions.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.serving.settings import Settings
from core.storage.migrations import SCHEMA_VERSION, migrations


class StoreError(RuntimeError):
    """The database cannot be opened or used; the message says what to change."""


class AlreadyExists(StoreError):
    """A unique row (room code, nickname, answer) is already there."""


class Database(ABC):
    """One database, shared by every repository. Subclasses provide `write()` (one transaction, yielding an object
    with `execute(sql, args)`), `read(sql, args)`, `integrity_error` (what a broken uniqueness rule raises: a
    repository turns it into AlreadyExists) and `_where()` (the database, for messages).
    Implementations must be safe to call from many threads."""

    dialect = ""
    integrity_error: type[Exception] = Exception
    _migration_lock: str | None = None     # taken first in the migration transaction (PostgreSQL: several replicas)

    @abstractmethod
    def write(self):
        """A context manager: one transaction, committed when the block ends, rolled back when it raises."""
    @abstractmethod
    def read(self, sql: str, args: tuple = ()) -> list:
        """The rows of one query (each indexable by column name)."""
    @abstractmethod
    def _where(self) -> str: ...
    @abstractmethod
    def close(self) -> None: ...

    def schema_version(self) -> int:
        rows = self.read("SELECT version FROM schema_version")
        return rows[0]["version"] if rows else 0

    def migrate(self) -> None:
        with self.write() as conn:
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


class SQLiteDatabase(Database):
    """The database in one SQLite file, for a single app process.

    Streamlit runs every script run and every fragment tick on a new thread, so connections cannot belong to
    threads (one per thread for ever leaked two file descriptors per run: a room of 30 exhausted a 1,024-file limit
    in minutes). Calls borrow one of at most `max_connections` connections and give it back; a caller that finds
    them all lent waits up to `timeout_s`."""

    dialect = "sqlite"
    integrity_error = sqlite3.IntegrityError

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
        """Return a borrowed connection; None (or a closed database) closes it and frees its place."""
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
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock at once, so there are no upgrade deadlocks."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._connection() as conn:
            return conn.execute(sql, args).fetchall()

    def open_connections(self) -> int:
        """Connections this database holds now, lent or idle (never above max_connections)."""
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


class PostgresDatabase(Database):
    """The same database on PostgreSQL, for several app replicas sharing one state.

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
        self._pool_class, self._swap_lock = ConnectionPool, threading.Lock()
        self.integrity_error = psycopg.IntegrityError
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
        self._pool = self._new_pool()
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

    def _new_pool(self):
        return self._pool_class(
            self.url, min_size=1, max_size=self.max_connections, timeout=self.wait_s, open=True, name="genai-lab",
            kwargs={"autocommit": True, "row_factory": self._dict_row, "connect_timeout": self.connect_timeout_s,
                    "application_name": "genai-lab"},
            check=self._pool_class.check_connection)

    def _busy(self, exc: BaseException) -> StoreError:
        return StoreError(f"no connection to {self._where()} within {self.wait_s:g} s: all "
                          f"{self.max_connections} were busy, or the server cannot be reached")

    def _recover(self, pool):
        """The pool gave no connection in time. Either every connection is lent (a busy room: say so), or the
        server was down and the pool is still waiting out its reconnection backoff (it doubles the wait after each
        failed try, up to minutes), although the server is back. Then a fresh pool replaces it at once, so a
        PostgreSQL restart costs the room seconds, not the rest of the backoff. Returns (pool, connection)."""
        self._connect().close()              # StoreError, with the server's reason, while it is still down
        with self._swap_lock:
            if self._pool is pool:
                if pool.get_stats().get("pool_size", 0) >= self.max_connections:
                    raise self._busy(None)   # the server answers and every connection is lent: a busy room
                self._pool = self._new_pool()
                threading.Thread(target=pool.close, kwargs={"timeout": 1.0}, daemon=True,
                                 name="genai-lab-old-pool").start()
            pool = self._pool
        try:
            return pool, pool.getconn()
        except self._pool_timeout as exc:
            raise self._busy(exc) from exc

    @contextmanager
    def _connection(self):
        """Borrow a connection from the pool; non-integrity database errors become StoreError (a clear message,
        no traceback). The pool rolls back what a failed block left open and replaces broken connections."""
        pool = self._pool
        try:
            try:
                conn = pool.getconn()
            except self._pool_timeout:
                pool, conn = self._recover(pool)
        except self._pg.Error as exc:
            raise StoreError(f"{self._where()} failed: {str(exc).strip().splitlines()[0]}") from exc
        try:
            yield conn
        except self.integrity_error:
            raise
        except self._pg.Error as exc:
            raise StoreError(f"{self._where()} failed: {str(exc).strip().splitlines()[0]}") from exc
        finally:
            pool.putconn(conn)

    @contextmanager
    def write(self):
        with self._connection() as conn, conn.transaction():
            yield _QmarkToPyformat(conn)

    def read(self, sql: str, args: tuple = ()) -> list[dict]:
        try:
            with self._connection() as conn:
                return _QmarkToPyformat(conn).execute(sql, args).fetchall()
        except StoreError as exc:
            # A connection may die between the pool's check and the query (a server restart): the pool drops it,
            # and a read is safe to retry once on another.
            cause = exc.__cause__
            if not isinstance(cause, self._pg.OperationalError) or isinstance(cause, self._pool_timeout):
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


def open_database(url: str) -> Database:
    """The database for a URL, its schema created or migrated; raises StoreError with a message for the UI when it
    cannot be opened."""
    if url.startswith("sqlite:///"):
        return SQLiteDatabase(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    raise StoreError(f"unsupported database URL {url.split(':')[0]!r}: use sqlite:///path (or set GENAI_LAB_DB)")
