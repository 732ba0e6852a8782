"""Streamlit caches for page 6, compute and quantization (quantized copies, FP32 references).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import streamlit as st

from components.common.cache import model_service
from core.labs.compute_quantization.memory import known_models


@st.cache_data(show_spinner=False)
def memory_known_models():
    return known_models()


@st.cache_resource(show_spinner=False, max_entries=6)
def quantized_decoder(scheme: str, group_size: int):
    """A private copy of the decoder quantized with `scheme`, shared by every session (read-only, with a lock).

    Checks free memory before copying; raises core.serving.measure.MemoryShortError with a message when short."""
    from core.labs.compute_quantization.quantization import build_quantized
    from core.serving.measure import check_free_memory

    service = model_service()
    status = service.load(kind="causal-lm")
    check_free_memory(int(status.memory_bytes * 1.3), service.device)
    return build_quantized(service.decoder_copy, scheme, group_size, service.device)


@st.cache_data(show_spinner=False, max_entries=16)
def fp32_greedy(prompt_ids: tuple[int, ...], new_tokens: int, stop_ids: tuple[int, ...]):
    """The shared FP32 decoder's greedy answer, the reference for quantization (cached: it holds the model's lock)."""
    from core.serving.measure import greedy_generate

    with model_service().borrowed_decoder() as net:
        return greedy_generate(net, list(prompt_ids), new_tokens, set(stop_ids))


@st.cache_data(show_spinner=False, max_entries=4)   # each entry is tokens × 49,152 float32 (~20 MB for 100 tokens)
def fp32_logits(ids: tuple[int, ...]):
    """The shared FP32 decoder's logits for every position of `ids` (timed), the reference for quantization."""
    from core.serving.measure import forward_logits

    with model_service().borrowed_decoder() as net:
        return forward_logits(net, list(ids))
