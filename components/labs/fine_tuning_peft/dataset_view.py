"""Page 7 demo "training-data": one instruction example through SmolLM2's chat template, its token ids, and which
tokens count in the loss (the completion) — the rest greyed."""
from __future__ import annotations

import html

import streamlit as st

from components.common import errors
from components.labs.fine_tuning_peft import cache
from core.labs.fine_tuning_peft import data

KEY = "ft_data"

_STYLE = """
<style>
.ft-wrap{line-height:2.3;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:1.02rem}
.ft-tok{display:inline-block;border-radius:4px;padding:0 4px;margin:2px 1px;white-space:pre;max-width:100%;
        overflow-wrap:anywhere}
.ft-ctx{background:#EEEEEE;color:#8A8A8A}
.ft-graded{background:#FFD54F;color:#1b1b1b;font-weight:700;border:2px solid #E65100}
</style>
"""


def tokens_html(pieces, graded) -> str:
    spans = []
    for i, (piece, g) in enumerate(zip(pieces, graded)):
        visible = piece.replace("\n", "↵").replace(" ", "·") or "∅"
        title = f"#{i}" + (" · counts in the loss" if g else " · context only")
        spans.append(f'<span class="ft-tok {"ft-graded" if g else "ft-ctx"}" title="{html.escape(title)}">'
                     f'{html.escape(visible)}</span>')
    return f'{_STYLE}<div class="ft-wrap">{"".join(spans)}</div>'


def show() -> None:
    st.markdown("#### Try it: one training example, as the model sees it")
    tasks = {k: t.title for k, t in data.TASKS.items()}
    cols = st.columns([2, 1])
    task = cols[0].radio("Task", list(tasks), format_func=tasks.get, horizontal=True, key=f"{KEY}_task")
    with errors.shown("The examples could not be read"):
        n_train = len(data.task_examples(task, "train"))
        n_test = len(data.task_examples(task, "test"))
        index = cols[1].number_input(f"Example (1–{n_train})", 1, n_train, 1, key=f"{KEY}_index") - 1
        labels = data.TASKS[task].labels
        counts = {label: sum(e.completion == label for e in data.task_examples(task, "train")) for label in labels}
        st.caption(f"{n_train} training and {n_test} held-out reviews, written for this app; training labels: "
                   + ", ".join(f"{label} {n}" for label, n in counts.items()) + ".")
        prompt, completion, ids, pieces, graded = cache.encoded(task, int(index))
        left, right = st.columns(2)
        left.markdown("**Prompt** (the user's turn)")
        left.code(prompt, language=None, wrap_lines=True)
        right.markdown("**Completion** (the answer the model should give)")
        right.code(completion, language=None)
        st.markdown(f"**Through the chat template: {len(ids)} tokens, {sum(graded)} of them graded.** Grey tokens "
                    "are context the model reads; only the highlighted ones — the answer and the end-of-turn marker "
                    "— count in the loss. The template adds SmolLM2's default system line, exactly as every other "
                    "page of this app asks the model.")
        st.html(tokens_html(pieces, graded))
        with st.expander("Token ids and loss labels"):
            st.dataframe([{"position": i, "token": p.replace("\n", "↵"), "id": t,
                           "label in the loss": t if g else -100} for i, (p, t, g) in enumerate(zip(pieces, ids,
                                                                                                      graded))],
                         hide_index=True, width="stretch", height=300)
            st.caption("-100 tells PyTorch's cross-entropy to ignore a position. Shifting by one (each position "
                       "predicts the next token) happens inside the model.")
