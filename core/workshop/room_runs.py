"""A workshop room's training runs in the app's database, so that participants on every replica follow the
presenter's run (page 7's race and adapters, page 9's policy update, page 10's distillation).

The app runs as several server processes (replicas) behind one address, sharing one database; a room's participants
land on different replicas, but a run executes in the one process whose queue (core/serving/jobs.py) took it. That
replica *publishes* the run: `RunPublisher` is the job's listener; it writes a row per run (the job's snapshot:
state, place in the queue, progress, result, error) whenever the state changes and at most every
`progress_every_s` for progress, from a thread of its own, so a slow or absent database never holds the training
thread, and a failed write is logged and tried again. Every `heartbeat_s` it marks its unfinished runs as alive
(`updated_at`) and reads their `viewed_at`: a run that participants on other replicas are watching counts as watched
here too (`job.touch()`), so it is not cancelled as abandoned.

Other replicas *follow* it: `RoomRuns.newest(room, kind)` reads the newest published run of a kind, and
`FollowedRun` wraps it in what the panels already use (`snapshot()`, `touch()`, `cancel()`): `touch()` records that
someone watches (`viewed_at`, written at most every `ViewMarks.every_s` per run and process), `cancel()` refuses
(only the executing replica cancels), and an unfinished run whose replica stopped writing for `stopped_after_s`
reads as failed with `STOPPED`.

Progress and results are lab objects (dataclasses with lists and numpy arrays), stored with pickle. Only this app
writes the table (the replicas of one deployment, running the same code), so loading them runs no foreign data;
never point two different apps at one database. A payload larger than MAX_PAYLOAD_BYTES is not stored (the last
stored one stays), and only the newest KEEP_FINISHED finished runs of a room are kept.
"""
from __future__ import annotations

import logging
import math
import os
import pickle
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from core.serving.jobs import FAILED, FINISHED_STATES, Job, JobSnapshot
from core.storage.database import Database

log = logging.getLogger("genai_lab")

KEEP_FINISHED = 20                 # finished runs kept per room (older ones are deleted when a run finishes)
MAX_PAYLOAD_BYTES = 4_000_000      # a pickled progress or result above this is not stored
STOPPED_AFTER_S = 60.0             # an unfinished run not written for this long: its replica stopped
STOPPED = "The replica running this run stopped; the presenter can start it again."

_COLUMNS = ("id", "room", "kind", "owner", "who", "title", "private", "state", "position", "progress", "result",
            "error", "cancel_reason", "submitted_at", "started_at", "finished_at", "version", "replica",
            "updated_at")
_UPDATED = ("state", "position", "error", "cancel_reason", "started_at", "finished_at", "version", "replica",
            "updated_at")
_FINISHED = tuple(sorted(FINISHED_STATES))


