"""Score the model on a task (page 8): SmolLM2 (or the model the learner picked, in this app or on a model server)
summarises the shipped dialogues, ROUGE grades every summary."""
from __future__ import annotations

import time

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors
from components.common.charts import PNG_ONLY
from components.common.decoder import ensure_decoder, pick_decoder
from components.common.text import literal
from components.labs.evaluation_benchmarks import cache
from components.labs.evaluation_benchmarks.highlight import STYLE, marked_html
from core.labs.evaluation_benchmarks import metrics
from core.labs.evaluation_benchmarks import summaries as sm
from core.serving.sampling import SamplingSettings

RESULTS = "eval_summary_results"


def _generate_missing(service, task: sm.TaskSet, shots: int, model: str) -> None:
    """Generate every dialogue nobody has a reply for yet (see summaries.generate_shared: one batch, shared with
    the other sessions of a room), with a progress bar and a cancel button."""
    board = cache.summary_replies()
    keys = [(item.id, shots, model) for item in task.items]
    if all(board.get(k) is not None for k in keys):
        return
    items = {item.id: item for item in task.items}
    settings = SamplingSettings(temperature=0.0, max_new_tokens=sm.MAX_NEW_TOKENS)
    bar, start = st.progress(0.0, text="Starting…"), time.perf_counter()
    st.button("Cancel", key="eval_summary_cancel", help="Stops the run; summaries already written are kept.")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} summaries written ({time.perf_counter() - start:.0f} s)")
    sm.generate_shared(board, keys, lambda k: service.generate(sm.messages(task, items[k[0]], shots), settings,
                                                                model=model), progress)
    bar.empty()


def _chart(scored: list[sm.ScoredSummary], key: str) -> None:
    ordered = sorted(scored, key=lambda s: s.rougeL)
    fig = go.Figure()
    for name, attr, colour in (("ROUGE-1", "rouge1", "#90CAF9"), ("ROUGE-2", "rouge2", "#1565C0"),
                               ("ROUGE-L", "rougeL", "#FB8C00")):
        fig.add_trace(go.Bar(name=name, x=[s.item.id for s in ordered], y=[getattr(s, attr) for s in ordered],
                             marker_color=colour))
    fig.update_layout(barmode="group", height=360, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=14),
                      yaxis=dict(range=[0, 1], title="F1"), xaxis=dict(title="dialogue (worst ROUGE-L first)"),
                      legend=dict(orientation="h", y=1.12),
                      title=dict(text="ROUGE F1 of each summary against its reference(s)", font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)


def show(key: str = "summary_task") -> None:
    st.markdown("#### Try it: grade a model's summaries with ROUGE")
    try:
        task = cache.summary_set()
    except Exception as exc:
        errors.show("The summarisation set could not be loaded", exc)
        return
    st.markdown(f"{len(task.items)} short dialogues written for this app, each with a one-sentence summary by a "
                "person (some with a second, differently worded one). The model is asked to *“"
                f"{literal(task.instruction)}”*; its first sentence is graded with ROUGE (rouge-score, stemming on, "
                "the better reference counts).")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    model = pick_decoder(service, key)
    shots = st.radio("Worked examples in the prompt", [0, 1, 3], horizontal=True, key=f"{key}_shots",
                     format_func=lambda n: {0: "zero-shot", 1: "one-shot", 3: "three-shot"}[n])
    st.caption("All dialogues are generated together (the model service batches them): about 30–60 s on a 2-core "
               "CPU the first time, then instant for everyone.")
    if st.button("Summarise and grade", key=f"{key}_run", type="primary"):
        if not ensure_decoder(service, model):
            return
        try:
            _generate_missing(service, task, shots, model)
        except Exception as exc:
            errors.show("The summaries could not be generated", exc)
            return
        st.session_state[RESULTS] = (shots, model)
    saved = st.session_state.get(RESULTS)
    if not saved:
        return
    shots_used, model_used = saved
    board = cache.summary_replies()
    replies = {item.id: board.get((item.id, shots_used, model_used)) for item in task.items}
    scored = [sm.score(item, *replies[item.id]) for item in task.items if replies[item.id] is not None]
    if not scored:
        return
    st.markdown(f"**{len(scored)} summaries by {literal(service.registry.get(model_used).label)}, "
                f"{shots_used}-shot**")
    cols = st.columns(3)
    for col, (name, attr) in zip(cols, (("ROUGE-1", "rouge1"), ("ROUGE-2", "rouge2"), ("ROUGE-L", "rougeL"))):
        col.metric(f"Mean {name} F1", f"{sum(getattr(s, attr) for s in scored) / len(scored):.3f}")
    _chart(scored, key)
    rows = [{"id": s.item.id, "ROUGE-L": round(s.rougeL, 3), "ROUGE-1": round(s.rouge1, 3),
             "ROUGE-2": round(s.rouge2, 3), "model's summary": s.summary or "(empty)",
             "reference": s.item.references[0], "seconds": round(s.seconds, 1)}
            for s in sorted(scored, key=lambda s: s.rougeL)]
    st.dataframe(rows, hide_index=True, key=f"{key}_table",
                 column_config={"model's summary": st.column_config.TextColumn(width="large"),
                                "reference": st.column_config.TextColumn(width="large")})
    st.caption("Sorted worst first; click a column header to sort by it. Read the worst ones: is the summary "
               "really bad, or just worded differently from the reference?")
    ids = [s.item.id for s in sorted(scored, key=lambda s: s.rougeL)]
    chosen = st.selectbox("Look at one", ids, key=f"{key}_one")
    one = next(s for s in scored if s.item.id == chosen)
    st.text(one.item.dialogue)
    result = metrics.rouge(one.summary, list(one.item.references), "rougeL", stem=True)
    ref = one.item.references[result.reference_index]
    ref_tokens = metrics.rouge_tokens(ref, stem=True)
    cand_tokens = metrics.rouge_tokens(one.summary, stem=True)
    st.html(STYLE + marked_html(ref, [(t.start, t.end) for t in ref_tokens], result.reference_marks,
                                "Reference (the words of the longest common subsequence highlighted)")
            + marked_html(one.summary, [(t.start, t.end) for t in cand_tokens], result.candidate_marks,
                          "The model's summary"))
    if one.reply.strip() != one.summary:
        st.caption("The model's whole reply (only its first sentence was graded):")
        st.text(one.reply.strip())
