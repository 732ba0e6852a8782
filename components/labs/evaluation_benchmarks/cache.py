"""Streamlit caches for page 8, evaluation & benchmarks (the shipped sets, scored questions, model summaries,
MiniLM similarities).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it). Greedy
decoding and log-likelihoods are deterministic, so each (question, setting, model) is computed once for everyone:
in a workshop the second participant's benchmark run is instant."""
from __future__ import annotations

import streamlit as st

from components.common.cache import model_service
from core.labs.evaluation_benchmarks import benchmark as bench
from core.labs.evaluation_benchmarks import leaderboard as board
from core.labs.evaluation_benchmarks import summaries
from core.labs.evaluation_benchmarks.summaries import ReplyBoard


@st.cache_data(show_spinner=False)
def benchmark():
    return bench.load()


@st.cache_data(show_spinner=False)
def summary_set():
    return summaries.load()


@st.cache_data(show_spinner=False)
def leaderboard():
    return board.load()


@st.cache_data(show_spinner=False, max_entries=8192)
def scored_question(index: int, k: int, mode: str, perturbation: str, model: str):
    """One benchmark question scored under (k shots, mode, perturbation) by `model`."""
    from core.serving import inspection
    from core.serving.sampling import SamplingSettings

    service, data = model_service(), benchmark()
    question = bench.perturb(data.questions[index], perturbation, seed=index)

    def generate(message: str) -> str:
        settings = SamplingSettings(temperature=0.0, max_new_tokens=8)
        return service.generate([{"role": "user", "content": message}], settings, model=model).collect().text

    return bench.score_question(data, question, index, k, mode, encode=lambda t: service.encode_ids(t, model),
                                score=lambda c, conts: inspection.continuation_logprobs(service, c, conts, model),
                                generate=generate)


@st.cache_resource(show_spinner=False)
def summary_replies():
    """The model's greedy replies on the summarisation set, shared by all sessions: a ReplyBoard keyed by
    (item id, shots, model) holding (reply, seconds). Not st.cache_data because the view submits all missing
    items at once, so the model service batches them, and stores each reply as it finishes."""
    return ReplyBoard()


@st.cache_data(show_spinner=False, max_entries=512)
def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts' MiniLM sentence embeddings."""
    vectors = model_service().embed([a, b])
    return float(vectors[0] @ vectors[1])
