"""Streamlit caches for page 5, model cards and architectures.

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from components.common.cache import model_service
from core.architectures import all_breakdowns
from core.labs.model_cards_architectures.model_card import build_card


@st.cache_data(show_spinner=False)
def arch_breakdowns():
    return all_breakdowns()


@st.cache_data(show_spinner=False, max_entries=16)
def arch_mean_attention(text: str, kind: str, max_tokens: int):
    """(tokens, (seq, seq) attention averaged over every layer and head, original length if cut)."""
    att = model_service().attentions(text, kind=kind, max_tokens=max_tokens)
    return att.tokens, att.weights.mean(axis=(0, 1)), att.truncated_from


@st.cache_data(show_spinner=False, max_entries=32)
def arch_next_tokens(prefix: str, n: int):
    """(tokens the model read, the n likeliest next tokens as (id, text, probability)) for raw text `prefix`."""

    service = model_service()
    ids = service.encode_ids(prefix)
    logits = service.next_token_logits(ids).astype(np.float64)       # (vocab,); raises on an empty prefix
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    top = np.argsort(-probs)[:n].tolist()
    return min(len(ids), service.context_window_of()), list(zip(top, service.token_texts(top), probs[top].tolist()))


@st.cache_data(show_spinner=False)
def arch_encoder_vocabulary():
    from core.serving import inspection
    return inspection.vocabulary(model_service(), kind="sentence-encoder")


@st.cache_data(show_spinner=False, ttl=300)
def model_card(name: str, measured_memory_bytes: int):
    return build_card(model_service().registry.get(name), measured_memory_bytes)
