"""Page 11 demo "rag-answer": the same question answered by SmolLM2 (or the decoder the learner picked, in this app or
on a model server) alone and with retrieved chunks in its prompt, side by side and streamed; the exact prompts;
citations linked to the chunks they name; and a grounding check that flags answer sentences no retrieved sentence
supports."""
from __future__ import annotations

import html
import time

import streamlit as st

from components.common import cache as app_cache
from components.common import errors, share
from components.common.decoder import decoder_label, ensure_decoder, pick_decoder
from components.common.generate import generate
from components.common.text import literal
from components.labs.rag_applications import cache, knowledge
from components.labs.rag_applications.retrieval_view import question_input
from core.labs.rag_applications import answering
from core.labs.rag_applications.answering import citations

KEY = "rag_answer"
MAX_NEW_TOKENS = 80
# Measured on the 30 shipped questions (64-token chunks, k = 3, bench/rag.py): SmolLM2 answered 8/30 right with
# the chunks in a system message, 5/30 with the lesson's one-message template, 1/30 without retrieval.
LAYOUTS = {"Documents in a system message, question as the user": "system",
           "The lesson's template (one user message)": "user"}


def messages_for(question: str, hits, layout: str, guarded: bool = False) -> list[dict]:
    return answering.rag_messages(question, hits, guarded=guarded, layout=layout)


def stream_pair(service, pairs, boxes, render, model: str | None = None) -> list:
    """Submit every prompt first (the batch scheduler runs them together), then read the streams in turn, one
    token each, so both answers grow at once. Returns each stream's text."""
    from core.serving.sampling import SamplingSettings
    settings = SamplingSettings(temperature=0.0, max_new_tokens=MAX_NEW_TOKENS)
    streams = [generate(service, messages, settings, model=model, replace=i == 0) for i, messages in enumerate(pairs)]
    texts = ["" for _ in streams]
    iterators = [iter(s) for s in streams]
    live = list(range(len(streams)))
    while live:
        for i in list(live):
            try:
                texts[i] += next(iterators[i]).text
                render(boxes[i], texts[i], True)
            except StopIteration:
                live.remove(i)
                render(boxes[i], texts[i], False)
    return texts


def answer_html(text: str, hits, streaming: bool = False) -> str:
    """The answer as escaped HTML; citations that name a retrieved chunk become links to it."""
    out, pos = [], 0
    for c in citations(text, hits or []):
        out.append(html.escape(text[pos:c.start]))
        label = html.escape(text[c.start:c.end])
        if c.hit is not None:
            out.append(f'<a class="rag-cite" href="#rag-chunk-{c.hit.chunk.index}" title="retrieved chunk '
                       f'{c.hit.chunk.index + 1}">{label}</a>')
        else:
            out.append(f'<span class="rag-badcite" title="names no retrieved chunk">{label}</span>')
        pos = c.end
    out.append(html.escape(text[pos:]))
    cursor = '<span style="opacity:.5">▌</span>' if streaming else ""
    body = "".join(out).replace("\n", "<br>") or "…"
    return (STYLE + f'<div class="rag-answer">{body}{cursor}</div>')


STYLE = """<style>
.rag-answer{font-size:1.1rem;line-height:1.7;padding:.6rem .8rem;border:1px solid #ddd;border-radius:8px;
background:#fff;color:#1b1b1b;min-height:3rem}
.rag-cite{background:#E8E0FF;border-radius:3px;padding:0 2px;color:#3b1fa3;text-decoration:none;font-weight:600}
.rag-badcite{background:#FFCDD2;border-radius:3px;padding:0 2px}
.rag-source{font-size:.95rem;line-height:1.6;padding:.4rem .6rem;border-left:4px solid #5B3CC4;background:#F6F4FD;
margin:.3rem 0;color:#1b1b1b;white-space:pre-wrap;overflow-wrap:anywhere;scroll-margin-top:5rem}
.rag-source:target{box-shadow:0 0 0 3px #FFB300}
</style>"""


def sources_html(hits) -> str:
    parts = [f'<div class="rag-source" id="rag-chunk-{h.chunk.index}"><b>[{html.escape(h.chunk.citation)}]</b> '
             f'chunk {h.chunk.index + 1} · cosine {h.score:.3f}<br>{html.escape(" ".join(h.chunk.text.split()))}</div>'
             for h in hits]
    return STYLE + "".join(parts)


def _gold(question: str) -> str | None:
    data = cache.question_set()
    for q in data.questions:
        if q.question == question:
            return f"{q.answer} ({q.document})"
    if data.hallucination.get("question") == question:
        return str(data.hallucination.get("answer"))
    return None


