"""Greedy model replies for page 11's batch demos: everything missing is submitted at once, so the model
service's batch scheduler runs the requests together, and every reply is kept for all sessions."""
from __future__ import annotations

import streamlit as st

from components.labs.rag_applications import cache

MAX_KEPT = 4096        # replies kept for all sessions; the oldest are forgotten beyond this


def _key(messages: list[dict], max_new_tokens: int, stops: tuple[str, ...], prefill: str):
    return (tuple((m["role"], m["content"]) for m in messages), max_new_tokens, stops, prefill)


def greedy(batch: list[list[dict]], max_new_tokens: int = 60, stops: tuple[str, ...] = (), prefill: str = "",
           label: str = "SmolLM2 is answering") -> list[str]:
    """The greedy reply to each chat in `batch`, with a progress bar while the missing ones are generated."""
    from core.serving.sampling import SamplingSettings
    book = cache.reply_book()
    keys = [_key(m, max_new_tokens, stops, prefill) for m in batch]
    missing = [i for i, k in enumerate(keys) if k not in book]
    if missing:
        service = cache.model_service()
        settings = SamplingSettings(temperature=0.0, max_new_tokens=max_new_tokens, stop_sequences=stops)
        streams = {i: service.generate(batch[i], settings, prefill=prefill) for i in missing}
        bar = st.progress(0.0, text=f"{label}: 0 of {len(missing)} done")
        for done, (i, stream) in enumerate(streams.items(), start=1):
            book[keys[i]] = stream.collect().text
            bar.progress(done / len(missing), text=f"{label}: {done} of {len(missing)} done")
        bar.empty()
    found = [book[k] for k in keys]
    while len(book) > MAX_KEPT:
        book.pop(next(iter(book)))
    return found
