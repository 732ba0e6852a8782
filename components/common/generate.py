"""A learner's own generation: one per person at a time (all their tabs together), with their place in the queue.

Every demo that answers one learner's click goes through `generate`, which passes the browser's id
(components/common/identity.py) to the model service as the request's owner: a second click, another demo's
button or another tab of the same browser replaces the learner's earlier request, still waiting or running,
instead of queueing behind it (core/serving/batching.BatchScheduler.submit). So one person with many tabs holds one
place in the batch, not one per tab. Work a whole room shares (the cached benchmark answers of pages 8 and 11) has
no owner, since other sessions wait on it too.
"""
from __future__ import annotations

from contextlib import contextmanager

from components.common import identity


def session_owner() -> str:
    """The owner of this person's requests (the training queue uses the same id: training.owner)."""
    return identity.key()


def generate(service, messages, settings=None, model: str | None = None, *, replace: bool = True, **kwargs):
    """service.generate for this session; `replace=False` for the second and later answers of one click."""
    return service.generate(messages, settings, model=model, owner=session_owner(), replace=replace, **kwargs)


def queue_note(placeholder, stream) -> None:
    """Before the first token: how many requests will start before this one, when any."""
    ahead = stream.ahead
    if ahead:
        placeholder.caption(f"{ahead} request(s) ahead of yours; your answer starts when a place frees up "
                            "(answers run together in batches).")


@contextmanager
def streaming(stream):
    """`with streaming(stream) as tokens: for token in tokens: ...` — ends the request as soon as the loop is left.

    A rerun (Stop, another click, a closed tab) leaves the loop with Streamlit's control exception, whose traceback
    keeps the loop's frame, and so the stream's generator, alive for a while: without an explicit close the model
    went on writing the abandoned answer and its result still said nothing about being stopped when the next run
    drew it."""
    tokens = iter(stream)
    try:
        yield tokens
    finally:
        close = getattr(tokens, "close", None)
        if close is not None:
            close()
