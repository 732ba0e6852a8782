"""Starting and finding runs on the server's one training queue (`components.common.cache.jobs`), for every lab
that trains: one owner id per browser session, the memory check before a private copy of the model is made, the
presenter's runs named as such, and a refusal (queue full, a run of yours already waiting) shown as one sentence."""
from __future__ import annotations

import uuid
from typing import Any, Callable

import streamlit as st

from components.common import cache as app_cache
from components.common import keys

OWNER = "training_owner"


def owner() -> str:
    """This browser session's id on the training queue."""
    if OWNER not in st.session_state:
        st.session_state[OWNER] = uuid.uuid4().hex
    return st.session_state[OWNER]


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
