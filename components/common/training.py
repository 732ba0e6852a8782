"""Starting and finding runs on the server's one training queue (`components.common.cache.jobs`), for every lab
that trains: one owner id per browser session, the memory check before a private copy of the model is made, the
presenter's runs named as such, and a refusal (queue full, a run of yours already waiting) shown as one sentence."""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from components.common import cache as app_cache
from components.common.generate import session_owner
from components.common import heartbeat, keys
from components.common.text import literal



def owner() -> str:
    """This browser session's id on the training queue (the same id its generations carry)."""
    return session_owner()


def start(kind: str, what: str, work: Callable[[Any, Any], Any], copies: float = 2.5) -> bool:
    """Queue `work(ctx, service)` as a job of `kind`; before it runs, check that `copies` × the decoder's size is
    free (a private copy plus its training). Returns whether the job was queued."""
    from core.labs.compute_quantization.quantization import check_free_memory
    from core.serving.jobs import JobRefused
    service = app_cache.model_service()

    def job(ctx):
        status = service.load(kind="causal-lm")
        check_free_memory(int(status.memory_bytes * copies), service.device)
        return work(ctx, service)

    title = f"the presenter's {what}" if st.session_state.get(keys.PRESENTER_OK) else f"a participant's {what}"
    try:
        app_cache.jobs().submit(owner(), title, job, kind=kind)
        return True
    except JobRefused as exc:
        st.warning(str(exc))
        return False


def to_show(kind: str):
    """The job a `kind` panel shows: this session's own unfinished one, else the server's latest (a presenter's run
    is the room's); None when none ran yet."""
    jobs = app_cache.jobs()
    mine = jobs.of(owner())
    if mine is not None and mine.kind == kind and not mine.finished:
        return mine
    return jobs.latest(kind)


def panel(kind: str, what: str, key: str, progress_key: str, *, empty: str, mine: str = "your run",
          detail: Callable[[Any], str] = lambda payload: "", cancelled_note: str = "", refresh_s: float = 1.5):
    """The top of a live panel for `kind` jobs (call it inside a fragment): keeps the job alive while viewed, ticks
    the heartbeat while it runs, says whose run it shows, its queue place, a Cancel button (the owner's or the
    presenter's), and what went wrong. Returns (snapshot, payload) — the payload is the job's result once finished,
    else its latest `progress_key` progress (None before the first) — or None when nothing ran yet (`empty` is
    shown). `what` names the run in sentences ("The race")."""
    job = to_show(kind)
    if job is None:
        st.info(empty)
        return None
    job.touch()
    snap = job.snapshot()
    if not snap.finished:
        heartbeat.beat(f"{key}_beat", refresh_s)
    who = mine if snap.owner == owner() else snap.title
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
