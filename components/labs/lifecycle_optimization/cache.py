"""Streamlit caches for page 10, lifecycle & optimization (one private pruning copy, computed pruning points).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it). Pruning is
deterministic, so each sparsity is computed once per server and shared: a room of 30 moving the slider costs one
copy of the model (~540 MB), not thirty."""
from __future__ import annotations

import threading

import streamlit as st

from components.common.cache import model_service

# A structured point makes a fresh private copy of the model (~540 MB): one at a time for the whole server, however
# many sessions ask for different settings at once.
_ONE_FRESH_COPY = threading.Lock()


@st.cache_resource(show_spinner=False)
def pruning_copy():
    """(private copy of the decoder, lock): pruned and restored in place, one sparsity at a time."""
    from core.serving.measure import check_free_memory
    service = model_service()
    status = service.load(kind="causal-lm")
    check_free_memory(int(status.memory_bytes * 1.3), service.device)
    return service.decoder_copy(), threading.Lock()


@st.cache_data(show_spinner=False, max_entries=4)
def reference_logits(ids: tuple[int, ...]):
    from core.serving.measure import forward_logits
    with model_service().borrowed_decoder() as net:
        return forward_logits(net, list(ids)).logits


@st.cache_data(show_spinner=False, max_entries=64)
def unstructured(ids: tuple[int, ...], sparsity: float):
    """The pruned copy's agreement with the original at one sparsity (a pruning.Point)."""
    from core.labs.lifecycle_optimization import pruning
    copy, lock = pruning_copy()
    reference = reference_logits(ids)
    with lock:
        with model_service().borrowed_decoder() as original:     # the shared model's lock only while copying back
            pruning.restore_(copy, original)
        pruning.magnitude_prune_(copy, sparsity)
        return pruning.measure(copy, reference, list(ids), pruning.sparsity_of(copy))


@st.cache_data(show_spinner=False, max_entries=16)
def structured(ids: tuple[int, ...], fraction: float, method: str):
    """A fresh copy with `fraction` of its MLP channels removed, ranked by `method`, measured (a
    pruning.Structured); the copy is freed."""
    from core.labs.lifecycle_optimization import pruning
    from core.serving.measure import check_free_memory
    service = model_service()
    status = service.load(kind="causal-lm")
    calibration = service.encode_ids(pruning.calibration_text())
    reference = reference_logits(ids)
    with _ONE_FRESH_COPY:
        check_free_memory(int(status.memory_bytes * 1.3), service.device)
        return pruning.structured_point(service.decoder_copy, reference, list(ids), fraction, method, calibration)


@st.cache_data(show_spinner=False, max_entries=4)
def structured_heads(ids: tuple[int, ...], per_group: int):
    """A fresh copy with `per_group` query heads removed from every group of heads sharing a key/value head,
    ranked by what each head writes on sample text, measured (a pruning.Structured); the copy is freed."""
    from core.labs.lifecycle_optimization import pruning
    from core.serving.measure import check_free_memory
    service = model_service()
    status = service.load(kind="causal-lm")
    calibration = service.encode_ids(pruning.calibration_text())
    reference = reference_logits(ids)
    with _ONE_FRESH_COPY:
        check_free_memory(int(status.memory_bytes * 1.3), service.device)
        return pruning.structured_heads_point(service.decoder_copy, reference, list(ids), per_group, calibration)


@st.cache_data(show_spinner=False)
def heads() -> tuple[int, int]:
    """(query heads, key/value heads) per layer of the shared decoder."""
    from core.labs.lifecycle_optimization import pruning
    with model_service().borrowed_decoder() as net:
        return pruning.head_layout(net)


@st.cache_data(show_spinner=False)
def parameters() -> int:
    from core.labs.lifecycle_optimization import pruning
    with model_service().borrowed_decoder() as net:
        return pruning.parameter_count(net)


@st.cache_data(show_spinner=False, max_entries=8)
def kernel_variant(ids: tuple[int, ...], variant: str):
    """One precision built from a private copy and measured against FP32 (a kernels.Measured); the copy is freed."""
    from core.labs.lifecycle_optimization import kernels
    from core.serving.measure import check_free_memory
    service = model_service()
    status = service.load(kind="causal-lm")
    check_free_memory(int(status.memory_bytes * 2.2), service.device)        # the copy and its quantized twin
    reference = reference_logits(ids)
    copy = service.decoder_copy()
    try:
        return kernels.measure(copy, reference, list(ids), variant)
    finally:
        del copy
