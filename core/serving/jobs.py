"""Background jobs for heavy work (training runs in the labs), one at a time, shared by every session.

About 30 browser sessions use one server during a workshop. If each of them started a training run inside its own
Streamlit script run, 30 runs would fight over the same CPU cores, each would take 30 times as long, and the
memory of all of them together would end the process. So heavy work goes through one `Jobs` per server process:

    submit: a person hands in a job (a callable taking a `JobContext`); it waits in a FIFO queue of at most
            `max_queued` jobs, and each owner (a browser, whatever its number of tabs) may have only one job queued
            or running; a presenter's job (`first=True`) goes ahead of everyone else's waiting jobs
    run:    one worker thread (by default) takes the oldest job and runs it; the work reports progress with
            `ctx.update(...)` and polls `ctx.cancelled()` between steps
    watch:  the page reads `job.snapshot()` (a frozen copy: state, progress, result, place in the queue) on each
            rerun and calls `job.touch()`, so the worker knows someone is still looking

Refusals raise `JobRefused` with one sentence to show to the participant, instead of queueing work that would
finish after the workshop moved on.

A closed tab cannot tell the server it left. A job whose viewers stopped calling `touch()` for `stale_after_s`
seconds is "abandoned": `ctx.cancelled()` turns true while it runs, and a queued one is dropped before it starts,
so closed tabs neither hold the worker nor fill the queue.

Failures stay inside the job: the worker logs the traceback (logger "genai_lab"), keeps a short message in
`job.error` and goes on with the next job. Nothing here imports streamlit; tests/core/serving/test_jobs.py runs
it with plain threads.

Several server processes (replicas) each have their own `Jobs`, so a job's id is unique across them (a uuid). A job
may carry a `listener` (given to `submit`): it is called as `listener(job, changed)` outside the lock, on the
thread that made the change, after every change of state (`changed` True: queued, running, its place in the queue,
a stop asked for, finished) and every progress report (False). The workshop publishes its room's runs to the
database through it (core/workshop/room_runs.py), so followers on other replicas see them; a listener that raises
is logged and never harms the job.
"""
from __future__ import annotations

import atexit
import gc
import logging
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.serving.heap import release_freed_memory

log = logging.getLogger("genai_lab")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED_STATES = frozenset({DONE, FAILED, CANCELLED})

KEEP_FINISHED = 20         # finished jobs kept for `latest` / `of`; older ones are forgotten
ERROR_CHARS = 300          # longest error message kept in `job.error`
OUT_OF_MEMORY = "The server ran out of memory for this run."
ALREADY_RUNNING = "You already have a training run queued or running; cancel it or wait for it to finish."

_LIVE: "weakref.WeakSet[Jobs]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Stop every worker before the interpreter shuts down: a daemon thread still inside torch at that moment
    makes the process abort (see core/serving/batching.py)."""
    for jobs in list(_LIVE):
        jobs.shutdown(timeout=5, cancel_running=True)


class JobRefused(Exception):
    """The job was not accepted; the message is one sentence a participant understands."""


@dataclass(frozen=True)
class JobSnapshot:
    """A copy of a job at one moment, safe to read and keep on any thread (the page renders from this).

    `position`: 0 while running, 1 for the first job waiting, …, -1 once finished.
    Timestamps are `time.time()` seconds (None until that moment happened)."""
    id: str
    owner: str
    title: str
    kind: str
    room: str
    private: bool
    who: str
    state: str
    progress: dict[str, Any]
    result: Any
    error: str | None
    cancel_reason: str | None
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    position: int
    version: int           # grows with every progress report and change of state: equal means nothing new to draw

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


@dataclass(eq=False)
class Job:
    """One piece of heavy work. Its fields change only under its `Jobs`' lock; single attributes can be
    read from any thread, and `snapshot()` gives a consistent copy of all of them at once.

    `cancel_reason` is "cancelled" (someone called `cancel()`) or "abandoned" (no `touch()` for `stale_after_s`).
    `room`: the workshop room whose presenter started it ("" outside a room); `private`: it used data its owner
    uploaded, so only the owner may see its samples; `who`: the owner as a person reads it (the presenter's
    console lists jobs by it)."""
    id: str
    owner: str
    title: str
    kind: str
    work: Callable[[JobContext], Any] = field(repr=False)
    _pool: Jobs = field(repr=False)
    room: str = ""
    private: bool = False
    who: str = ""
    first: bool = False
    state: str = QUEUED
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = field(default=None, repr=False)
    error: str | None = None
    cancel_reason: str | None = None
    last_seen: float = field(default_factory=time.monotonic, repr=False)     # monotonic, for staleness
    version: int = 0                    # +1 at every progress report and change of state
    listener: Callable[[Job, bool], None] | None = field(default=None, repr=False)
    _progress: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def progress(self) -> dict[str, Any]:
        """A copy of the progress the work reported so far (never the dict the worker writes into)."""
        with self._pool._lock:
            return dict(self._progress)

    def cancel(self) -> bool:
        """A queued job leaves the queue and is "cancelled" at once; a running one is asked to stop (its work sees
        `ctx.cancelled()` turn true). False when the job had already finished."""
        return self._pool._cancel(self, CANCELLED)

    def touch(self) -> None:
        """A viewer is still looking at this job (call on every rerun of the page that shows it)."""
        with self._pool._lock:
            self.last_seen = time.monotonic()

    def snapshot(self) -> JobSnapshot:
        return self._pool._snapshot(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job finished (True) or `timeout` seconds passed (False); for tests and scripts."""
        return self._pool._wait_finished(self, timeout)


