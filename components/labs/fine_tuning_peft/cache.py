"""Streamlit caches for page 7, fine-tuning & PEFT: the original model's scores and the encoded examples (the
server's one training queue is `components.common.cache.jobs`, shared with page 9).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import threading

import streamlit as st

from components.common.cache import model_service
from core.labs.fine_tuning_peft import data


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
    service = model_service()
    tokenizer = service.tokenizer()
    example = data.task_examples(task, "train")[index]
    enc = data.encode(tokenizer, example)
    pieces = [tokenizer.decode([i]) for i in enc.ids]
    return example.prompt, example.completion, enc.ids, pieces, enc.graded


@st.cache_data(show_spinner=False)
def decoder_config() -> dict:
    """SmolLM2's config (read from its files; the weights are not loaded)."""
    from core.serving import inspection
    return inspection.model_config(model_service()).to_dict()
