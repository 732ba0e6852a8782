"""Streamlit caches for page 11, RAG & LLM-powered apps.

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it). The knowledge
index of a corpus and chunk settings is built once per server and shared by every session (a room of 30 asking
questions costs 30 small query embeddings, not 30 indexes); the shipped corpus's index is also saved on disk.
"""
from __future__ import annotations

import streamlit as st

from components.common.cache import model_service
from core.labs.rag_applications import chunking, documents, index, retrieval, tools
from core.labs.rag_applications.retrieval import BM25


@st.cache_data(show_spinner=False)
def shipped_corpus(with_lessons: bool):
    return documents.corpus(with_lessons)


@st.cache_data(show_spinner=False)
def shipped_document(name: str):
    return documents.shipped(name)


@st.cache_data(show_spinner=False)
def question_set():
    return retrieval.load_questions()


@st.cache_data(show_spinner=False, max_entries=256)
def token_spans(_doc, digest: str) -> tuple[tuple[int, int], ...]:
    """Character spans of MiniLM's tokens of a document (special tokens left out); keyed by the document's hash."""
    tokens = model_service().tokenize(_doc.text, kind="sentence-encoder").tokens
    return tuple((t.start, t.end) for t in tokens if not t.special)


@st.cache_data(show_spinner=False, max_entries=64)
def chunks(_docs, key: str, size: int, overlap: int):
    return chunking.chunk_corpus(_docs, lambda d: token_spans(d, d.digest), size, overlap)


@st.cache_resource(show_spinner=False, max_entries=16)
def knowledge_index(_docs, key: str, size: int, overlap: int, persist: bool):
    """The MiniLM vectors and faiss index of a corpus chunked with (size, overlap). `persist`: save it under the
    cache folder (the shipped corpus; never the learners' uploads)."""
    service = model_service()
    folder = service.settings.cache_dir / "rag" if persist else None
    name = f"{key}-{size}-{overlap}-{service.registry.default_encoder}"
    return index.build(chunks(_docs, key, size, overlap), service.embed, cache_dir=folder, key=name)


@st.cache_resource(show_spinner=False, max_entries=16)
def bm25(_index, key: str, size: int, overlap: int):
    return BM25([c.text for c in _index.chunks])


@st.cache_data(show_spinner=False, max_entries=1024)
def query_vector(text: str):
    return model_service().embed([text])[0]


@st.cache_resource(show_spinner=False, max_entries=4)
def synthetic_corpus(n: int):
    """n clustered unit vectors and 50 held-out queries, with an exact and an HNSW index over the vectors."""
    vectors = index.synthetic_vectors(n + 50, seed=n)
    corpus, queries = vectors[:n], vectors[n:]
    _, built = index.compare(corpus, queries[:1], k=10)
    return corpus, queries, built


@st.cache_resource(show_spinner=False)
def reply_book() -> dict:
    """Greedy replies shared by every session: {(messages, max_new_tokens, stops): text}. Greedy decoding is
    deterministic, so a reply computed for one learner is the reply for all."""
    return {}


@st.cache_data(show_spinner=False)
def arithmetic_set():
    return tools.load_arithmetic()