class JobContext:
    """What the work gets: a way to report progress and to learn that it should stop."""

    def __init__(self, job: Job):
        self.job = job

    def cancelled(self) -> bool:
        """True once `cancel()` was called, or once nobody touched the job for `stale_after_s` seconds (the tab
        was closed). Poll it between steps and return early with what was done so far."""
        return self.job._pool._is_cancelled(self.job)

    def update(self, **progress: Any) -> None:
        """Merge these keys into the job's progress. Lists, dicts and sets are copied, so the work may go on
        appending to its own list (a loss curve) while a page reads the snapshot."""
        copied = {key: _own_copy(value) for key, value in progress.items()}
        with self.job._pool._lock:
            self.job._progress.update(copied)
            self.job.version += 1
        _tell(self.job, changed=False)


def _tell(job: Job, changed: bool = True) -> None:
    """Call the job's listener (outside the lock); its failure is logged, never raised into the job or the queue."""
    if job.listener is None:
        return
    try:
        job.listener(job, changed)
    except Exception:                   # noqa: BLE001 — a listener (a database write) must not end a run
        log.exception("The listener of job %s failed", job.id)


def _own_copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, set):
        return set(value)
    return value


def error_message(exc: BaseException) -> str:
    """The short message kept in `job.error`: the exception's text (at most ERROR_CHARS characters), or its class
    name when the text is empty; a MemoryError says so in words."""
    if isinstance(exc, MemoryError):
        return OUT_OF_MEMORY
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