def _ask(service, model: str, question: str, k: int, layout: str) -> dict | None:
    base = knowledge.current()
    hits, _ = knowledge.retrieve(base, question, k)
    if hits is None:
        return None
    if not ensure_decoder(service, model):
        return None
    plain = answering.plain_messages(question)
    rag = messages_for(question, hits, layout)
    live = st.empty()                       # the streaming area, cleared when the answers are complete
    left, right = live.container().columns(2)
    left.markdown("**Without retrieval**")
    right.markdown(f"**With retrieval** ({len(hits)} chunks)")
    boxes = [left.empty(), right.empty()]

    def render(box, text, streaming):
        box.html(answer_html(text, hits, streaming))
    started = time.perf_counter()
    texts = stream_pair(service, [plain, rag], boxes, render, model)
    live.empty()
    return {"model": decoder_label(service.registry.get(model)),
            "question": question, "k": k, "layout": layout, "hits": hits, "plain": plain, "rag": rag,
            "answers": texts, "seconds": time.perf_counter() - started, "settings": base.settings}


def _prompt_text(messages) -> str:
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


def _grounding(result: dict) -> None:
    threshold = st.slider("Grounding threshold (cosine)", 0.30, 0.90, answering.DEFAULT_THRESHOLD, 0.05,
                          key=f"{KEY}_threshold",
                          help="An answer sentence counts as supported when some sentence of the retrieved chunks "
                               "is at least this similar to it (MiniLM cosine).")
    support = answering.grounding(result["answers"][1], result["hits"], cache.model_service().embed, threshold)
    if not support:
        st.caption("The answer has no sentence to check.")
        return
    rows = [{"answer sentence": s.sentence, "supported": "✓ yes" if s.supported else "✗ not supported",
             "best cosine": round(s.score, 3), "closest retrieved sentence": s.evidence,
             "in": s.source.chunk.citation if s.source else "—"} for s in support]
    st.dataframe(rows, hide_index=True, width="stretch")
    bad = sum(not s.supported for s in support)
    st.caption(f"{bad} of {len(support)} sentence(s) below {threshold:.2f}. Similarity is not truth: “5 days” and "
               "“6 days” in the same sentence score almost the same, so a wrong number can pass. The check catches "
               "sentences about something the sources never mention.")


def show() -> None:
    st.markdown("#### Try it: answer with and without retrieval")
    st.markdown("Ask about the handbook. On the left the model (SmolLM2 unless you pick another) answers from its "
                "weights alone; on the right the same model gets the retrieved chunks pasted into its prompt. Both "
                "answers are greedy (temperature 0), so the difference comes only from the prompt.")
    fields = [share.Field("question", f"{KEY}_question", max_chars=1000)]
    share.apply(KEY, fields)
    question = question_input(KEY)
    share.link(KEY, fields, "this question")
    a, b = st.columns([1, 2])
    k = a.slider("Chunks in the prompt (k)", 1, 5, 3, key=f"{KEY}_k")
    layout_name = b.radio("Prompt layout", list(LAYOUTS), key=f"{KEY}_layout", horizontal=False,
                          help="The same chunks and question; only where they sit in the chat changes.")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    model = pick_decoder(service, KEY)
    if st.button("Ask with and without retrieval", key=f"{KEY}_ask", type="primary") and question:
        with errors.shown(f"{service.registry.get(model).label} could not answer"):
            result = _ask(service, model, question, k, LAYOUTS[layout_name])
            if result is not None:
                st.session_state[f"{KEY}_result"] = result
    result = st.session_state.get(f"{KEY}_result")
    if not result:
        st.caption("Press the button: both answers are written at the same time, token by token.")
        return
    st.markdown(f"**You asked:** {literal(result['question'])}")
    gold = _gold(result["question"])
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Without retrieval** — {literal(result.get('model', 'SmolLM2'))} alone")
        st.html(answer_html(result["answers"][0], []))
        with st.expander("The exact prompt"):
            st.code(_prompt_text(result["plain"]), language=None, wrap_lines=True)
    with right:
        st.markdown(f"**With retrieval** — {len(result['hits'])} chunks in the prompt")
        st.html(answer_html(result["answers"][1], result["hits"]))
        with st.expander("The exact prompt"):
            st.code(_prompt_text(result["rag"]), language=None, wrap_lines=True)
    if gold:
        st.success(f"What the document says: {literal(gold)}")
    cited = citations(result["answers"][1], result["hits"])
    if cited:
        named = ", ".join(f"[{literal(c.label)}] → "
                          + (f"chunk {c.hit.chunk.index + 1}" if c.hit else "no retrieved chunk")
                          for c in cited)
        st.caption(f"Citations in the answer: {named}. Click one in the answer to jump to its chunk below.")
    else:
        st.caption("The answer cites no source in brackets: a 135-million-parameter model often ignores that part of "
                   "the instruction. The grounding check below links each sentence to a source anyway.")
    st.markdown("**Retrieved chunks** (what the model was given):")
    st.html(sources_html(result["hits"]))
    st.markdown("**Grounding check**: is each sentence of the answer backed by a retrieved sentence?")
    with errors.shown("The grounding check failed"):
        _grounding(result)
    st.caption(f"Both answers took {result['seconds']:.1f} s together ({result['settings']}).")