def replica_name() -> str:
    """This process as the table names it: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dump(value: Any, what: str, run_id: str) -> bytes | None:
    """The pickled value, or None (logged) when it cannot be pickled or is larger than MAX_PAYLOAD_BYTES."""
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:                                    # noqa: BLE001 — an odd object must not stop publishing
        log.exception("The %s of run %s cannot be stored", what, run_id)
        return None
    if len(data) > MAX_PAYLOAD_BYTES:
        log.warning("The %s of run %s is %d bytes, above %d: not stored", what, run_id, len(data), MAX_PAYLOAD_BYTES)
        return None
    return data


def _load(data: Any) -> Any:
    return None if data is None else pickle.loads(bytes(data))     # noqa: S301 — written only by this app


def encode(snap: JobSnapshot, replica: str, now: float | None = None) -> dict[str, Any]:
    """A snapshot as the row `RoomRuns.write` stores (pickled here, on the caller's thread)."""
    return {"id": snap.id, "room": snap.room, "kind": snap.kind, "owner": snap.owner, "who": snap.who,
            "title": snap.title, "private": int(snap.private), "state": snap.state, "position": snap.position,
            "progress": _dump(dict(snap.progress), "progress", snap.id),
            "result": None if snap.result is None else _dump(snap.result, "result", snap.id),
            "error": snap.error, "cancel_reason": snap.cancel_reason, "submitted_at": snap.submitted_at,
            "started_at": snap.started_at, "finished_at": snap.finished_at, "version": snap.version,
            "replica": replica, "updated_at": time.time() if now is None else now}


@dataclass(frozen=True)
class PublishedRun:
    """One row of room_runs: the run as its replica last published it."""
    snapshot: JobSnapshot
    replica: str
    updated_at: float
    viewed_at: float | None


class RoomRuns:
    """The table room_runs."""

    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def _run(row) -> PublishedRun:
        progress = _load(row["progress"])
        snap = JobSnapshot(
            id=row["id"], owner=row["owner"], title=row["title"], kind=row["kind"], room=row["room"],
            private=bool(row["private"]), who=row["who"], state=row["state"],
            progress=progress if isinstance(progress, dict) else {}, result=_load(row["result"]),
            error=row["error"], cancel_reason=row["cancel_reason"], submitted_at=float(row["submitted_at"]),
            started_at=None if row["started_at"] is None else float(row["started_at"]),
            finished_at=None if row["finished_at"] is None else float(row["finished_at"]),
            position=int(row["position"]), version=int(row["version"]))
        return PublishedRun(snap, row["replica"], float(row["updated_at"]),
                            None if row["viewed_at"] is None else float(row["viewed_at"]))

    def publish(self, snap: JobSnapshot, replica: str, now: float | None = None) -> None:
        """Store this snapshot of a run (see `write`)."""
        self.write(encode(snap, replica, now))

    def write(self, row: dict[str, Any]) -> None:
        """Insert or update a run from `encode`'s row. An older version never replaces a newer one; a payload that
        could not be stored (None) keeps the one stored before. A finished run prunes its room's finished runs to
        the newest KEEP_FINISHED."""
        if not row["room"]:
            raise ValueError("only a room's runs are published")
        sets = ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO room_runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
                f"ON CONFLICT (id) DO UPDATE SET {sets}, "
                "progress = COALESCE(excluded.progress, room_runs.progress), "
                "result = COALESCE(excluded.result, room_runs.result) "
                "WHERE room_runs.version <= excluded.version",
                tuple(row[c] for c in _COLUMNS))
            if row["state"] in FINISHED_STATES:
                marks = ", ".join("?" for _ in _FINISHED)
                conn.execute(
                    f"DELETE FROM room_runs WHERE room = ? AND state IN ({marks}) AND id NOT IN "
                    f"(SELECT id FROM room_runs WHERE room = ? AND state IN ({marks}) "
                    "ORDER BY submitted_at DESC LIMIT ?)",
                    (row["room"], *_FINISHED, row["room"], *_FINISHED, KEEP_FINISHED))

    def beat(self, ids: list[str], now: float | None = None) -> dict[str, float | None]:
        """The executing replica's heartbeat: these runs are alive (`updated_at` = now). Returns each one's
        `viewed_at` (when a follower last looked)."""
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        with self.db.write() as conn:
            conn.execute(f"UPDATE room_runs SET updated_at = ? WHERE id IN ({marks})",
                         (time.time() if now is None else now, *ids))
        rows = self.db.read(f"SELECT id, viewed_at FROM room_runs WHERE id IN ({marks})", tuple(ids))
        return {row["id"]: None if row["viewed_at"] is None else float(row["viewed_at"]) for row in rows}

    def viewed(self, run_id: str, now: float | None = None) -> None:
        """A follower on some replica is looking at this run."""
        with self.db.write() as conn:
            conn.execute("UPDATE room_runs SET viewed_at = ? WHERE id = ?",
                         (time.time() if now is None else now, run_id))

    def get(self, run_id: str) -> PublishedRun | None:
        rows = self.db.read("SELECT * FROM room_runs WHERE id = ?", (run_id,))
        return self._run(rows[0]) if rows else None

    def newest(self, room: str, kind: str) -> PublishedRun | None:
        """The room's most recently submitted run of `kind`, in any state, or None."""
        rows = self.db.read("SELECT * FROM room_runs WHERE room = ? AND kind = ? "
                            "ORDER BY submitted_at DESC, id DESC LIMIT 1", (room, kind))
        return self._run(rows[0]) if rows else None

    def finished(self, room: str, kind: str) -> list[PublishedRun]:
        """The room's finished runs of `kind` still kept, oldest first."""
        marks = ", ".join("?" for _ in _FINISHED)
        rows = self.db.read(f"SELECT * FROM room_runs WHERE room = ? AND kind = ? AND state IN ({marks}) "
                            "ORDER BY submitted_at, id", (room, kind, *_FINISHED))
        return [self._run(row) for row in rows]


