"""A throwaway PostgreSQL cluster: initdb into a temporary folder, pg_ctl start on a free 127.0.0.1 port with the
unix socket in that folder, pg_ctl stop and delete. Used by the database tests (tests/core/conftest.py) and by the
local cluster (deploy/local_cluster.py).

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user (created with useradd
when missing) and its folder lives in /tmp, where that user can reach it.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_USER = "postgres"


def pg_bin(name: str) -> str | None:
    """The path of a PostgreSQL server binary (initdb, pg_ctl): on PATH, /usr/local/bin or Debian's versioned folder."""
    candidates = [shutil.which(name), f"/usr/local/bin/{name}",
                  *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def server_user() -> str | None:
    """The account the server runs as: ourselves (None), or as root the `postgres` system user (created when
    missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True, timeout=30)
    return PG_USER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TempPostgres:
    """A running throwaway cluster; `stop()` stops it and deletes its folder."""
    root: Path            # the folder holding data/, server.log and the unix socket
    port: int
    pg_ctl: str
    user: str | None      # the account it runs as (None: this process's)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pid(self) -> int | None:
        """The postmaster's pid (first line of data/postmaster.pid), None when it is not running."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"], user=self.user,
                           cwd=self.root, capture_output=True, text=True, timeout=120)
        shutil.rmtree(self.root, ignore_errors=True)


def start(parent: str | Path | None = None, max_connections: int = 200) -> TempPostgres:
    """Start a fresh cluster in a new folder under `parent` (as root always under /tmp); RuntimeError with the
    reason when it cannot start (nothing is left behind then)."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    user = server_user()
    # As root the folder must be reachable by the server's user: /tmp, not a private TMPDIR or a home folder.
    where = "/tmp" if user and os.path.isdir("/tmp") else parent
    root = Path(tempfile.mkdtemp(prefix="genai-lab-pg-", dir=where))
    if user:
        shutil.chown(root, user)
    cluster = TempPostgres(root=root, port=0, pg_ctl=pg_ctl, user=user)
    run = dict(user=user, cwd=root, capture_output=True, text=True, timeout=120)
    try:
        done = subprocess.run([initdb, "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                               "--locale=C", "--no-sync"], **run)
        if done.returncode:
            raise RuntimeError(f"initdb failed: {(done.stderr or done.stdout).strip()[-300:]}")
        for _ in range(3):                       # another process may grab the free port in between
            cluster.port = free_port()
            options = (f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections}")
            done = subprocess.run([pg_ctl, "-D", str(cluster.data), "-l", str(cluster.log), "-o", options,
                                   "-w", "-t", "60", "start"], **run)
            if done.returncode == 0:
                return cluster
        log = cluster.log
        tail = log.read_text(errors="replace").strip()[-300:] if log.exists() else done.stderr.strip()[-300:]
        raise RuntimeError(f"pg_ctl start failed: {tail}")
    except BaseException:
        cluster.stop()
        raise
