"""The learner's knowledge base on page 11, shared by the page's demos through session state: which documents
(shipped, the app's lessons, uploads), the chunk settings, and the index built from them."""
from __future__ import annotations

import html
from dataclasses import dataclass, replace

import streamlit as st

from components.common.model_status import load_with_progress
from components.labs.rag_applications import cache
from core.labs.rag_applications import retrieval
from core.labs.rag_applications.documents import corpus_key

SIZE, OVERLAP, LESSONS, UPLOADS = "rag_size", "rag_overlap", "rag_lessons", "rag_uploads"
DEFAULT_SIZE, DEFAULT_OVERLAP = 64, 16     # the best MRR on the shipped questions (bench/rag.py)
PALETTE = ("#BBDEFB", "#C8E6C9", "#FFE0B2", "#E1BEE7", "#FFF59D", "#B2EBF2")
OVERLAP_COLOUR = "#CFD8DC"
MAX_SHOWN = 30_000


@dataclass(frozen=True)
class Base:
    docs: tuple
    key: str
    size: int
    overlap: int
    persist: bool           # only the shipped corpus is saved on disk

    @property
    def settings(self) -> str:
        return f"{self.size}-token chunks, {self.overlap} overlap"


def current() -> Base:
    docs = tuple(cache.shipped_corpus(bool(st.session_state.get(LESSONS, True)))) + \
        tuple(st.session_state.get(UPLOADS, ()))
    size = int(st.session_state.get(SIZE, DEFAULT_SIZE))
    overlap = min(int(st.session_state.get(OVERLAP, DEFAULT_OVERLAP)), size // 2)
    return Base(docs, corpus_key(list(docs)), size, overlap, persist=not st.session_state.get(UPLOADS))


def chunks(base: Base):
    return cache.chunks(base.docs, base.key, base.size, base.overlap)


def index(base: Base):
    """The knowledge index (built on first use, with a spinner saying what is happening)."""
    service = cache.model_service()
    if not load_with_progress(service, service.registry.default_encoder, "sentence-encoder"):
        return None
    with st.spinner(f"Embedding the knowledge base ({base.settings}) with MiniLM… (once per server)"):
        return cache.knowledge_index(base.docs, base.key, base.size, base.overlap, base.persist)


def chunk_html(text: str, chunks, marked: set[int] = frozenset(), focus: tuple[int, int] | None = None,
               margin: int = 500) -> str:
    """A document with its chunks as coloured spans (escaped HTML). Text shared by two chunks (the overlap) is
    grey-blue; a small number opens each chunk; chunks in `marked` get a thick outline. With `focus` (a character
    span), only the text around it is shown (± `margin` characters), with "…" where it is cut."""
    if focus is not None:
        lo, hi = max(0, focus[0] - margin), min(len(text), focus[1] + margin)
        lo = text.rfind("\n", 0, lo) + 1 if lo else 0
        inner = chunk_html(text[lo:hi], [_shifted(c, lo, hi) for c in chunks if c.end > lo and c.start < hi], marked)
        return inner.replace('<div class="rag-doc">', '<div class="rag-doc">' + ("…" if lo else ""), 1) \
            .replace("</div>", ("…" if hi < len(text) else "") + "</div>", 1)
    shown = text[:MAX_SHOWN]
    cuts = sorted({0, len(shown), *(min(c.start, len(shown)) for c in chunks),
                   *(min(c.end, len(shown)) for c in chunks)})
    starts = {c.start: c for c in chunks}
    out = []
    for a, b in zip(cuts, cuts[1:]):
        covering = [c for c in chunks if c.start <= a and c.end >= b]
        piece = html.escape(shown[a:b])
        if a in starts:
            c = starts[a]
            out.append(f'<sup class="rag-no">{c.index + 1}</sup>')
        if not covering:
            out.append(piece)
            continue
        colour = OVERLAP_COLOUR if len(covering) > 1 else PALETTE[covering[0].index % len(PALETTE)]
        outline = "rag-mark" if any(c.index in marked for c in covering) else ""
        names = ", ".join(f"chunk {c.index + 1}" for c in covering)
        out.append(f'<span class="rag-chunk {outline}" title="{names}" style="background:{colour}">{piece}</span>')
    more = f"… ({len(text) - MAX_SHOWN:,} more characters not shown)" if len(text) > MAX_SHOWN else ""
    return STYLE + f'<div class="rag-doc">{"".join(out)}{html.escape(more)}</div>'


STYLE = """<style>
.rag-doc{font-size:1rem;line-height:1.8;white-space:pre-wrap;overflow-wrap:anywhere;padding:.5rem .7rem;
border:1px solid #ddd;border-radius:6px;background:#fff;color:#1b1b1b;max-height:26rem;overflow-y:auto}
.rag-chunk{border-radius:2px}
.rag-chunk[style*="#CFD8DC"]{text-decoration:underline dotted #546E7A}
.rag-mark{box-shadow:0 0 0 2px #5B3CC4;}
.rag-no{font-size:.7rem;font-weight:700;color:#5B3CC4;margin-right:1px}
</style>"""


def retrieve(base: Base, question: str, k: int, rerank: bool = False):
    """The top-k hits for a question (None when the encoder could not load). With `rerank`, the top 3k by cosine
    are re-ordered by fusing cosine and BM25 ranks and cut to k; returns (hits, {chunk index: (bm25, fused)})."""
    idx = index(base)
    if idx is None:
        return None, {}
    query = cache.query_vector(question)
    if not rerank:
        return idx.search(query, k), {}
    candidates = idx.search(query, max(k, 3 * k))
    fused = retrieval.rerank(question, candidates, cache.bm25(idx, base.key, base.size, base.overlap))
    return [h for h, _, _ in fused[:k]], {h.chunk.index: (b, f) for h, b, f in fused}


def _shifted(chunk, lo: int, hi: int):
    return replace(chunk, start=max(chunk.start, lo) - lo, end=min(chunk.end, hi) - lo)
