"""Page 11 demos "retrieval-metrics" (recall@k and MRR on the shipped question set as chunk size and k change)
and "vector-index" (exact search next to HNSW on a large corpus: why vector databases exist)."""
from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from components.common import errors
from components.common.charts import PNG_ONLY
from components.common.text import literal
from components.labs.rag_applications import cache, knowledge
from core.labs.rag_applications import index, retrieval

KEY = "rag_metrics"
SIZES = (32, 64, 128, 256)
KS = (1, 2, 3, 5, 10)
CORPUS_SIZES = (10_000, 50_000, 100_000)
EF_VALUES = (10, 16, 32, 64, 128, 256)     # at least k = 10: the walk keeps at least k candidates


def _scores(base):
    """(size, RetrievalScore) for each chunk size, on the shipped questions, with the current documents."""

    data = cache.question_set()
    service = cache.model_service()
    query_vectors = service.embed([q.question for q in data.questions])
    out = []
    bar = st.progress(0.0, text="Measuring retrieval…")
    for n, size in enumerate(SIZES, start=1):
        idx = cache.knowledge_index(base.docs, base.key, size, size // 4, base.persist)
        score = retrieval.score_index(idx, base.docs, data.questions, query_vectors, KS)
        out.append(replace(score, size=size, overlap=size // 4))
        bar.progress(n / len(SIZES), text=f"Measured {n} of {len(SIZES)} chunk sizes")
    bar.empty()
    return out


def _chart(scores):
    fig = go.Figure()
    colours = ("#B39DDB", "#5B3CC4", "#00897B", "#E65100")
    for score, colour in zip(scores, colours):
        fig.add_trace(go.Scatter(x=list(score.recall), y=list(score.recall.values()), mode="lines+markers",
                                 line=dict(color=colour, width=3),
                                 name=f"{score.size} tokens ({score.n_chunks} chunks) · MRR {score.mrr:.2f}"))
    fig.update_layout(title="Recall@k on the 30 questions with known answers", height=380,
                      margin=dict(l=10, r=10, t=50, b=40),
                      xaxis=dict(title="k (chunks retrieved)", tickvals=list(KS)),
                      yaxis=dict(title="recall@k", range=[0, 1.05], tickformat=".0%"),
                      legend=dict(title="chunk size", orientation="h", y=-0.25))
    return fig


def show_metrics() -> None:
    st.markdown("#### Try it: measure retrieval")
    st.markdown("Thirty questions about the handbook and the biography come with the sentence that answers each "
                "one (its *gold* evidence). A chunk holding at least half of that sentence is a **gold chunk**. "
                "**Recall@k** is the share of questions with a gold chunk among the top k results; **MRR** (mean "
                "reciprocal rank) averages 1/rank of the first gold chunk, so 1.0 means it always came first. "
                "Overlap is a quarter of the chunk size. Your uploads and the lessons, if included, act as "
                "distractors.")
    base = knowledge.current()
    if st.button("Measure four chunk sizes", key=f"{KEY}_run", type="primary"):
        with errors.shown("Retrieval could not be measured"):
            if knowledge.index(base) is not None:
                st.session_state[f"{KEY}_scores"] = (base.key, _scores(base))
    saved = st.session_state.get(f"{KEY}_scores")
    if not saved:
        return
    key, scores = saved
    if key != base.key:
        st.caption("Measured before your knowledge base changed: press the button again to update.")
    st.plotly_chart(_chart(scores), key=f"{KEY}_chart", config=PNG_ONLY)
    rows = [{"chunk size": s.size, "chunks": s.n_chunks, **{f"recall@{k}": f"{v:.0%}" for k, v in s.recall.items()},
             "MRR": round(s.mrr, 3), "not found in top 10": ", ".join(s.missing) or "—"} for s in scores]
    st.dataframe(rows, hide_index=True, width="stretch")
    best = max(scores, key=lambda s: s.mrr)
    st.caption(f"Best here: {best.size}-token chunks (MRR {best.mrr:.2f}). Small chunks hold one fact and match "
               "a question sharply but can cut a fact in two; big ones blur several topics into one vector. The "
               "best size depends on your documents and questions, which is why you measure it.")


def _tradeoff_chart(points, exact_ms: float):
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[p.approx_ms for p in points], y=[p.recall for p in points], mode="lines+markers+text",
                             text=[f"ef {p.ef_search}" for p in points],
                             textposition=["bottom right" if i % 2 else "top left" for i in range(len(points))],
                             name="HNSW",
                             marker_color="#5B3CC4"))
    fig.add_trace(go.Scatter(x=[exact_ms], y=[1.0], mode="markers+text", text=["exact"], textposition="bottom left",
                             name="exact (flat)", marker=dict(size=12, color="#E65100", symbol="diamond")))
    fig.update_layout(title="Approximate search: recall@10 against time per query", height=380,
                      margin=dict(l=10, r=10, t=50, b=40), xaxis=dict(title="milliseconds per query", type="log"),
                      yaxis=dict(title="recall@10", range=[0.5, 1.06], tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def show_index() -> None:
    st.markdown("#### Try it: why vector databases exist")
    st.markdown("The handbook has a few dozen chunks: comparing the question with every one of them (an *exact*, "
                "flat search) takes microseconds. A company wiki has millions. Here a large corpus of random "
                "vectors shaped like embeddings (384 numbers, in 200 topic clusters; embedding that many real texts "
                "would take minutes on this server) is searched two ways: exactly, and with **HNSW**, a graph "
                "index that walks from neighbour to neighbour and checks only a small part of the corpus. "
                "`ef` is how many candidates the walk keeps: more is slower and more accurate.")
    a, b = st.columns(2)
    n = a.select_slider("Corpus size (vectors)", CORPUS_SIZES, value=CORPUS_SIZES[1], key="rag_vec_n",
                        format_func=lambda v: f"{v:,}")
    ef = b.select_slider("ef (HNSW search breadth)", EF_VALUES, value=16, key="rag_vec_ef")
    if not st.toggle("Build the two indexes", key="rag_vec_on",
                     help=f"Building HNSW over {n:,} vectors takes a while on a small server; it is built once."):
        st.caption("Switch on to build the indexes (once per server and corpus size).")
        return
    with errors.shown("The indexes could not be built"):
        with st.spinner(f"Generating {n:,} vectors and building both indexes (once per server)…"):
            corpus, queries, built = cache.synthetic_corpus(n)
        points = [index.compare(corpus, queries, k=10, ef_search=e, built=built)[0] for e in EF_VALUES]
        chosen = next(p for p in points if p.ef_search == ef)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Exact: ms per query", f"{chosen.exact_ms:.2f}")
        m2.metric("HNSW: ms per query", f"{chosen.approx_ms:.3f}",
                  delta=f"{chosen.exact_ms / max(chosen.approx_ms, 1e-6):.0f}× faster", delta_color="off")
        m3.metric("HNSW recall@10", f"{chosen.recall:.0%}")
        m4.metric("Index size exact / HNSW", f"{chosen.exact_bytes / 1e6:.0f} / {chosen.approx_bytes / 1e6:.0f} MB")
        st.plotly_chart(_tradeoff_chart(points, chosen.exact_ms), key="rag_vec_chart",
                        config=PNG_ONLY)
        st.caption(f"{n:,} vectors; build time: exact {chosen.exact_build_s:.1f} s, "
                   f"HNSW {chosen.approx_build_s:.1f} s; "
                   "median of 50 queries, one at a time. Exact search grows with the corpus; HNSW grows roughly "
                   "with its logarithm, at the price of a slower build, more memory, and sometimes missing a true "
                   "neighbour (recall below 100 %). "
                   f"{literal('Vector databases (and faiss, used here) are built around such indexes.')}")