class RunPublisher:
    """The listener a replica gives its room runs (`Jobs.submit(listener=...)`); see the module's docstring.

    `repository` is called for each batch of writes (a test may point the app at another database meanwhile); its
    failure, like a write's, is logged and the latest row of each run is tried again after `retry_s`."""

    def __init__(self, repository: Callable[[], RoomRuns], replica: str | None = None, *,
                 progress_every_s: float = 0.5, heartbeat_s: float = 10.0, retry_s: float = 2.0,
                 viewed_fresh_s: float = 30.0):
        self._repository = repository
        self.replica = replica or replica_name()
        self.progress_every_s = progress_every_s
        self.heartbeat_s = heartbeat_s
        self.retry_s = retry_s
        self.viewed_fresh_s = viewed_fresh_s
        self._changed = threading.Condition()
        self._pending: dict[str, dict[str, Any]] = {}      # run id → the newest row not yet written
        self._tracked: dict[str, Job] = {}                 # unfinished runs: heartbeat and followers' views
        self._last: dict[str, float] = {}                  # run id → monotonic time of its last progress row
        self._thread: threading.Thread | None = None
        self._writing = False                              # a batch is being written (flush waits for it)

    def __call__(self, job: Job, changed: bool) -> None:
        if not job.room:
            return
        now = time.monotonic()
        with self._changed:
            if not changed and now - self._last.get(job.id, -math.inf) < self.progress_every_s:
                return
            self._last[job.id] = now
        snap = job.snapshot()
        row = encode(snap, self.replica)       # pickled on the job's own thread, where its objects hold still
        with self._changed:
            waiting = self._pending.get(job.id)
            if waiting is None or waiting["version"] <= row["version"]:
                self._pending[job.id] = row
            if snap.finished:
                self._tracked.pop(job.id, None)
                self._last.pop(job.id, None)
            else:
                self._tracked[job.id] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="genai-lab-run-publisher", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every row handed in was written (for tests and shutdown). True when it was."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._pending or self._writing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
            return True

    def _serve(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_s
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or time.monotonic() >= next_beat,
                                       max(0.0, next_beat - time.monotonic()))
                if not self._pending and not self._tracked:
                    self._thread = None
                    return
                rows, self._pending = self._pending, {}
                self._writing = True
            failed = not self._write(rows)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.heartbeat_s
                failed = not self._beat() or failed
            with self._changed:
                self._writing = False
                self._changed.notify_all()
            if failed:
                time.sleep(self.retry_s)

    def _write(self, rows: dict[str, dict[str, Any]]) -> bool:
        if not rows:
            return True
        try:
            repository = self._repository()
        except Exception:                                # noqa: BLE001 — the store being down must not end runs
            log.exception("Room runs cannot be published: the database did not open")
            self._requeue(rows.values())
            return False
        failed = []
        for row in rows.values():
            try:
                repository.write(row)
            except Exception:                            # noqa: BLE001
                log.exception("Run %s could not be published; trying again", row["id"])
                failed.append(row)
        self._requeue(failed)
        return not failed

    def _requeue(self, rows) -> None:
        with self._changed:
            for row in rows:
                newer = self._pending.get(row["id"])
                if newer is None or newer["version"] < row["version"]:
                    self._pending[row["id"]] = row

    def _beat(self) -> bool:
        with self._changed:
            tracked = dict(self._tracked)
        if not tracked:
            return True
        try:
            viewed = self._repository().beat(list(tracked))
        except Exception:                                # noqa: BLE001
            log.exception("The heartbeat of the room runs could not be written")
            return False
        now = time.time()
        for run_id, at in viewed.items():
            if at is not None and now - at < self.viewed_fresh_s and run_id in tracked:
                tracked[run_id].touch()                  # watched on another replica: not abandoned
        return True


class ViewMarks:
    """Followers' `touch()` in one process: writes `viewed_at` at most every `every_s` per run; a failure is logged
    and tried again at the next touch."""

    def __init__(self, repository: Callable[[], RoomRuns], every_s: float = 10.0):
        self._repository = repository
        self.every_s = every_s
        self._lock = threading.Lock()
        self._written: dict[str, float] = {}

    def mark(self, run_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._written.get(run_id, -math.inf) < self.every_s:
                return
            self._written[run_id] = now
            if len(self._written) > 256:
                for old in sorted(self._written, key=self._written.get)[:128]:
                    del self._written[old]
        try:
            self._repository().viewed(run_id)
        except Exception:                                # noqa: BLE001 — a viewer's touch never breaks a page
            log.warning("Could not record a viewer of run %s", run_id, exc_info=True)
            with self._lock:
                self._written.pop(run_id, None)


class FollowedRun:
    """A published run seen from a replica that does not execute it, read-only, shaped like a `Job` for the panels:
    `snapshot()`, `touch()` (marks a viewer through `viewed`), `cancel()` (False: only the executing replica
    cancels). An unfinished run its replica stopped publishing for `stopped_after_s` reads as failed (`STOPPED`)."""

    local = False

    def __init__(self, run: PublishedRun, viewed: Callable[[str], None] | None = None,
                 stopped_after_s: float = STOPPED_AFTER_S, clock: Callable[[], float] = time.time):
        self.run = run
        self._viewed = viewed
        self.stopped_after_s = stopped_after_s
        self._clock = clock
        snap = run.snapshot
        self.id, self.owner, self.kind, self.room = snap.id, snap.owner, snap.kind, snap.room
        self.private, self.who, self.title = snap.private, snap.who, snap.title

    @property
    def stopped(self) -> bool:
        """The replica running it stopped writing while it was queued or running."""
        return (self.run.snapshot.state not in FINISHED_STATES
                and self._clock() - self.run.updated_at > self.stopped_after_s)

    @property
    def finished(self) -> bool:
        return self.snapshot().finished

    def snapshot(self) -> JobSnapshot:
        snap = self.run.snapshot
        if self.stopped:
            return replace(snap, state=FAILED, error=STOPPED, position=-1, version=snap.version + 1)
        return snap

    def touch(self) -> None:
        if self._viewed is not None and not self.snapshot().finished:
            self._viewed(self.id)

    def cancel(self) -> bool:
        return False
