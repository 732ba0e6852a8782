"""Page 11 demo "prompt-injection": a retrieved document that carries instructions changes the answer; one
mitigation (documents marked as data, plus a filter for instruction-like lines) and what it cannot promise."""
from __future__ import annotations

import streamlit as st

from components.common import errors
from components.common.text import literal
from components.labs.rag_applications import cache, knowledge, replies
from components.labs.rag_applications.answer_view import answer_html

KEY = "rag_injection"


def show() -> None:
    from core.labs.rag_applications import answering, documents, injection
    st.markdown("#### Try it: prompt injection through a retrieved document")
    st.markdown("Retrieval pastes text *written by someone else* into the prompt. If that text contains "
                "instructions, the model may follow them: this is **prompt injection**. Below, a canteen notice "
                "with a hidden instruction is added to the knowledge base. The question is harmless.")
    data = cache.question_set()
    question = data.injection["question"]
    notice = cache.shipped_document(documents.INJECTION)
    with st.expander("The planted notice (injection.md)"):
        st.code(notice.text, language=None, wrap_lines=True)
    st.markdown(f"**Question:** {literal(question)}  \n**The handbook's answer:** {literal(data.injection['answer'])}")
    if st.button("Ask three ways", key=f"{KEY}_run", type="primary"):
        with errors.shown("SmolLM2 could not answer"):
            base = knowledge.current()
            poisoned = knowledge.Base(base.docs + (notice,), base.key + "+injection", base.size, base.overlap, False)
            clean_hits, _ = knowledge.retrieve(base, question, 3)
            hits, _ = knowledge.retrieve(poisoned, question, 3)
            if hits is None or clean_hits is None:
                return
            filtered = injection.filter_hits(hits)
            chats = [answering.rag_messages(question, clean_hits, layout="system"),
                     answering.rag_messages(question, hits, layout="system"),
                     answering.rag_messages(question, filtered.kept, guarded=True, layout="system")]
            texts = replies.greedy(chats, max_new_tokens=60, label="Answering three ways")
            st.session_state[f"{KEY}_result"] = {"hits": [clean_hits, hits, filtered.kept], "texts": texts,
                                                 "dropped": filtered.dropped, "chats": chats}
    result = st.session_state.get(f"{KEY}_result")
    if not result:
        return
    titles = ["Without the notice", "With the notice retrieved", "With the notice, mitigated"]
    notes = ["The knowledge base as you built it above.",
             "The notice is one of the retrieved chunks: " + ("yes." if any(
                 h.chunk.doc == documents.INJECTION for h in result["hits"][1]) else "no (try a smaller chunk size)."),
             "Chunks with instruction-like lines dropped, the rest wrapped in <document> tags marked as data."]
    for column, title, note, hits, text in zip(st.columns(3), titles, notes, result["hits"], result["texts"]):
        with column:
            st.markdown(f"**{title}**")
            st.caption(note)
            st.html(answer_html(text, hits))
            injected = injection.looks_injected(text)
            st.markdown(":red[follows the planted instruction]" if injected else ":green[no sign of the instruction]")
    if result["dropped"]:
        st.caption("Dropped by the filter: " + "; ".join(
            f"[{literal(h.chunk.citation)}] because it contains “{literal(why)}”" for h, why in result["dropped"]))
    st.markdown("**The limits of this mitigation.** The filter is a list of phrases: a paraphrase (“disregard what "
                "you were told”), another language or an instruction split across two chunks passes it. Marking "
                "documents as data helps large models that were trained to respect it; a small model barely "
                "distinguishes instructions from data at all. Real systems layer defences: keep untrusted documents "
                "out of the index, give the model no tools that can do harm, and check outputs (for example for "
                "addresses or links that are not in your sources) before a user sees them.")
