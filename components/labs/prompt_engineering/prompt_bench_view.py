"""Experiment bench (page 3): run a labelled set under zero/one/few-shot x direct/chain-of-thought and measure
accuracy, instead of taking anyone's word for it. Each graded answer is cached per (set, item, setting, model)."""
from __future__ import annotations

import time

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors
from components.common.charts import PNG_ONLY, dashed_reference
from components.common.decoder import decoder_label, ensure_decoder, is_remote, pick_decoder
from components.labs.prompt_engineering import cache
from core.labs.prompt_engineering.prompting import ALL_SETTINGS, BenchSummary
from core.timing import estimate_text

SETS = {"reviews": ("sentiment", "Review sentiment (30 reviews, positive / negative)"),
        "arithmetic": ("arithmetic", "Arithmetic word problems (20 problems, numeric answers)")}


def _chart(summaries: list[BenchSummary], key: str, baseline: tuple[str, float] | None) -> None:
    labels = [s.setting.label.replace(" · ", "<br>") for s in summaries]
    colours = ["#7E57C2" if s.setting.cot else "#1E88E5" for s in summaries]
    fig = go.Figure(go.Bar(x=labels, y=[s.accuracy for s in summaries], marker_color=colours,
                           text=[f"{s.accuracy:.0%} ({sum(r.correct for r in s.rows)}/{len(s.rows)})"
                                 for s in summaries],
                           textposition="outside", cliponaxis=False,
                           customdata=[[s.answered, len(s.rows), s.seconds] for s in summaries],
                           hovertemplate="%{x}<br>accuracy %{y:.0%}<br>an answer found in %{customdata[0]} of "
                                         "%{customdata[1]}<br>%{customdata[2]:.1f} s<extra></extra>",
                           showlegend=False))
    if baseline:
        dashed_reference(fig, baseline[1], f"always answering “{baseline[0]}”: {baseline[1]:.0%}", "#E53935")
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=30, b=10), font=dict(size=15),
                      legend=dict(orientation="h", y=-0.25, x=0),
                      yaxis=dict(range=[0, 1.15], tickformat=".0%", title="accuracy"),
                      title=dict(text="Accuracy per prompting style (blue = direct, purple = chain of thought)",
                                 font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)


def _table(summaries: list[BenchSummary]) -> list[dict]:
    return [{"setting": s.setting.label, "#": r.index + 1, "input": r.input, "expected": r.expected,
             "model's answer": r.predicted if r.predicted is not None else "(none found)",
             "right": "✓" if r.correct else "✗", "output": r.output, "new tokens": r.new_tokens,
             "prompt tokens": r.prompt_tokens, "seconds": round(r.seconds, 2)}
            for s in summaries for r in s.rows]


def _odds_accuracy(data: dict, task, summaries: list[BenchSummary], model: str, key: str) -> None:
    """Accuracy read from the label odds (raw and calibrated) next to the written answers', per direct style."""
    from core.labs.prompt_engineering.prompting import CONTENT_FREE, bench_prompt, odds_predictions

    direct = [s for s in summaries if not s.setting.cot and s.rows]
    if not direct:
        return
    if is_remote(app_cache.model_service(), model):
        st.caption("Accuracy read from the label odds needs the model's weights in this app: it is left out for a "
                   "server model (the odds of another model would not explain these answers).")
        return
    rows = []
    try:
        with st.spinner("Reading the label odds for each item…"):
            for s in direct:
                labels = tuple(task.labels)
                odds = [cache.label_odds(bench_prompt(task, data, s.setting, r.input), labels, model) for r in s.rows]
                free = cache.label_odds(bench_prompt(task, data, s.setting, CONTENT_FREE), labels, model)
                raw, calibrated = odds_predictions(odds, free)
                expected = [r.expected for r in s.rows]
                rows.append({"style": s.setting.shots, "written answer": f"{s.accuracy:.0%}",
                             "most likely label": f"{sum(p == e for p, e in zip(raw, expected)) / len(expected):.0%}",
                             "calibrated": f"{sum(p == e for p, e in zip(calibrated, expected)) / len(expected):.0%}",
                             "bias on “N/A”": " · ".join(f"{label} {free[label]:.0%}" for label in labels)})
    except Exception as exc:
        errors.show("The label odds could not be computed", exc, "warning")
        return
    st.markdown("**Accuracy three ways** (direct styles)")
    st.dataframe(rows, hide_index=True, key=f"{key}_odds_table")
    st.caption("“Most likely label” reads the model's odds for each label instead of its written reply. "
               "“Calibrated” first divides them by the odds the same prompt gives a content-free input (“N/A”), "
               "which measures the model's bias toward a label (Zhao et al., 2021, “Calibrate before use”). "
               "When calibration helps a lot, the examples were not the problem — the bias was.")


