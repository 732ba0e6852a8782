"""Streamlit caches for page 7, fine-tuning & PEFT: the server's one training queue and the original model's scores.

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it). Training is the
heaviest thing the app does, so every session shares one `Jobs` queue that runs one job at a time: a room of 30
pressing "Start the race" gets one race and 29 queue positions, not 30 races fighting for two cores.
"""
from __future__ import annotations

import threading

import streamlit as st

from components.common.cache import model_service


@st.cache_resource(show_spinner=False)
def jobs():
    from core.serving.jobs import Jobs
    return Jobs(max_queued=6, workers=1, stale_after_s=90.0)


class Befores:
    """The original model's scores per workload (task or upload), kept once a race computed them: the next race on
    the same data skips scoring the original again. Thread-safe: the training worker writes, pages read."""

    def __init__(self):
        self._values: dict = {}
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, value) -> None:
        with self._lock:
            if len(self._values) > 16:
                self._values.clear()
            self._values[key] = value


@st.cache_resource(show_spinner=False)
def befores() -> Befores:
    return Befores()


@st.cache_data(show_spinner=False, max_entries=8)
def encoded(task: str, index: int):
    """One shipped example of `task` (train split) as (prompt, completion, ids, pieces, graded)."""
    from core.labs.fine_tuning_peft import data
    service = model_service()
    tokenizer = service.tokenizer()
    example = data.task_examples(task, "train")[index]
    enc = data.encode(tokenizer, example)
    pieces = [tokenizer.decode([i]) for i in enc.ids]
    return example.prompt, example.completion, enc.ids, pieces, enc.graded


@st.cache_data(show_spinner=False)
def decoder_config() -> dict:
    """SmolLM2's config (read from its files; the weights are not loaded)."""
    return model_service().model_config().to_dict()
