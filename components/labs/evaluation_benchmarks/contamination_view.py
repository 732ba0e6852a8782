"""Contamination in one picture (page 8): the word n-grams a benchmark question shares with a training text."""
from __future__ import annotations

import streamlit as st

from components.common import errors, guard
from components.labs.evaluation_benchmarks import cache
from components.labs.evaluation_benchmarks.highlight import STYLE, marked_html
from core.labs.evaluation_benchmarks import contamination as cont

MAX_DOC_CHARS = 50_000
EXAMPLE_DOCUMENT = ("Quiz night notes, week 12. We warmed up with geography. {question} Most teams got it. "
                    "Then a picture round about famous bridges, and a music round that nobody enjoyed.")


def show(key: str = "contamination") -> None:
    st.markdown("#### Try it: was the question in the training text?")
    st.markdown("Pick a benchmark question and paste a piece of text that might have been in a model's training "
                "data. Every run of *n* words that appears in both is highlighted. If a model saw the question with "
                "its answer while training, its score on that question measures memory, not skill.")
    try:
        data = cache.benchmark()
    except Exception as exc:
        errors.show("The benchmark could not be loaded", exc)
        return
    index = st.selectbox("Benchmark question", list(range(len(data.questions))), key=f"{key}_q",
                         format_func=lambda i: f"{i + 1}. {data.questions[i].question[:100]}")
    question = data.questions[index]
    full = f"{question.question} {question.choices[question.answer]}"
    default = EXAMPLE_DOCUMENT.format(question=full)
    if st.session_state.get(f"{key}_for") != index:        # a new question brings its own example document
        st.session_state[f"{key}_doc"] = default
        st.session_state[f"{key}_for"] = index
    document = st.text_area("A “training document” (edit it, or paste any text)", key=f"{key}_doc", height=140)
    n = st.slider("n (words per n-gram)", 3, 13, 6, key=f"{key}_n",
                  help="GPT-3's contamination check used 13-grams on long test items; a one-line question needs a "
                       "smaller n, at the cost of more accidental matches of common phrases.")
    document = guard.usable_text(document, "Paste some text to compare the question with.", MAX_DOC_CHARS,
                                 what="The document")
    if document is None:
        return
    try:
        result = cont.overlap(question.question, document, n)
    except ValueError as exc:
        st.warning(str(exc))
        return
    a, b, c = st.columns(3)
    a.metric(f"Question {n}-grams found in the text", f"{result.shared_ngrams} of {result.question_ngrams}")
    b.metric("Share", f"{result.share:.0%}")
    c.metric("Longest shared run", f"{result.longest_run} words")
    if not result.question_ngrams:
        st.caption(f"The question has fewer than {n} words, so it has no {n}-grams: lower n.")
    st.html(STYLE + marked_html(question.question, [(w.start, w.end) for w in result.question_words],
                                result.question_marks, "The benchmark question")
            + marked_html(document, [(w.start, w.end) for w in result.document_words], result.document_marks,
                          "The training document"))
    verdict = ("looks contaminated: report the score without this question, or with and without"
               if result.share >= 0.5 else "shares some phrasing but probably not the question itself"
               if result.shared_ngrams else "shows no overlap at this n")
    st.caption(f"At n = {n}, this question {verdict}. Real checks run this over the whole training corpus "
               "(billions of documents) with hashed n-grams; the idea is the same.")
