"""Page 11 demo "retrieval": a question → the k closest chunks by cosine similarity (faiss, exact), optionally
re-ranked with BM25, each shown with its score and highlighted in its document."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import errors
from components.common.charts import PNG_ONLY
from components.common.text import literal
from components.labs.rag_applications import cache, knowledge
from core.labs.rag_applications.answering import QuestionError, clean_question

KEY = "rag_retrieve"


def presets() -> dict[str, str]:
    data = cache.question_set()
    picks = {f"Handbook: {q.question}": q.question for q in data.questions[:6]}
    picks[f"Biography: {data.hallucination['question']}"] = data.hallucination["question"]
    picks["Not in any document: "
          "What is the wifi password of the canteen?"] = "What is the wifi password of the canteen?"
    return picks


def _on_preset(key: str, options: dict[str, str]) -> None:
    choice = st.session_state.get(f"{key}_preset")
    if choice in options:
        st.session_state[f"{key}_question"] = options[choice]


def question_input(key: str, label: str = "Your question") -> str | None:
    """A preset picker and a question box; returns the cleaned question, or None after saying why."""
    options = presets()
    st.session_state.setdefault(f"{key}_question", next(iter(options.values())))
    st.selectbox("Pick a question", ["—"] + list(options), key=f"{key}_preset", on_change=_on_preset,
                 args=(key, options))
    text = st.text_input(label, key=f"{key}_question")
    try:
        return clean_question(text)
    except QuestionError as exc:
        st.info(str(exc))
        return None


def hits_chart(hits, title: str):
    labels = [f"{h.rank}. {h.chunk.citation}" for h in hits]
    fig = go.Figure(go.Bar(x=[h.score for h in hits][::-1], y=labels[::-1], orientation="h",
                           text=[f"{h.score:.3f}" for h in hits][::-1], textposition="outside",
                           marker_color="#5B3CC4", hovertext=[h.chunk.text[:200] for h in hits][::-1]))
    fig.update_layout(title=title, height=110 + 34 * len(hits), margin=dict(l=10, r=40, t=50, b=30),
                      xaxis=dict(title="cosine similarity with the question", range=[0, 1.05]))
    return fig


def show() -> None:
    st.markdown("#### Try it: retrieve")
    st.markdown("Your question is embedded by MiniLM exactly like the chunks were, and the index returns the "
                "chunks whose vectors are closest (cosine similarity: 1 = same direction, 0 = unrelated). "
                "Nothing here reads the words for meaning: closeness of vectors is all the retriever knows.")
    question = question_input(KEY)
    a, b = st.columns(2)
    k = a.slider("How many chunks (k)", 1, 10, 3, key=f"{KEY}_k")
    rerank = b.toggle("Re-rank with word matching (BM25)", key=f"{KEY}_rerank",
                      help="Takes the 3k closest chunks and re-orders them by fusing the cosine ranking with a "
                           "BM25 keyword ranking (reciprocal rank fusion), then keeps k.")
    if question is None:
        return
    base = knowledge.current()
    with errors.shown("The knowledge base could not be searched"):
        hits, extra = knowledge.retrieve(base, question, k, rerank)
        if hits is None:
            return
        n = len(knowledge.chunks(base))
        if k > n:
            st.info(f"The knowledge base has only {n} chunk(s), so only {n} can be returned.")
        st.plotly_chart(hits_chart(hits, f"The {len(hits)} closest chunks ({base.settings})"),
                        key=f"{KEY}_chart", config=PNG_ONLY)
        rows = []
        for h in hits:
            row = {"rank": h.rank, "source": h.chunk.citation, "cosine": round(h.score, 3),
                   "tokens": h.chunk.n_tokens, "text": " ".join(h.chunk.text.split())[:160]}
            if rerank:
                bm, fused = extra.get(h.chunk.index, (0.0, 0.0))
                row.update({"BM25": round(bm, 2), "fused": round(fused, 4)})
            rows.append(row)
        st.dataframe(rows, hide_index=True, width="stretch")
        if hits:
            top = hits[0].chunk
            doc = next(d for d in base.docs if d.name == top.doc)
            st.markdown(f"**The best chunk in its document** ({literal(top.citation)}), outlined, "
                        "with the text around it:")
            near = [c for c in knowledge.chunks(base) if c.doc == doc.name]
            st.html(knowledge.chunk_html(doc.text, near, marked={top.index}, focus=(top.start, top.end),
                                             margin=250))
        st.caption("Try the question that no document answers: the retriever still returns k chunks, just with lower "
                   "scores. It never says “nothing found” unless you add a threshold.")
