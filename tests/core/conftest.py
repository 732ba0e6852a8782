"""A throwaway PostgreSQL server for the database and repository tests (tests/core/storage/, the repositories' tests
in tests/core/workshop/, tests/core/labs/rlhf/test_labels.py, tests/core/test_progress.py).

`postgres_server_url` (session): GENAI_LAB_TEST_POSTGRES_URL when set (an existing server; the tests create and
drop their own schemas there), else a temporary cluster made with initdb in a temp folder, listening on a free
127.0.0.1 port with its unix socket in that folder, stopped and deleted at the end. PostgreSQL refuses to run as
root, so as root the cluster runs as the `postgres` system user (created with useradd when missing).
Without the binaries, psycopg or a startable cluster, the tests that need it SKIP and say why.

`postgres_url` (function): the server URL with a fresh schema as search_path, so each test starts empty.

`open_db` (function, SQLite and PostgreSQL): opens this test's database, the same one on every call, so a test can
reopen it as a restarted app would; `db` is one opened database.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

PG_USER = "postgres"


def _pg_bin(name: str) -> str | None:
    candidates = [shutil.which(name), f"/usr/local/bin/{name}",
                  *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _server_user() -> str | None:
    """The account the server runs as: ourselves, or as root the `postgres` system user (created when missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True, timeout=30)
    return PG_USER


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"] + [("options", f"-csearch_path={schema}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _start_cluster():
    """Yields the URL of a fresh temporary cluster; raises RuntimeError with the reason when it cannot start."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    user = _server_user()
    # As root the folder must be reachable by the server's user: /tmp, not a private TMPDIR.
    root = Path(tempfile.mkdtemp(prefix="genai-lab-pg-", dir="/tmp" if user and os.path.isdir("/tmp") else None))
    data, log = root / "data", root / "server.log"
    if user:
        shutil.chown(root, user)
    run = dict(user=user, cwd=root, capture_output=True, text=True, timeout=120)
    started = False
    try:
        done = subprocess.run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                               "--locale=C", "--no-sync"], **run)
        if done.returncode:
            raise RuntimeError(f"initdb failed: {(done.stderr or done.stdout).strip()[-300:]}")
        for _ in range(3):                       # another process may grab the free port in between
            port = _free_port()
            options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            done = subprocess.run([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
                                  **run)
            if done.returncode == 0:
                started = True
                break
        if not started:
            tail = log.read_text(errors="replace").strip()[-300:] if log.exists() else done.stderr.strip()[-300:]
            raise RuntimeError(f"pg_ctl start failed: {tail}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], **run)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url():
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements.txt)")
    existing = os.environ.get("GENAI_LAB_TEST_POSTGRES_URL", "").strip()
    if existing:
        try:
            psycopg.connect(existing, connect_timeout=5).close()
        except psycopg.Error as exc:
            pytest.skip(f"GENAI_LAB_TEST_POSTGRES_URL is set but unreachable: {str(exc).splitlines()[0]}")
        yield existing
        return
    cluster = _start_cluster()
    try:
        url = next(cluster)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"no PostgreSQL to test against ({exc}); set GENAI_LAB_TEST_POSTGRES_URL to use a running server")
    yield url
    cluster.close()


@pytest.fixture
def postgres_url(postgres_server_url):
    """The server with a fresh, empty schema as search_path (dropped afterwards)."""
    import psycopg

    schema = f"genai_lab_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    yield _with_search_path(postgres_server_url, schema)
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def open_db(request, tmp_path):
    """Opens a database on this test's data (the same one each call, so reopening sees the data), on SQLite and on
    PostgreSQL (skipped where no server can start); every database opened is closed at the end."""
    from core.storage.database import PostgresDatabase, SQLiteDatabase

    if request.param == "sqlite":
        def opener():
            return SQLiteDatabase(tmp_path / "quiz.db")
    else:
        url = request.getfixturevalue("postgres_url")

        def opener():
            return PostgresDatabase(url)
    opened = []
    yield lambda: opened.append(opener()) or opened[-1]
    for db in opened:
        db.close()


@pytest.fixture
def db(open_db):
    return open_db()
