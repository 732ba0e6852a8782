"""Starting and finding runs on the server's one training queue (`components.common.cache.jobs`), for every lab
that trains.

Who may start: one run at a time per person (the browser's id, whatever its number of tabs); in a workshop room only
the presenter, whose run goes ahead of the queue and is the room's. What a panel shows: this person's unfinished
run, else the newest run they may see: in a room the presenter's run for that room (never another participant's),
outside a room their own or someone else's that used no uploaded data. A run on uploaded data is private: its
samples are shown to its owner only (`shows_private`). Refusals (queue full, a run of yours already waiting) are
one sentence.

Across replicas: the app may run as several processes sharing one database, and a room's participants land on
different ones. The presenter's run executes on one replica, which publishes it (`cache.run_publisher`, see
core/workshop/room_runs.py); a session in a room that finds no newer run of that kind in its own process's queue
shows the room's newest published run instead (`cache.room_run`), read-only: it cannot be cancelled from here, and
it reads as stopped when its replica stopped publishing. The database not answering costs the panel one sentence."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from components.common import cache as app_cache
from components.common import heartbeat, identity, keys, roles
from components.common.text import literal
from core.serving.jobs import JobRefused
from core.workshop.room_runs import FollowedRun

STORE_DOWN = "_training_store_down"      # session key: the last look for the room's published runs failed
STORE_NOTE = ("The workshop database did not answer, so a run started on another server of this workshop cannot be "
              "shown right now; this panel comes back by itself when the database does.")


def owner() -> str:
    """This person's id on the training queue (the same id their generations carry)."""
    return identity.key()


def _who(role: roles.Role) -> str:
    if role.leads:
        return f"the presenter (room {role.room})"
    if role.presenter:
        return "the presenter"
    name = st.session_state.get(keys.QUIZ_LEARNER)
    return f"{name} (on their own)" if isinstance(name, str) and name else f"a learner ({owner()[-6:]})"


def start(kind: str, what: str, work: Callable[[Any, Any], Any], copies: float = 2.5, private: bool = False) -> bool:
    """Queue `work(ctx, service)` as a job of `kind`; before it runs, check that `copies` × the decoder's size is
    free (a private copy plus its training). `private`: the run uses data the learner uploaded. Returns whether the
    job was queued (a participant in a room, a second run of the same person or a full queue get one sentence)."""
    from core.serving.measure import check_free_memory
    role = roles.current()
    if role.watches:
        st.info(roles.PRESENTER_ONLY, icon=":material/co_present:")
        return False
    service = app_cache.model_service()

    def job(ctx):
        status = service.load(kind="causal-lm")
        check_free_memory(int(status.memory_bytes * copies), service.device)
        return work(ctx, service)

    title = f"the presenter's {what}" if role.presenter else f"a learner's {what}"
    try:
        room = role.room if role.leads else ""
        app_cache.jobs().submit(owner(), title, job, kind=kind, room=room, private=private, who=_who(role),
                                first=role.leads, listener=app_cache.run_publisher() if room else None)
        return True
    except JobRefused as exc:
        st.warning(str(exc))
        return False


def visible(job, me: str, role: roles.Role) -> bool:
    """Whether this session may see `job` at all: its own; in a room, the room's presenter runs; outside a room,
    anyone's run that used no uploaded data."""
    if job.owner == me:
        return True
    if role.room:
        return job.room == role.room
    return not job.private


def _published(kind: str, role: roles.Role):
    """The room's newest published run of `kind` as a read-only FollowedRun (None outside a room or before any);
    raises StoreError."""
    if not role.room:
        return None
    run = app_cache.room_run(role.room, kind)
    return None if run is None else FollowedRun(run, app_cache.run_views().mark)


def to_show(kind: str):
    """The job a `kind` panel shows: this person's own unfinished one, else the newest one `visible` to them: in a
    room, the newer of this process's and the room's published run (this process's job when it is the same run);
    None when none ran yet. The database not answering falls back to this process's queue (`panel` says so)."""
    jobs, me, role = app_cache.jobs(), owner(), roles.current()
    mine = jobs.of(me)
    if mine is not None and mine.kind == kind and not mine.finished:
        return mine
    local = next((job for job in reversed(jobs.jobs(kind)) if visible(job, me, role)), None)
    try:
        published = _published(kind, role)
        st.session_state.pop(STORE_DOWN, None)
    except app_cache.StoreError:
        st.session_state[STORE_DOWN] = True
        return local
    if published is None:
        return local
    here = jobs.find(published.id)
    if here is not None:
        return here                                 # executed in this process: the live job, not its copy
    if local is not None and local.submitted_at >= published.run.snapshot.submitted_at:
        return local
    return published


