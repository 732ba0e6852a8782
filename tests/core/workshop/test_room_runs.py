"""A room's published training runs (core/workshop/room_runs.py) on SQLite and PostgreSQL: the repository, and two
"replicas" (two `Jobs` queues in plain threads) over one database, one running the presenter's run and the other
following it."""
from __future__ import annotations

import dataclasses
import pickle
import threading
import time

import numpy as np
import pytest

from core.serving.jobs import Jobs, JobSnapshot
from core.workshop import room_runs
from core.workshop.room_runs import STOPPED, FollowedRun, RoomRuns, RunPublisher, ViewMarks

WAIT = 10.0


def wait_until(predicate, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


@dataclasses.dataclass
class Curve:
    """Stands in for a lab's result: a dataclass with a list and a numpy array."""
    name: str
    losses: list
    weights: np.ndarray = dataclasses.field(default_factory=lambda: np.arange(6, dtype=np.float32))


def snapshot(run_id="job-a", room="ROOM1", kind="race", state="running", version=1, submitted_at=100.0,
             progress=None, result=None, **kw) -> JobSnapshot:
    fields = dict(id=run_id, owner="presenter-browser", title="the presenter's race", kind=kind, room=room,
                  private=False, who="the presenter (room ROOM1)", state=state, progress=progress or {},
                  result=result, error=None, cancel_reason=None, submitted_at=submitted_at, started_at=101.0,
                  finished_at=None, position=0, version=version)
    fields.update(kw)
    return JobSnapshot(**fields)


def test_a_published_run_reads_back_with_its_objects(db):
    runs = RoomRuns(db)
    curve = Curve("lora", [3.0, 2.5])
    runs.publish(snapshot(progress={"race": curve}), "host-a:1", now=500.0)
    got = runs.newest("ROOM1", "race")
    assert got.replica == "host-a:1" and got.updated_at == 500.0 and got.viewed_at is None
    assert got.snapshot.progress["race"].losses == [3.0, 2.5]
    np.testing.assert_array_equal(got.snapshot.progress["race"].weights, curve.weights)
    assert got.snapshot == dataclasses.replace(snapshot(), progress=got.snapshot.progress)
    assert runs.newest("ROOM1", "policy") is None and runs.newest("OTHER", "race") is None


def test_an_older_version_never_replaces_a_newer_one_and_a_missing_payload_keeps_the_last(db, monkeypatch):
    runs = RoomRuns(db)
    runs.publish(snapshot(version=5, progress={"step": 5}), "a:1")
    runs.publish(snapshot(version=3, progress={"step": 3}), "a:1")           # late write of an older state
    assert runs.get("job-a").snapshot.progress == {"step": 5}
    monkeypatch.setattr(room_runs, "MAX_PAYLOAD_BYTES", 10)                  # too large to store: keep the last
    runs.publish(snapshot(version=6, progress={"step": list(range(100))}), "a:1")
    got = runs.get("job-a").snapshot
    assert got.version == 6 and got.progress == {"step": 5}


def test_newest_finished_and_pruning_keep_each_room_small(db):
    runs = RoomRuns(db)
    for i in range(room_runs.KEEP_FINISHED + 5):
        runs.publish(snapshot(f"job-{i}", state="done", submitted_at=float(i), result={"i": i}), "a:1")
    runs.publish(snapshot("job-live", state="running", submitted_at=1000.0), "a:1")
    runs.publish(snapshot("job-other", room="ROOM2", state="done", submitted_at=0.0), "a:1")
    finished = runs.finished("ROOM1", "race")
    assert [r.snapshot.result["i"] for r in finished] == list(range(5, room_runs.KEEP_FINISHED + 5))
    assert runs.newest("ROOM1", "race").snapshot.id == "job-live"            # unfinished runs are never pruned
    assert runs.get("job-other") is not None                                 # other rooms are left alone
    with pytest.raises(ValueError):
        runs.publish(snapshot("job-x", room=""), "a:1")                      # runs outside a room stay local


def test_heartbeat_and_viewers(db):
    runs = RoomRuns(db)
    runs.publish(snapshot(), "a:1", now=10.0)
    assert runs.beat(["job-a"], now=20.0) == {"job-a": None}
    runs.viewed("job-a", now=25.0)
    assert runs.beat(["job-a", "job-gone"], now=30.0) == {"job-a": 25.0}
    got = runs.get("job-a")
    assert got.updated_at == 30.0 and got.viewed_at == 25.0


def test_a_followed_run_is_read_only_and_says_when_its_replica_stopped(db):
    runs = RoomRuns(db)
    runs.publish(snapshot(), "a:1", now=1000.0)
    seen = []
    now = [1010.0]
    run = FollowedRun(runs.newest("ROOM1", "race"), seen.append, stopped_after_s=60.0, clock=lambda: now[0])
    assert run.snapshot().state == "running" and not run.finished and not run.cancel()
    run.touch()
    assert seen == ["job-a"]
    now[0] = 1061.0
    stopped = run.snapshot()
    assert stopped.state == "failed" and stopped.error == STOPPED and stopped.finished
    assert stopped.version > run.run.snapshot.version          # a live panel redraws when it turns stopped


def test_view_marks_write_at_most_every_interval(db):
    runs = RoomRuns(db)
    runs.publish(snapshot(), "a:1")
    writes = []

    class Counting(RoomRuns):
        def viewed(self, run_id, now=None):
            writes.append(run_id)
            super().viewed(run_id, now)

    marks = ViewMarks(lambda: Counting(db), every_s=60.0)
    for _ in range(5):
        marks.mark("job-a")
    assert writes == ["job-a"] and RoomRuns(db).get("job-a").viewed_at is not None


# ---------------------------------------------------------------- two replicas, one database


@pytest.fixture
def replicas(open_db):
    """Two Jobs queues (two "replicas") over one database; A publishes its room runs."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("tidy", lambda: None)
        made.append(Jobs(**kwargs))
        return made[-1]

    db = open_db()
    yield db, make
    for jobs in made:
        assert jobs.shutdown(timeout=WAIT, cancel_running=True)


def test_a_run_on_one_replica_is_followed_on_the_other(replicas):
    db, make = replicas
    a, b = make(), make()
    publisher = RunPublisher(lambda: RoomRuns(db), "replica-a:1", progress_every_s=0.0, heartbeat_s=0.1)
    step, release = threading.Event(), threading.Event()

    def work(ctx):
        curve = Curve("lora", [])
        for loss in (3.0, 2.0):
            curve.losses.append(loss)
            ctx.update(race=curve)
            step.set()
            assert release.wait(WAIT)
            release.clear()
        return Curve("lora", [3.0, 2.0, 1.5])

    job = a.submit("presenter", "the presenter's race", work, kind="race", room="ROOM1", first=True,
                   listener=publisher)
    runs = RoomRuns(db)
    assert wait_until(lambda: (r := runs.newest("ROOM1", "race")) is not None
                      and r.snapshot.progress.get("race") is not None)
    followed = FollowedRun(runs.newest("ROOM1", "race"))
    assert followed.id == job.id and b.find(job.id) is None                  # not in B's queue
    assert followed.snapshot().state == "running" and followed.snapshot().progress["race"].losses == [3.0]
    release.set()
    assert wait_until(lambda: runs.get(job.id).snapshot.progress["race"].losses == [3.0, 2.0])
    release.set()
    assert job.wait(WAIT) and publisher.flush()
    final = runs.get(job.id).snapshot
    assert final.state == "done" and final.result.losses == [3.0, 2.0, 1.5]
    assert pickle.dumps(final.result) == pickle.dumps(job.snapshot().result)      # identical, arrays included
    assert final.version == job.snapshot().version


def test_viewers_on_another_replica_keep_a_run_from_being_abandoned(replicas):
    db, make = replicas
    a = make(stale_after_s=0.3)
    publisher = RunPublisher(lambda: RoomRuns(db), "replica-a:1", heartbeat_s=0.05, viewed_fresh_s=5.0)
    marks = ViewMarks(lambda: RoomRuns(db), every_s=0.05)
    stop = threading.Event()

    def work(ctx):
        while not ctx.cancelled() and not stop.is_set():
            time.sleep(0.01)
        return "stopped by the test" if stop.is_set() else "abandoned"

    job = a.submit("presenter", "race", work, kind="race", room="ROOM1", listener=publisher)
    runs = RoomRuns(db)
    assert wait_until(lambda: runs.get(job.id) is not None)
    deadline = time.monotonic() + 1.2                  # four times stale_after_s, watched only from replica B
    while time.monotonic() < deadline:
        FollowedRun(runs.get(job.id), marks.mark).touch()
        time.sleep(0.05)
    assert not job.finished and job.cancel_reason is None
    stop.set()
    assert job.wait(WAIT) and job.result == "stopped by the test"

    unwatched = a.submit("presenter", "race", work, kind="race", room="ROOM1", listener=publisher)
    stop.clear()
    assert unwatched.wait(WAIT) and unwatched.cancel_reason == "abandoned"  # nobody anywhere: abandoned as before
    assert publisher.flush() and runs.get(unwatched.id).snapshot.cancel_reason == "abandoned"


def test_a_run_whose_replica_stopped_publishing_reads_as_stopped(replicas):
    db, make = replicas
    a = make()
    publisher = RunPublisher(lambda: RoomRuns(db), "replica-a:1", heartbeat_s=0.05)
    started, release = threading.Event(), threading.Event()

    def work(ctx):
        started.set()
        while not release.is_set() and not ctx.cancelled():
            time.sleep(0.01)

    job = a.submit("presenter", "race", work, kind="race", room="ROOM1", listener=publisher)
    runs = RoomRuns(db)
    assert started.wait(WAIT)
    assert wait_until(lambda: (r := runs.get(job.id)) is not None and r.snapshot.state == "running")
    time.sleep(0.3)
    alive = FollowedRun(runs.get(job.id), stopped_after_s=0.2)   # its heartbeat keeps it alive without progress
    assert alive.snapshot().state == "running"
    publisher._repository = lambda: (_ for _ in ()).throw(RuntimeError("replica A is gone"))   # it stops writing
    time.sleep(0.4)
    gone = FollowedRun(runs.get(job.id), stopped_after_s=0.2)
    assert gone.snapshot().state == "failed" and gone.snapshot().error == STOPPED
    release.set()
    assert job.wait(WAIT) and job.state == "done"                # the store failing never harmed the run itself
    publisher._repository = lambda: RoomRuns(db)                 # back again: the final state gets there
    assert publisher.flush() and runs.get(job.id).snapshot.state == "done"


def test_a_store_that_fails_for_a_while_gets_the_final_state_later(replicas):
    db, make = replicas
    a = make()
    down = threading.Event()
    down.set()

    def repository():
        if down.is_set():
            raise RuntimeError("the database is restarting")
        return RoomRuns(db)

    publisher = RunPublisher(repository, "replica-a:1", retry_s=0.05)
    job = a.submit("presenter", "race", lambda ctx: 42, kind="race", room="ROOM1", listener=publisher)
    assert job.wait(WAIT) and job.result == 42
    down.clear()
    assert publisher.flush() and RoomRuns(db).get(job.id).snapshot.result == 42


def test_runs_outside_a_room_are_not_published(replicas):
    db, make = replicas
    publisher = RunPublisher(lambda: RoomRuns(db), "replica-a:1")
    job = make().submit("learner", "race", lambda ctx: 1, kind="race", listener=publisher)
    assert job.wait(WAIT) and publisher.flush()
    assert db.read("SELECT COUNT(*) AS n FROM room_runs")[0]["n"] == 0
