"""Streamlit caches for page 4, the sampling lab (next-token logits per prompt).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import streamlit as st

from components.common.cache import model_service


@st.cache_data(show_spinner=False, max_entries=512)
def next_token_logits(ids: tuple[int, ...], model: str):
    return model_service().next_token_logits(list(ids), model)