class Jobs:
    """The server's queue of heavy jobs and the worker thread(s) that run them (created once by the app)."""

    def __init__(self, max_queued: int = 8, workers: int = 1, stale_after_s: float = 60.0,
                 tidy: Callable[[], None] | None = None):
        """`tidy` runs after every job (default: collect garbage and hand freed memory back to the system; a test of
        the queue's own rules passes a no-op, since a full collection with torch loaded takes a third of a second)."""
        if max_queued < 1 or workers < 1 or stale_after_s <= 0:
            raise ValueError("Jobs needs max_queued >= 1, workers >= 1 and stale_after_s > 0")
        self._tidy = tidy if tidy is not None else tidy_memory
        self.max_queued = max_queued
        self.workers = workers
        self.stale_after_s = float(stale_after_s)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)     # a job was queued, started or finished
        self._queue: deque[Job] = deque()
        self._running: list[Job] = []
        self._jobs: dict[str, Job] = {}                    # every known job, in submission order
        self._threads: list[threading.Thread] = []
        self._closed = False
        _LIVE.add(self)

    # ---------------------------------------------------------------- submitting and reading

    def submit(self, owner: str, title: str, work: Callable[[JobContext], Any], *, kind: str = "", room: str = "",
               private: bool = False, who: str = "", first: bool = False,
               listener: Callable[[Job, bool], None] | None = None) -> Job:
        """Queue `work` for `owner` (an opaque id of a person). Raises JobRefused when this owner already has a job
        queued or running, when `max_queued` jobs are waiting, or after shutdown. `first` (a presenter's run for the
        room) places it ahead of the other waiting jobs, behind earlier `first` ones, and never refuses it for a
        full queue: a room of thirty should not wait behind people on their own. `listener`: see the module's
        docstring."""
        with self._lock:
            if self._closed:
                raise JobRefused("The server is shutting down; try again in a moment.")
            dropped = self._drop_abandoned()
            if any(job.owner == owner for job in (*self._running, *self._queue)):
                raise JobRefused(ALREADY_RUNNING)
            if len(self._queue) >= self.max_queued and not first:
                raise JobRefused(f"The server is busy: {len(self._queue)} runs are waiting. Try again in a minute.")
            job = Job(id=f"job-{uuid.uuid4().hex}", owner=owner, title=title, kind=kind, work=work, _pool=self,
                      room=room, private=private, who=who or title, first=first, listener=listener)
            self._jobs[job.id] = job
            if first:
                self._queue.insert(sum(1 for waiting in self._queue if waiting.first), job)
            else:
                self._queue.append(job)
            moved = list(self._queue)[list(self._queue).index(job):]    # it and the ones it went ahead of
            self._start_workers()
            self._changed.notify_all()
        for changed in (*dropped, *moved):
            _tell(changed)
        return job

    def position(self, job: Job) -> int:
        """0 while running, 1 for the first job waiting, 2 for the next, …; -1 once finished."""
        with self._lock:
            return self._position(job)

    def current(self) -> Job | None:
        """The running job (the earliest started one when there are several workers), or None."""
        with self._lock:
            return self._running[0] if self._running else None

    def queued(self) -> list[Job]:
        """The waiting jobs, first to run first."""
        with self._lock:
            return list(self._queue)

    def latest(self, kind: str = "") -> Job | None:
        """The most recently submitted job of `kind` (any kind when empty), in any state: followers watch the
        presenter's latest run through this."""
        with self._lock:
            return next((job for job in reversed(self._jobs.values()) if not kind or job.kind == kind), None)

    def active(self) -> list[Job]:
        """The running jobs, then the waiting ones in the order they will run (the presenter's console lists them)."""
        with self._lock:
            return [*self._running, *self._queue]

    def find(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, kind: str = "") -> list[Job]:
        """Every job still known (unfinished ones and the last KEEP_FINISHED finished), of `kind`, oldest first."""
        with self._lock:
            return [job for job in self._jobs.values() if not kind or job.kind == kind]

    def finished(self, kind: str = "") -> list[Job]:
        """The finished jobs still kept (the last KEEP_FINISHED), of `kind` (any when empty), oldest first."""
        with self._lock:
            return [job for job in self._jobs.values() if job.finished and (not kind or job.kind == kind)]

    def of(self, owner: str) -> Job | None:
        """This owner's most recently submitted job (any state), or None."""
        with self._lock:
            return next((job for job in reversed(self._jobs.values()) if job.owner == owner), None)

    def shutdown(self, timeout: float | None = 10.0, *, cancel_running: bool = False) -> bool:
        """Cancel the waiting jobs, let the worker finish its current job (or ask it to stop, `cancel_running`)
        and end the worker threads. True when they all ended within `timeout`."""
        with self._lock:
            self._closed = True
            dropped = list(self._queue)
            while self._queue:
                self._finish(self._queue.popleft(), CANCELLED, reason=CANCELLED)
            if cancel_running:
                for job in self._running:
                    job.cancel_reason = job.cancel_reason or CANCELLED
                dropped += self._running
            self._changed.notify_all()
            threads = list(self._threads)
        for job in dropped:
            _tell(job)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    # ---------------------------------------------------------------- used by Job and JobContext

    def _cancel(self, job: Job, reason: str) -> bool:
        with self._lock:
            if job.finished:
                return False
            behind = []
            if job.state == QUEUED:
                if job in self._queue:
                    behind = list(self._queue)[list(self._queue).index(job) + 1:]
                    self._queue.remove(job)
                self._finish(job, CANCELLED, reason=reason)
            else:
                job.cancel_reason = job.cancel_reason or reason
                job.version += 1
            self._changed.notify_all()
        for changed in (job, *behind):
            _tell(changed)
        return True

    def _is_cancelled(self, job: Job) -> bool:
        with self._lock:
            abandoned = job.cancel_reason is None and self._stale(job)
            if abandoned:
                job.cancel_reason = "abandoned"
                job.version += 1
            cancelled = job.cancel_reason is not None
        if abandoned:
            _tell(job)
        return cancelled

    def _snapshot(self, job: Job) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(
                id=job.id, owner=job.owner, title=job.title, kind=job.kind, room=job.room, private=job.private,
                who=job.who, state=job.state,
                progress=dict(job._progress), result=job.result, error=job.error, cancel_reason=job.cancel_reason,
                submitted_at=job.submitted_at, started_at=job.started_at, finished_at=job.finished_at,
                position=self._position(job), version=job.version,
            )

    def _wait_finished(self, job: Job, timeout: float | None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: job.finished, timeout)

    # ---------------------------------------------------------------- internals (call with the lock held)

    def _position(self, job: Job) -> int:
        if job.state == RUNNING:
            return 0
        if job.state == QUEUED and job in self._queue:
            return self._queue.index(job) + 1
        return -1

    def _stale(self, job: Job) -> bool:
        return time.monotonic() - job.last_seen > self.stale_after_s

    def _drop_abandoned(self) -> list[Job]:
        """Waiting jobs whose tab was closed leave the queue, so they neither start nor count as waiting. Returns
        them and the jobs whose place changed (to tell their listeners once the lock is released)."""
        stale = [job for job in self._queue if self._stale(job)]
        if not stale:
            return []
        first = list(self._queue).index(stale[0])
        for job in stale:
            self._queue.remove(job)
            self._finish(job, CANCELLED, reason="abandoned")
        return [*stale, *list(self._queue)[first:]]

    def _finish(self, job: Job, state: str, *, reason: str | None = None) -> None:
        job.state = state
        job.version += 1
        job.finished_at = time.time()
        if reason and not job.cancel_reason:
            job.cancel_reason = reason
        job.work = _finished_work          # the closure may hold a model or data; let it go
        finished = [old for old in self._jobs.values() if old.finished]
        for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[old.id]
        self._changed.notify_all()

    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._serve, name=f"genai-lab-jobs-{len(self._threads) + 1}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    # ---------------------------------------------------------------- the worker

    def _serve(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue or self._closed)
                dropped = self._drop_abandoned()
                if not self._queue:
                    if self._closed:
                        return
                    job = None
                else:
                    job = self._queue.popleft()
                    job.state = RUNNING
                    job.version += 1
                    job.started_at = time.time()
                    self._running.append(job)
                    self._changed.notify_all()
                moved = list(self._queue) if job is not None else []     # each waiting job moved up one place
            for changed in dict.fromkeys((*dropped, *([job] if job else []), *moved)):
                _tell(changed)
            if job is not None:
                self._run(job)

    def _run(self, job: Job) -> None:
        """Run one job outside the lock. Returned → "done", raised → "failed" with a short message; either way it
        is "cancelled" instead when a stop was asked for (cancel or abandoned), keeping the result or error."""
        work = job.work             # only `_finish` replaces it, and only this thread finishes a running job
        result, error = None, None
        try:
            result = work(JobContext(job))
        except BaseException as exc:        # noqa: BLE001 — the worker must outlive every job
            error = error_message(exc)
            log.exception("Job %s (%r, owner %s) failed", job.id, job.title, job.owner)
            del exc
        del work
        self._tidy()
        with self._lock:
            self._running.remove(job)
            job.result, job.error = result, error
            if job.cancel_reason is not None:
                self._finish(job, CANCELLED)        # partial results stay visible
            else:
                self._finish(job, FAILED if error is not None else DONE)
        _tell(job)


def tidy_memory() -> None:
    """A training run leaves a private model copy, its optimizer and activations behind as garbage (some in reference
    cycles through autograd): collect them and hand the heap back, so the server's memory returns to where it was
    before the run instead of growing with every run of a workshop."""
    gc.collect()
    release_freed_memory()


def _finished_work(ctx: JobContext) -> None:
    raise RuntimeError("this job already ran")
