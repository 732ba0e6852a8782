"""Streamlit caches for page 2, inside a transformer (embeddings, attention, bertviz pages).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import streamlit as st

from components.common.cache import model_service
from core.labs.inside_transformer.bertviz_offline import head_view_html, load_vendor, model_view_html
from core.labs.inside_transformer.embeddings import load_sentence_sets
from core.serving.settings import PROJECT_ROOT


@st.cache_data(show_spinner=False, ttl=60)
def sentence_sets():
    return load_sentence_sets()


@st.cache_data(show_spinner=False, max_entries=32)
def token_embeddings(text: str, max_tokens: int):
    from core.serving import inspection
    return inspection.token_embeddings(model_service(), text, max_tokens=max_tokens)


@st.cache_data(show_spinner=False, max_entries=256)
def nearest_tokens(token_id: int, n: int):
    from core.serving import inspection
    return inspection.nearest_tokens(model_service(), token_id, n)


@st.cache_data(show_spinner=False, max_entries=32)
def sentence_embeddings(sentences: tuple[str, ...]):
    return model_service().embed(list(sentences))


@st.cache_data(show_spinner=False, max_entries=8)
def attentions(text: str, kind: str, max_tokens: int):
    return model_service().attentions(text, kind=kind, max_tokens=max_tokens)


@st.cache_data(show_spinner=False, max_entries=8)
def attentions_with_continuation(text: str, new_tokens: int, max_tokens: int):
    from core.serving import inspection
    return inspection.attentions_with_continuation(model_service(), text, new_tokens, max_tokens=max_tokens)


@st.cache_resource(show_spinner=False)
def bertviz_vendor():
    return load_vendor(PROJECT_ROOT / "components" / "static" / "vendor")


@st.cache_data(show_spinner=False, max_entries=16)
def bertviz_page(view: str, weights, tokens: tuple[str, ...], layer: int = 0, layers: tuple[int, ...] | None = None):
    """bertviz's self-contained head or model view page (rebuilding it takes ~0.3 s; hashing the weights ~10 ms)."""
    if view == "head":
        return head_view_html(weights, list(tokens), bertviz_vendor(), layer=layer)
    return model_view_html(weights, list(tokens), bertviz_vendor(), layers=None if layers is None else list(layers))
