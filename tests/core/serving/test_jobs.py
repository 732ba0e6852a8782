"""The background job runner (core/serving/jobs.py): FIFO, one job at a time, refusals, cancel, closed tabs,
failures, progress snapshots. Plain threads and Events, no models; every wait has a timeout."""
from __future__ import annotations

import dataclasses
import logging
import threading
import time

import pytest

from core.serving.jobs import OUT_OF_MEMORY, Job, JobContext, JobRefused, Jobs, JobSnapshot, tidy_memory

WAIT = 5.0


def wait_until(predicate, timeout: float = WAIT) -> bool:
    """Poll `predicate` until it holds or `timeout` passes (for states the tests cannot wait on directly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return bool(predicate())


class Gate:
    """A job that reports when it started and then blocks until the test opens the gate."""

    def __init__(self, result=None):
        self.started = threading.Event()
        self.release = threading.Event()
        self.result = result

    def __call__(self, ctx: JobContext):
        self.started.set()
        assert self.release.wait(WAIT), "the test never opened the gate"
        return self.result


@pytest.fixture
def gates():
    made: list[Gate] = []

    def make(result=None) -> Gate:
        made.append(Gate(result))
        return made[-1]

    yield make
    for gate in made:
        gate.release.set()


@pytest.fixture
def make_jobs():
    made: list[Jobs] = []

    def make(**kwargs) -> Jobs:
        kwargs.setdefault("tidy", lambda: None)     # the queue's rules, without a full garbage collection per job
        made.append(Jobs(**kwargs))
        return made[-1]

    yield make
    for jobs in made:
        assert jobs.shutdown(timeout=WAIT, cancel_running=True)


def finish(job: Job) -> JobSnapshot:
    assert job.wait(WAIT), f"{job} did not finish"
    return job.snapshot()


def until_stopped(ctx: JobContext) -> dict:
    """Work that takes steps until it is asked to stop (at most WAIT seconds), then returns what it did."""
    steps, deadline = 0, time.monotonic() + WAIT
    while not ctx.cancelled() and time.monotonic() < deadline:
        steps += 1
        ctx.update(steps=steps)
        time.sleep(0.005)
    return {"steps": steps, "stopped": ctx.cancelled()}


def test_jobs_run_in_fifo_order(make_jobs, gates):
    jobs = make_jobs()
    assert jobs.current() is None and jobs.latest() is None
    order: list[str] = []
    first = gates()
    a = jobs.submit("a", "A", lambda ctx: (order.append("A"), first(ctx))[1])
    assert first.started.wait(WAIT)
    rest = [jobs.submit(owner, owner.upper(), lambda ctx, o=owner: order.append(o.upper())) for owner in "bcde"]
    assert [job.title for job in jobs.queued()] == ["B", "C", "D", "E"]
    first.release.set()
    for job in (a, *rest):
        assert finish(job).state == "done"
    assert order == ["A", "B", "C", "D", "E"]


def test_one_job_at_a_time(make_jobs, gates):
    jobs = make_jobs()
    first, second = gates("first"), gates("second")
    a = jobs.submit("a", "A", first)
    b = jobs.submit("b", "B", second)
    assert first.started.wait(WAIT)
    assert jobs.current() is a and a.state == "running" and b.state == "queued"
    assert not second.started.is_set()
    first.release.set()
    assert second.started.wait(WAIT)
    assert finish(a).result == "first"
    second.release.set()
    snap = finish(b)
    assert snap.result == "second" and snap.started_at >= a.finished_at
    assert jobs.current() is None


def test_one_queued_or_running_job_per_owner(make_jobs, gates):
    jobs = make_jobs()
    gate = gates()
    running = jobs.submit("s1", "mine", gate)
    with pytest.raises(JobRefused, match="You already have a training run queued or running; cancel it or wait"):
        jobs.submit("s1", "again", lambda ctx: None)
    queued = jobs.submit("s2", "theirs", lambda ctx: None)
    with pytest.raises(JobRefused, match="already have"):
        jobs.submit("s2", "again", lambda ctx: None)
    gate.release.set()
    finish(running), finish(queued)
    assert finish(jobs.submit("s1", "after", lambda ctx: 3)).result == 3     # finished jobs do not count


def test_full_queue_is_refused_with_the_number_waiting(make_jobs, gates):
    jobs = make_jobs(max_queued=2)
    gate = gates()
    jobs.submit("r", "running", gate)
    assert gate.started.wait(WAIT)
    jobs.submit("q1", "waiting", lambda ctx: None)
    jobs.submit("q2", "waiting", lambda ctx: None)
    with pytest.raises(JobRefused) as refused:
        jobs.submit("q3", "one too many", lambda ctx: None)
    assert str(refused.value) == "The server is busy: 2 runs are waiting. Try again in a minute."


def test_thirty_sessions_submitting_at_once(make_jobs, gates):
    jobs = make_jobs(max_queued=8)
    gate = gates()
    jobs.submit("presenter", "running", gate)
    assert gate.started.wait(WAIT)
    accepted, refused, start = [], [], threading.Barrier(30)

    def session(i: int) -> None:
        start.wait(WAIT)
        try:
            accepted.append(jobs.submit(f"s{i}", "run", lambda ctx: None))
        except JobRefused as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(accepted) == 8 and len(refused) == 22
    assert all(message.startswith("The server is busy: 8 runs") for message in refused)


def test_cancelling_a_queued_job_removes_it_and_frees_the_owner(make_jobs, gates):
    jobs = make_jobs()
    gate = gates()
    jobs.submit("other", "running", gate)
    assert gate.started.wait(WAIT)
    ran = threading.Event()
    job = jobs.submit("me", "waiting", lambda ctx: ran.set())
    assert jobs.position(job) == 1
    assert job.cancel() is True
    snap = job.snapshot()
    assert (snap.state, snap.cancel_reason, snap.position, snap.finished) == ("cancelled", "cancelled", -1, True)
    assert job not in jobs.queued() and job.finished_at is not None
    again = jobs.submit("me", "second try", lambda ctx: "ok")
    assert job.cancel() is False                                             # already finished
    gate.release.set()
    assert finish(again).result == "ok" and not ran.is_set()


def test_cancelling_a_running_job_keeps_the_partial_result(make_jobs):
    jobs = make_jobs()
    job = jobs.submit("me", "train", until_stopped)
    assert wait_until(lambda: job.progress.get("steps", 0) >= 3)
    assert job.cancel() is True
    snap = finish(job)
    assert (snap.state, snap.cancel_reason, snap.error) == ("cancelled", "cancelled", None)
    assert snap.result["stopped"] is True and snap.result["steps"] >= 3
    assert snap.progress["steps"] == snap.result["steps"]


def test_a_closed_tab_abandons_the_running_job(make_jobs):
    jobs = make_jobs(stale_after_s=0.2)
    job = jobs.submit("closed tab", "train", until_stopped)                  # nobody touches it
    snap = finish(job)
    assert (snap.state, snap.cancel_reason) == ("cancelled", "abandoned")
    assert snap.result["stopped"] is True


def test_touching_keeps_a_running_job_alive(make_jobs):
    jobs = make_jobs(stale_after_s=0.3)
    job = jobs.submit("open tab", "train", until_stopped)
    assert wait_until(lambda: job.state == "running")
    kept_until = time.monotonic() + 0.6                                      # twice the stale time
    while time.monotonic() < kept_until:
        job.touch()
        time.sleep(0.01)
    assert job.state == "running" and job.cancel_reason is None
    job.cancel()
    assert finish(job).cancel_reason == "cancelled"


def test_a_queued_job_of_a_closed_tab_never_starts(make_jobs, gates):
    jobs = make_jobs(stale_after_s=0.2)
    gate = gates()
    jobs.submit("presenter", "running", gate)                                # blocks; it does not poll cancelled()
    assert gate.started.wait(WAIT)
    ran = threading.Event()
    gone = jobs.submit("closed tab", "waiting", lambda ctx: ran.set())
    kept = jobs.submit("open tab", "waiting", lambda ctx: "ran")
    stale_at = time.monotonic() + 0.25                                       # both waited longer than stale_after_s
    assert wait_until(lambda: time.monotonic() > stale_at)
    kept.touch()

    def viewer():                  # the open tab keeps looking, as a page does on every rerun
        while not kept.finished:
            kept.touch()
            time.sleep(0.02)

    threading.Thread(target=viewer, daemon=True).start()
    gate.release.set()
    assert finish(kept).result == "ran"
    snap = finish(gone)
    assert (snap.state, snap.cancel_reason, snap.started_at) == ("cancelled", "abandoned", None)
    assert not ran.is_set()


def test_a_failing_job_is_logged_and_the_worker_goes_on(make_jobs, caplog):
    jobs = make_jobs()

    def broken(ctx):
        ctx.update(step=1)
        raise ValueError("the data set has no rows")

    with caplog.at_level(logging.ERROR, logger="genai_lab"):
        bad = jobs.submit("a", "broken", broken)
        good = jobs.submit("b", "fine", lambda ctx: 42)
        snap = finish(bad)
        assert (snap.state, snap.error, snap.result, snap.progress) == ("failed", "the data set has no rows", None,
                                                                       {"step": 1})
        assert finish(good).state == "done" and good.result == 42
    records = [r for r in caplog.records if r.name == "genai_lab" and r.exc_info]
    assert records and records[0].exc_info[0] is ValueError


@pytest.mark.parametrize("exc, message", [
    (RuntimeError("x" * 1000), "x" * 299 + "…"),
    (KeyError(), "KeyError"),
    (MemoryError(), OUT_OF_MEMORY),
    (MemoryError("CUDA out of memory. Tried to allocate 2 GiB"), OUT_OF_MEMORY),
])
def test_error_messages_are_short(make_jobs, exc, message):
    jobs = make_jobs()

    def work(ctx):
        raise exc

    snap = finish(jobs.submit("a", "t", work))
    assert snap.state == "failed" and snap.error == message and len(snap.error) <= 300
    assert OUT_OF_MEMORY == "The server ran out of memory for this run."


def test_positions(make_jobs, gates):
    jobs = make_jobs()
    gate = gates()
    running = jobs.submit("r", "running", gate)
    assert gate.started.wait(WAIT)
    waiting = [jobs.submit(f"w{i}", f"waiting {i}", lambda ctx: None) for i in range(3)]
    assert [jobs.position(job) for job in (running, *waiting)] == [0, 1, 2, 3]
    assert [job.snapshot().position for job in (running, *waiting)] == [0, 1, 2, 3]
    waiting[0].cancel()
    assert [jobs.position(job) for job in waiting] == [-1, 1, 2]
    gate.release.set()
    for job in (running, *waiting):
        finish(job)
    assert [jobs.position(job) for job in (running, *waiting)] == [-1, -1, -1, -1]


def test_latest_and_of(make_jobs, gates):
    jobs = make_jobs()
    first = finish(jobs.submit("presenter", "warm-up", lambda ctx: 1, kind="train"))
    jobs_of_presenter = jobs.of("presenter")
    assert jobs_of_presenter.id == first.id
    gate = gates()
    running = jobs.submit("presenter", "big run", gate, kind="train")
    other = jobs.submit("follower", "tokenize", lambda ctx: None, kind="tokens")
    assert jobs.latest("train") is running                                   # followers watch the presenter's run
    assert jobs.latest("tokens") is other and jobs.latest() is other
    assert jobs.latest("nothing") is None
    assert jobs.of("presenter") is running and jobs.of("follower") is other and jobs.of("nobody") is None
    gate.release.set()
    finish(running)
    assert jobs.latest("train") is running                                   # finished jobs stay visible
    assert len({job.id for job in (running, other, jobs_of_presenter)}) == 3
    assert [job.id for job in jobs.finished("train")] == [first.id, running.id] and jobs.finished("nothing") == []


def test_progress_snapshots_are_copies(make_jobs):
    jobs = make_jobs()
    reported, go_on = threading.Event(), threading.Event()

    def work(ctx):
        losses = [3.0]
        ctx.update(losses=losses, step=1)
        reported.set()
        assert go_on.wait(WAIT)
        losses.append(2.0)                                                   # mutating its own list afterwards
        ctx.update(step=2)
        return losses

    job = jobs.submit("me", "train", work)
    assert reported.wait(WAIT)
    before = job.snapshot()
    before.progress["step"] = 99
    job.progress["step"] = 98
    assert job.progress == {"losses": [3.0], "step": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.state = "done"
    go_on.set()
    after = finish(job)
    assert after.progress == {"losses": [3.0], "step": 2} and after.result == [3.0, 2.0]
    assert before.progress == {"losses": [3.0], "step": 99} and before.state == "running"


def test_memory_is_tidied_after_every_job_whatever_its_end(make_jobs):
    tidied = []
    jobs = make_jobs(tidy=lambda: tidied.append(1))
    finish(jobs.submit("a", "fine", lambda ctx: 1))
    finish(jobs.submit("b", "broken", lambda ctx: 1 / 0))
    assert len(tidied) == 2
    assert Jobs()._tidy is tidy_memory                  # the app's queue collects garbage and trims the heap


def test_history_keeps_the_last_20_finished_jobs(make_jobs):
    jobs = make_jobs()
    for i in range(25):
        finish(jobs.submit(f"s{i}", f"run {i}", lambda ctx, i=i: i))
    assert [jobs.of(f"s{i}") for i in range(5)] == [None] * 5
    assert [jobs.of(f"s{i}").result for i in range(5, 25)] == list(range(5, 25))
    assert jobs.latest().result == 24


def test_shutdown_cancels_waiting_jobs_and_refuses_new_ones(make_jobs, gates):
    jobs = make_jobs()
    gate = gates("finished anyway")
    running = jobs.submit("r", "running", gate)
    assert gate.started.wait(WAIT)
    waiting = jobs.submit("w", "waiting", lambda ctx: None)
    assert jobs.shutdown(timeout=0.05) is False                              # still busy with the running job
    assert waiting.state == "cancelled" and jobs.queued() == []
    gate.release.set()
    assert jobs.shutdown(timeout=WAIT) is True
    assert running.state == "done" and running.result == "finished anyway"
    with pytest.raises(JobRefused, match="shutting down"):
        jobs.submit("late", "too late", lambda ctx: None)


def workers_alive() -> int:
    return sum(t.name.startswith("genai-lab-jobs") for t in threading.enumerate())


def test_the_worker_starts_lazily_and_wakes_up_for_the_next_job(make_jobs):
    before = workers_alive()
    jobs = make_jobs()
    assert workers_alive() == before                                         # no thread until the first submit
    finish(jobs.submit("a", "one", lambda ctx: None))
    assert workers_alive() == before + 1
    assert jobs.current() is None and jobs.queued() == []
    assert finish(jobs.submit("b", "two", lambda ctx: "again")).result == "again"


def test_a_presenters_run_goes_ahead_of_the_waiting_ones_even_when_the_queue_is_full(make_jobs, gates):
    jobs = make_jobs(max_queued=2)
    gate = gates()
    jobs.submit("someone", "running", gate)
    assert gate.started.wait(WAIT)
    a = jobs.submit("learner a", "a", lambda ctx: "a")
    b = jobs.submit("learner b", "b", lambda ctx: "b")
    with pytest.raises(JobRefused, match="busy"):
        jobs.submit("learner c", "c", lambda ctx: "c")
    p1 = jobs.submit("presenter", "room run", lambda ctx: "p", room="ABCDE", who="the presenter", first=True)
    assert [j.title for j in jobs.active()] == ["running", "room run", "a", "b"]
    assert (p1.snapshot().position, a.snapshot().position) == (1, 2)
    snap = p1.snapshot()
    assert (snap.room, snap.who, snap.private) == ("ABCDE", "the presenter", False)
    assert jobs.find(p1.id) is p1 and jobs.find("nope") is None
    gate.release.set()
    for job in (p1, a, b):
        finish(job)
    ran = sorted(jobs.finished(), key=lambda j: j.snapshot().started_at)
    assert [j.title for j in ran] == ["running", "room run", "a", "b"]
    assert [j.title for j in jobs.jobs()] == ["running", "a", "b", "room run"]       # in the order they came


def test_a_private_run_says_so(make_jobs):
    jobs = make_jobs()
    job = jobs.submit("learner", "race on my data", lambda ctx: 1, private=True)
    assert finish(job).private and job.snapshot().who == "race on my data"


def test_the_version_grows_with_every_report_and_state(make_jobs, gates):
    jobs = make_jobs()
    gate = gates()
    job = jobs.submit("a", "run", lambda ctx: (ctx.update(step=1), ctx.update(step=2), gate(ctx)))
    assert gate.started.wait(WAIT)
    running = job.snapshot().version
    assert running == 3                        # started, two reports
    gate.release.set()
    assert finish(job).version == running + 1
