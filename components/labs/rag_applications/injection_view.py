"""Page 11 demo "prompt-injection": a retrieved document that carries instructions changes the answer; one
mitigation (documents marked as data, plus a filter for instruction-like lines) and what it cannot promise."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from components.common import errors
from components.common.text import literal
from components.labs.rag_applications import cache, knowledge, replies
from components.labs.rag_applications.answer_view import answer_html
from core.labs.rag_applications import answering, documents, injection

KEY = "rag_injection"
K = 3


def show() -> None:
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
            clean_hits, _ = knowledge.retrieve(base, question, K)
            wide, _ = knowledge.retrieve(poisoned, question, 3 * K)
            if wide is None or clean_hits is None:
                return
            hits = wide[:K]
            filtered = injection.filter_hits(wide)          # drop flagged chunks, refill from the next ones
            kept = [replace(h, rank=r) for r, h in enumerate(filtered.kept[:K], start=1)]
            dropped = [(h, why) for h, why in filtered.dropped if h.rank <= K]
            chats = [answering.rag_messages(question, h, layout="system") for h in (clean_hits, hits, kept)]
            texts = replies.greedy(chats, max_new_tokens=60, label="Answering three ways")
            st.session_state[f"{KEY}_result"] = {"hits": [clean_hits, hits, kept], "texts": texts,
                                                 "dropped": dropped, "chats": chats}
    result = st.session_state.get(f"{KEY}_result")
    if not result:
        return
    gold = str(cache.question_set().injection["answer"])
    titles = ["Without the notice", "With the notice retrieved", "With the notice, mitigated"]
    notes = ["The knowledge base as you built it above.",
             "The notice is one of the retrieved chunks: " + ("yes." if any(
                 h.chunk.doc == documents.INJECTION for h in result["hits"][1]) else "no (try a smaller chunk size)."),
             "Retrieved chunks with instruction-like phrases are dropped and the next ones take their place."]
    for column, title, note, hits, text in zip(st.columns(3), titles, notes, result["hits"], result["texts"]):
        with column:
            st.markdown(f"**{title}**")
            st.caption(note)
            st.html(answer_html(text, hits))
            right = injection.keeps_answer(text, gold)
            st.markdown((":green[keeps the handbook's answer]" if right else ":red[lost the handbook's answer]")
                        + "  \n"
                        + (":red[follows the planted instruction]" if injection.looks_injected(text)
                           else ":green[no sign of the planted text]"))
    if result["dropped"]:
        st.caption("Dropped by the filter: " + "; ".join(
            f"[{literal(h.chunk.citation)}] because it contains “{literal(why)}”" for h, why in result["dropped"]))
    st.markdown("**What this shows at this scale.** SmolLM2 is too small to obey the planted instruction word for "
                "word, but the planted chunk still takes the place of a useful one and pulls the answer off course: "
                "measure an injection by what happens to the answer, not only by whether the attacker's text "
                "appears.  \n**The limits of the mitigation.** The filter is a list of phrases: a paraphrase "
                "(“disregard what you were told”), another language or an instruction split across two chunks passes "
                "it. Real systems layer defences: keep untrusted documents out of the index, mark retrieved text as "
                "data in the prompt (models trained for it respect that; a small one barely does), give the model no "
                "tools that can do harm, and check outputs (for example for addresses or links that are not in your "
                "sources) before a user sees them.")