def finished_results(kind: str) -> list:
    """Results of the finished `kind` runs this session may see, oldest first (comparisons across runs): this
    process's, and in a room the room's published ones from other replicas."""
    me, role = owner(), roles.current()
    snaps = [snap for snap in (job.snapshot() for job in app_cache.jobs().finished(kind)) if visible(snap, me, role)]
    if role.room:
        try:
            published = app_cache.room_finished_runs(role.room, kind)
        except app_cache.StoreError:
            published = ()
        ids = {snap.id for snap in snaps}
        snaps += [run.snapshot for run in published if run.snapshot.id not in ids]
        snaps.sort(key=lambda snap: snap.submitted_at)
    return [snap.result for snap in snaps if snap.result is not None]


def can_cancel(job, snap) -> bool:
    """Whether this session gets a Cancel button for `job`: unfinished, executed by this process (a run followed
    from another replica is cancelled there), and this person's or the presenter's."""
    return (not snap.finished and getattr(job, "local", True)
            and (snap.owner == owner() or bool(st.session_state.get(keys.PRESENTER_OK))))


def shows_private(snap) -> bool:
    """Whether this session may see what a run learned from uploaded text (its prompts and replies)."""
    return not snap.private or snap.owner == owner()


def whose(snap, mine: str = "your run") -> str:
    if snap.owner == owner():
        return mine
    return snap.who or snap.title


FOLLOWER_REFRESH_S = 5.0     # how often someone else's run is checked for news (the owner's: the view's refresh_s)


def _watched(kind: str):
    """Called on every tick of a live panel: keeps the shown job alive (a viewer is there) and returns what the
    panel shows of it, so the panel is redrawn only when that changed (heartbeat.live)."""
    job = to_show(kind)
    if job is None:
        return None
    job.touch()
    snap = job.snapshot()
    return snap.id, snap.state, snap.position, snap.version


def live(kind: str, key: str, draw: Callable[[], None], refresh_s: float = 1.5) -> None:
    """Draw a `kind` panel (`draw` calls `panel`) that follows the shown run: redrawn when the run reports progress
    or changes state, checked every `refresh_s` seconds for one's own run (or the presenter's), every
    FOLLOWER_REFRESH_S for someone else's, so a room of 100 watching the presenter's race does not redraw 100
    loss charts a second."""
    job = to_show(kind)
    own = job is not None and (job.owner == owner() or bool(st.session_state.get(keys.PRESENTER_OK)))
    heartbeat.live(f"{key}_live", draw, refresh_s if own or job is None else FOLLOWER_REFRESH_S,
                   lambda: _watched(kind))


def panel(kind: str, what: str, key: str, progress_key: str, *, empty: str, mine: str = "your run",
          detail: Callable[[Any], str] = lambda payload: "", cancelled_note: str = ""):
    """The top of a live panel for `kind` jobs (draw it with `live`): keeps the job alive while viewed, says whose
    run it shows, its queue place, a Cancel button (the owner's or the presenter's), and what went wrong. Returns
    (snapshot, payload) — the payload is the job's result once finished, else its latest `progress_key` progress
    (None before the first) — or None when nothing ran yet (`empty` is shown; a participant in a room reads that
    the presenter's run will appear). `what` names the run in sentences ("The race")."""
    job = to_show(kind)
    if st.session_state.get(STORE_DOWN):
        st.warning(STORE_NOTE, icon=":material/cloud_off:")
    if job is None:
        if st.session_state.get(STORE_DOWN):
            return None
        if roles.current().watches:
            st.info(f"{what} has not started in this room yet: when the presenter starts it, it runs here live.")
        else:
            st.info(empty)
        return None
    job.touch()
    snap = job.snapshot()
    who = whose(snap, mine)
    if snap.state == "queued":
        st.info(f"Waiting for the training queue: {snap.position - 1} run(s) ahead of {who}.")
    payload = snap.progress.get(progress_key) if snap.result is None else snap.result
    cols = st.columns([3, 1])
    cols[0].markdown(f"**Showing {literal(who)}{detail(payload) if payload is not None else ''}** — {snap.state}")
    if can_cancel(job, snap):
        cols[1].button("Cancel", key=f"{key}_cancel", on_click=job.cancel, icon=":material/stop_circle:")
    if snap.state == "failed":
        st.error(f"{what} stopped: {snap.error}")
    if snap.state == "cancelled":
        st.warning(f"{what} was cancelled" + (" (nobody was watching it any more)."
                                              if snap.cancel_reason == "abandoned" else ".") + cancelled_note)
    return snap, payload
