"""Starting and finding runs on the server's one training queue (`components.common.cache.jobs`), for every lab
that trains.

Who may start: one run at a time per person (the browser's id, whatever its number of tabs); in a workshop room only
the presenter, whose run goes ahead of the queue and is the room's. What a panel shows: this person's unfinished
run, else the newest run they may see: in a room the presenter's run for that room (never another participant's),
outside a room their own or someone else's that used no uploaded data. A run on uploaded data is private: its
samples are shown to its owner only (`shows_private`). Refusals (queue full, a run of yours already waiting) are
one sentence."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from components.common import cache as app_cache
from components.common import heartbeat, identity, keys, roles
from components.common.text import literal
from core.serving.jobs import JobRefused


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
        app_cache.jobs().submit(owner(), title, job, kind=kind, room=role.room if role.leads else "",
                                private=private, who=_who(role), first=role.leads)
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


def to_show(kind: str):
    """The job a `kind` panel shows: this person's own unfinished one, else the newest one `visible` to them; None
    when none ran yet."""
    jobs, me, role = app_cache.jobs(), owner(), roles.current()
    mine = jobs.of(me)
    if mine is not None and mine.kind == kind and not mine.finished:
        return mine
    return next((job for job in reversed(jobs.jobs(kind)) if visible(job, me, role)), None)


def finished_results(kind: str) -> list:
    """Results of the finished `kind` runs this session may see, oldest first (comparisons across runs)."""
    me, role = owner(), roles.current()
    return [snap.result for snap in (job.snapshot() for job in app_cache.jobs().finished(kind))
            if snap.result is not None and visible(snap, me, role)]


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
    if job is None:
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
    if not snap.finished and (snap.owner == owner() or st.session_state.get(keys.PRESENTER_OK)):
        cols[1].button("Cancel", key=f"{key}_cancel", on_click=job.cancel, icon=":material/stop_circle:")
    if snap.state == "failed":
        st.error(f"{what} stopped: {snap.error}")
    if snap.state == "cancelled":
        st.warning(f"{what} was cancelled" + (" (nobody was watching it any more)."
                                              if snap.cancel_reason == "abandoned" else ".") + cancelled_note)
    return snap, payload