def show(key: str = "prompt_bench") -> None:
    st.markdown("#### Try it: measure what examples and chain-of-thought change")
    st.markdown("One click asks the model every question of a small labelled set under the prompting styles you pick, "
                "pulls the answer out of its reply and grades it. Greedy decoding keeps runs repeatable, so each "
                "answer is computed once and cached. Start with a few items: on a laptop CPU each answer takes about "
                "a second, and a chain-of-thought answer several.")
    st.caption("Honest expectation: Wei et al. (2022) saw chain-of-thought gains only in models of ~100B parameters; "
               "a 135M model usually writes fluent steps with wrong arithmetic. If a bigger model is registered in "
               "`config/models.yaml`, pick it in the “model size” demo on the Inference configuration page and rerun.")
    set_name = st.selectbox("Labelled set", list(SETS), format_func=lambda s: SETS[s][1], key=f"{key}_set")
    labels = {s.label: s for s in ALL_SETTINGS}
    chosen = st.multiselect("Prompting styles", list(labels), default=[s.label for s in ALL_SETTINGS if not s.cot]
                            + ["few-shot · chain-of-thought"], key=f"{key}_settings")
    try:
        data = cache.bench_set(set_name)
    except Exception as exc:
        errors.show("The set could not be loaded", exc)
        return
    total = len(data["items"])
    n = st.slider("Items to run (the first n of the set)", 1, total, min(4, total), key=f"{key}_n")
    if not chosen:
        st.info("Pick at least one prompting style.")
        return
    settings = [labels[c] for c in chosen if c in labels]

    book = app_cache.rate_book()
    parts = [estimate_text(book, f"prompt-bench:{set_name}:{'cot' if cot else 'direct'}",
                           n * sum(s.cot == cot for s in settings), 5.0 if cot else 1.0)
             for cot in (False, True) if any(s.cot == cot for s in settings)]
    st.caption(f"{n} item{'s' if n != 1 else ''} × {len(settings)} styles = {n * len(settings)} answers · "
               + " + ".join(parts) + ". Answers anyone already computed are instant.")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    model = pick_decoder(service, key)
    st.caption(f"Model: {decoder_label(service.registry.get(model))}")
    task_id = SETS[set_name][0]
    if st.button("Run the bench", key=f"{key}_run", type="primary"):
        if not ensure_decoder(service, model):
            return

        book = app_cache.rate_book()
        bar = st.progress(0.0, text="Starting…")
        summaries, done, start, server_down = [], 0, time.perf_counter(), False
        for setting in settings:
            summary = BenchSummary(setting)
            for i in range(n):
                if server_down:
                    break
                try:
                    row = cache.bench_row(set_name, task_id, i, setting.shots, setting.cot, model)
                    summary.rows.append(row)
                    book.record(f"prompt-bench:{set_name}:{'cot' if setting.cot else 'direct'}",
                                (task_id, i, setting.shots, model), row.seconds)
                except Exception as exc:   # one broken answer must not lose the whole run
                    errors.show(f"Item {i + 1} under {setting.label} failed", exc, "warning")
                    server_down = is_remote(service, model)    # a server that failed once: one sentence is enough
                done += 1
                elapsed = time.perf_counter() - start
                left = elapsed / done * (n * len(settings) - done)
                bar.progress(done / (n * len(settings)), text=f"{setting.label}: item {i + 1} of {n} · "
                                                              f"{elapsed:.0f} s so far, about {left:.0f} s left")
            summaries.append(summary)
        bar.empty()
        st.session_state[f"{key}_results"] = (set_name, model, n, summaries)
    saved = st.session_state.get(f"{key}_results")
    if not saved:
        return
    set_used, model_used, n_used, summaries = saved
    st.markdown(f"**Results: {SETS[set_used][1].split(' (')[0]}, first {n_used} items, "
                f"{service.registry.get(model_used).label}**")
    task = cache.prompt_tasks()[SETS[set_used][0]]
    baseline = None
    if task.kind == "label":
        answers = [r.expected for r in summaries[0].rows] if summaries and summaries[0].rows else []
        if answers:
            top = max(set(answers), key=answers.count)
            baseline = (top, answers.count(top) / len(answers))
    _chart(summaries, key, baseline)
    if baseline:
        st.caption(f"The dashed line is what always answering “{baseline[0]}” would score on these items: a style "
                   "only helps if it beats that line.")
    seconds = sum(s.seconds for s in summaries)
    tokens = sum(s.new_tokens for s in summaries)
    a, b, c = st.columns(3)
    a.metric("Answers graded", f"{sum(len(s.rows) for s in summaries)}")
    b.metric("Tokens generated", f"{tokens:,}")
    c.metric("Model time", f"{seconds:.1f} s", help="Time the model spent on these answers when they were computed; "
                                                     "answers taken from the cache appear at once.")
    missing = sum(len(s.rows) - s.answered for s in summaries)
    if missing:
        st.caption(f"In {missing} replies no answer could be found (no label word or no number): they count as wrong.")
    if task.kind == "label" and task.labels:
        _odds_accuracy(cache.bench_set(set_used), task, summaries, model_used, key)
    st.dataframe(_table(summaries), hide_index=True, key=f"{key}_table",
                 column_config={"output": st.column_config.TextColumn(width="large"),
                                "input": st.column_config.TextColumn(width="medium")})
