"""Streamlit caches for page 3, prompt engineering (tasks, bench sets, graded bench answers).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import streamlit as st

from components.common.cache import model_service


@st.cache_data(show_spinner=False)
def prompt_tasks():
    from core.labs.prompt_engineering.prompting import tasks
    return tasks()


@st.cache_data(show_spinner=False)
def bench_set(name: str) -> dict:
    from core.labs.prompt_engineering.prompting import load_set
    return load_set(name)


@st.cache_data(show_spinner=False, max_entries=4096)
def bench_row(set_name: str, task_id: str, index: int, shots: str, cot: bool, model: str):
    """One graded bench answer; greedy decoding makes it repeatable, so each (setting, item, model) runs once."""
    from core.labs.prompt_engineering.prompting import BenchSetting, run_item

    service = model_service()
    generate = lambda messages, settings: service.generate(messages, settings, model=model).collect()
    return run_item(generate, prompt_tasks()[task_id], bench_set(set_name), index, BenchSetting(shots, cot))


@st.cache_data(show_spinner=False, max_entries=1024)
def label_odds(prompt: str, labels: tuple[str, ...], model: str) -> dict[str, float]:
    """P(reply starts with each label) for one user message, from one forward pass of the chat prompt."""
    from core.labs.prompt_engineering.prompting import label_probabilities, label_variants

    service = model_service()
    ids = service.chat_ids([{"role": "user", "content": prompt}], model)
    first = {label: {service.encode_ids(v, model)[0] for v in label_variants(label) if service.encode_ids(v, model)}
             for label in labels}
    return label_probabilities(service.next_token_logits(ids, model), first)
