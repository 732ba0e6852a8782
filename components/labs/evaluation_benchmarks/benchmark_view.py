"""The mini-benchmark (page 8): one question's per-choice log-likelihoods, a whole-set run scored three ways,
calibration (a reliability diagram) and robustness (shuffled choices, a typo), as HELM reports beyond accuracy.

Every run is kept in the session (`RUNS`), so runs under different settings sit side by side on one chart and the
calibration and robustness demos reuse what the learner already computed."""
from __future__ import annotations

import csv
import io
import zlib

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors
from components.common.charts import PNG_ONLY
from components.common.decoder import ensure_decoder, insides_note
from components.common.text import literal
from components.labs.evaluation_benchmarks import cache
from core.labs.evaluation_benchmarks import benchmark as bm
from core.timing import estimate_text

RUNS = "eval_benchmark_runs"        # session key: {run label: Run}
MODE_SHORT = {"letter": "letters", "text": "choice text", "generate": "generate"}


def _label(mode: str, k: int, perturbation: str, model: str) -> str:
    extra = "" if perturbation == "original" else f" · {bm.PERTURBATIONS[perturbation]}"
    return f"{MODE_SHORT[mode]} · {k}-shot{extra} · {model}"


def _rate_kind(mode: str, k: int) -> str:
    return f"benchmark:{mode}:{k}"


def _runs() -> dict:
    return st.session_state.setdefault(RUNS, {})


def _data():
    try:
        return cache.benchmark()
    except Exception as exc:
        errors.show("The benchmark could not be loaded", exc)
        return None


def _cancel_button(key: str) -> None:
    # Any click reruns the page, which ends the loop below; the button only gives the learner something to click.
    st.button("Cancel the run", key=f"{key}_cancel", help="Stops after the current question; the finished ones stay.")


def _run(model: str, mode: str, k: int, perturbation: str, indices: list[int], key: str, rerun: bool = True) -> None:
    """Score the chosen questions with a progress bar; each result is saved as it arrives, so a cancelled run
    keeps what it finished."""
    label = _label(mode, k, perturbation, model)
    run = {"mode": mode, "k": k, "perturbation": perturbation, "model": model, "rows": [], "asked": len(indices)}
    _runs()[label] = run
    bar = st.progress(0.0, text="Starting…")
    failed = 0
    book = app_cache.rate_book()
    for done, index in enumerate(indices):
        try:
            scored = cache.scored_question(index, k, mode, perturbation, model)
            run["rows"].append(scored)
            book.record(_rate_kind(mode, k), (index, perturbation, model), scored.seconds)
        except Exception as exc:          # one broken question must not lose the run
            failed += 1
            errors.show(f"Question {index + 1} could not be scored", exc, "warning")
        bar.progress((done + 1) / len(indices), text=f"{label}: question {done + 1} of {len(indices)}")
    bar.empty()
    if failed:
        st.warning(f"{failed} question(s) could not be scored and are left out.")
    elif rerun:
        st.rerun()       # draw the results (and remove the cancel button)


def _summary(run: dict) -> bm.Summary:
    return bm.Summary(list(run["rows"]))


def _choices_chart(scored: bm.Scored, key: str) -> None:
    probs = scored.probabilities
    letters = list(bm.LETTERS)
    colours = ["#43A047" if i == scored.question.answer else "#90A4AE" for i in range(4)]
    text = [f"{p:.0%}<br>log p = {ll:.2f}" for p, ll in zip(probs, scored.loglik)]
    names = [f"{letter}. {c}"[:40] + (" ✓" if i == scored.question.answer else "")
             for i, (letter, c) in enumerate(zip(letters, scored.question.choices))]
    fig = go.Figure(go.Bar(x=names, y=probs,
                           marker_color=colours, text=text, textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}<br>probability among the four %{y:.1%}<extra></extra>"))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=14),
                      yaxis=dict(range=[0, 1.2], tickformat=".0%", title="share of the four"),
                      title=dict(text="The model's probability for each choice (green = right answer)",
                                 font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_choices", config=PNG_ONLY)


def _inspect(data: bm.Benchmark, model: str, mode: str, k: int, key: str) -> None:
    """One question taken apart: the exact prompt, and each choice's log-likelihood."""
    st.markdown("**Look at one question the way the harness sees it**")
    options = list(range(len(data.questions)))
    index = st.selectbox("Question", options, key=f"{key}_q",
                         format_func=lambda i: f"{i + 1}. [{data.subject_title(data.questions[i].subject)}] "
                                               f"{data.questions[i].question[:90]}")
    question = data.questions[index]
    prompt = (bm.generation_message(data, question, k) if mode == "generate" else bm.prompt(data, question, k, mode))
    st.caption("The exact text the model reads" + (" (sent as a chat message):" if mode == "generate" else ":"))
    st.code(prompt, language=None, wrap_lines=True)
    with st.spinner("Scoring this question…"):
        try:
            scored = cache.scored_question(index, k, mode, "original", model)
        except Exception as exc:
            errors.show("This question could not be scored", exc)
            return
    if mode == "generate":
        found = "no letter A–D found: counted wrong" if scored.predicted is None else \
            f"read as {bm.LETTERS[scored.predicted]}"
        st.markdown(f"The model wrote: “{literal(scored.reply.strip(), 200) or '(nothing)'}” → {found}. "
                    f"The right answer is **{question.answer_letter}**.")
        return
    rows = [{"choice": f"{bm.LETTERS[i]}. {c}", "scored text": bm.continuations(question, mode)[i],
             "tokens": scored.tokens[i], "log-likelihood": round(scored.loglik[i], 3),
             "per character (acc_norm)": round(scored.loglik[i] / scored.lengths[i], 3),
             "probability among the four": f"{scored.probabilities[i]:.1%}",
             "": ("✓ right" if i == question.answer else "")} for i, c in enumerate(question.choices)]
    st.dataframe(rows, hide_index=True, key=f"{key}_choice_table")
    _choices_chart(scored, key)
    pick, pick_norm = bm.LETTERS[scored.predicted], bm.LETTERS[scored.predicted_norm]
    verdict = "right" if scored.correct else "wrong"
    note = "" if mode == "letter" else (f" Divided by length (acc_norm) it picks **{pick_norm}**"
                                        f" ({'right' if scored.correct_norm else 'wrong'}).")
    st.markdown(f"Highest log-likelihood: **{pick}** ({verdict}; the answer is {question.answer_letter}).{note}")


def _results_chart(runs: dict, key: str) -> None:
    labels, accs, lows, highs, texts = [], [], [], [], []
    for label, run in runs.items():
        s = _summary(run)
        if not s.n:
            continue
        low, high = s.interval
        labels.append(label.replace(" · ", "<br>", 2))
        accs.append(s.accuracy)
        lows.append(s.accuracy - low)
        highs.append(high - s.accuracy)
        texts.append(f"{s.accuracy:.0%} ({s.correct}/{s.n})")
    if not labels:
        return
    fig = go.Figure(go.Bar(x=labels, y=accs, marker_color="#1E88E5", text=texts, textposition="outside",
                           width=0.5,
                           cliponaxis=False, error_y=dict(type="data", symmetric=False, array=highs, arrayminus=lows,
                                                          color="#37474F", thickness=1.5),
                           hovertemplate="%{x}<br>accuracy %{y:.1%}<extra></extra>"))
    fig.add_hline(y=bm.RANDOM_BASELINE, line_dash="dash", line_color="#E53935",
                  annotation_text="random guessing: 25%", annotation_position="top left")
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=14),
                      yaxis=dict(range=[0, 1.1], tickformat=".0%", title="accuracy"),
                      title=dict(text="Accuracy of each run, with its 95% confidence interval", font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_runs_chart", config=PNG_ONLY)


def run_csv(data: bm.Benchmark, summary, mode: str) -> str:
    """One row per question of a run: what was asked, the key, the model's pick, and what it was based on (the four
    log-likelihoods, or the reply in generate mode)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["#", "subject", "question", "answer", "model", "right", "mode", "shots", "confidence",
                     "loglik A", "loglik B", "loglik C", "loglik D", "reply"])
    for r in summary.rows:
        logliks = list(r.loglik) + [""] * (4 - len(r.loglik))
        writer.writerow([r.index + 1, data.subject_title(r.question.subject), r.question.question,
                         r.question.answer_letter, bm.LETTERS[r.predicted] if r.predicted is not None else "",
                         int(r.correct), mode, r.k, "" if mode == "generate" else f"{r.confidence:.4f}",
                         *[f"{v:.4f}" if v != "" else "" for v in logliks], r.reply])
    return out.getvalue()


def _show_run(data: bm.Benchmark, label: str, run: dict, key: str) -> None:
    s = _summary(run)
    if not s.n:
        st.info("This run was cancelled before its first question finished.")
        return
    low, high = s.interval
    st.markdown(f"**Run: {literal(label)}**")
    if s.n < run["asked"]:
        st.caption(f"Cancelled: {s.n} of {run['asked']} questions were scored. The numbers below are for those.")
    a, b, c, d = st.columns(4)
    a.metric("Accuracy (acc)", f"{s.accuracy:.1%}", help="Share of questions where the right choice scored highest.")
    b.metric("95% interval", f"{low:.0%} – {high:.0%}", help="Wilson score interval over the questions scored: "
             "another set of the same size could easily land anywhere in it.")
    if run["mode"] == "generate":
        c.metric("No letter found", f"{s.unparsed}", help="Replies with no A, B, C or D in them count as wrong.")
    else:
        c.metric("acc_norm", f"{s.accuracy_norm:.1%}", help="Log-likelihood divided by the answer's length in "
                 "characters before choosing (identical to acc when every answer is one letter).")
    d.metric("Seconds per question", f"{s.seconds / s.n:.2f}", help="Model time when computed; cached answers are "
             "instant.")
    picks = [r.predicted for r in s.rows]
    counts = {letter: picks.count(i) for i, letter in enumerate(bm.LETTERS)}
    favourite, times = max(counts.items(), key=lambda kv: kv[1])
    st.caption("Letters the model picked: " + ", ".join(f"{k} {v}" for k, v in counts.items())
               + (f"; no letter {s.unparsed}" if s.unparsed else "") + ". Right answers: "
               + ", ".join(f"{letter} {sum(r.question.answer == i for r in s.rows)}"
                           for i, letter in enumerate(bm.LETTERS)) + ".")
    if times >= 0.8 * s.n:
        st.warning(f"The model chose {favourite} for {times} of {s.n} questions: it is not reading the questions, it "
                   f"prefers a letter. Its accuracy is then simply the share of questions whose answer is "
                   f"{favourite} — here {s.accuracy:.0%}, next to the 25% of random guessing. Try the choice-text "
                   "mode, or a few worked examples.")
    by_subject = s.by_subject(data)
    st.dataframe([{"subject": r.title, "questions": r.n, "right": r.correct, "accuracy": f"{r.accuracy:.0%}",
                   "95% interval": "{:.0%} – {:.0%}".format(*bm.wilson_interval(r.correct, r.n))}
                  for r in by_subject], hide_index=True, key=f"{key}_subjects")
    rows = [{"#": r.index + 1, "subject": data.subject_title(r.question.subject), "question": r.question.question,
             "answer": r.question.answer_letter,
             "model": bm.LETTERS[r.predicted] if r.predicted is not None else "—",
             "right": "✓" if r.correct else "✗",
             "confidence": (f"{r.confidence:.0%}" if run["mode"] != "generate" else
                            r.reply.strip()[:40])} for r in s.rows]
    with st.expander(f"Every question of this run ({s.n})"):
        st.dataframe(rows, hide_index=True, key=f"{key}_rows",
                     column_config={"question": st.column_config.TextColumn(width="large")})
    st.download_button("Download this run (CSV)", run_csv(data, s, run["mode"]), icon=":material/download:",
                       file_name=f"mini-benchmark-{run['mode']}-{s.rows[0].k}-shot.csv", mime="text/csv",
                       key=f"{key}_csv_{zlib.crc32(label.encode())}", on_click="ignore")


def _service_and_model():
    service = app_cache.model_service_or_none()
    if service is None:
        return None, None
    # Letters and choice texts are scored by log-probabilities: a server model is left to the other demos.
    return service, insides_note(service, "The mini-benchmark")


def show(key: str = "mini_benchmark") -> None:
    st.markdown("#### Try it: score SmolLM2 on a mini-benchmark, three ways")
    data = _data()
    if data is None:
        return
    subjects = ", ".join(data.subjects.values())
    st.markdown(f"{len(data.questions)} multiple-choice questions written for this app in MMLU's format "
                f"({subjects}; four choices each), plus a separate pool of worked examples for few-shot prompts. "
                "Pick how the answer is read, look at one question, then run the whole set.")
    service, model = _service_and_model()
    if service is None:
        return
    left, right = st.columns([3, 2])
    mode = left.radio("How the model's answer is read", list(bm.MODES), format_func=bm.MODES.get, key=f"{key}_mode")
    k = right.slider("Worked examples before each question (k-shot)", 0, bm.MAX_SHOTS, 0, key=f"{key}_k")
    if not ensure_decoder(service, model):
        return
    _inspect(data, model, mode, k, key)

    st.markdown("**Run the whole set**")
    n = st.slider("Questions to run (n, taking the subjects in turn; all for the real score)", 4, len(data.questions),
                  len(data.questions), key=f"{key}_n")

    guess = {"letter": 0.12 + 0.05 * k, "text": 0.13 + 0.03 * k, "generate": 0.46 + 0.1 * k}[mode]  # 2-core CPU
    st.caption(f"{n} questions: {estimate_text(app_cache.rate_book(), _rate_kind(mode, k), n, guess)}; questions "
               "anyone already scored with these settings come from the cache at once.")
    if st.button("Run the benchmark", key=f"{key}_run", type="primary"):
        _cancel_button(key)
        _run(model, mode, k, "original", data.balanced_order()[:n], key)
    runs = {label: run for label, run in _runs().items() if run["perturbation"] == "original"}
    if not runs:
        return
    _results_chart(runs, key)
    st.caption("Each bar is one run you made here. Rerun with another scoring mode or k to see how much the "
               "*way of asking* moves the score of the very same model on the very same questions.")
    label = st.selectbox("Run to look at", list(runs), index=len(runs) - 1, key=f"{key}_which")
    _show_run(data, label, runs[label], key)


# ---- calibration ------------------------------------------------------------------------------------------
def _reliability_chart(bins: list[bm.Bin], key: str) -> None:
    used = [b for b in bins if b.count]
    mids = [(b.low + b.high) / 2 for b in used]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0.25, 1], y=[0.25, 1], mode="lines", line=dict(dash="dash", color="#9E9E9E"),
                             name="perfectly calibrated", hoverinfo="skip"))
    fig.add_trace(go.Bar(x=mids, y=[b.accuracy for b in used], width=[(b.high - b.low) * 0.9 for b in used],
                         marker_color="#1E88E5", name="accuracy in the bin",
                         text=[f"n={b.count}" for b in used], textposition="outside", cliponaxis=False,
                         customdata=[[b.low, b.high, b.confidence] for b in used],
                         hovertemplate="confidence %{customdata[0]:.0%}–%{customdata[1]:.0%}<br>mean confidence "
                                       "%{customdata[2]:.0%}<br>accuracy %{y:.0%}<br>%{text}<extra></extra>"))
    fig.add_trace(go.Scatter(x=mids, y=[b.confidence for b in used], mode="markers", marker=dict(color="#E53935",
                             size=10, symbol="diamond"), name="mean confidence in the bin"))
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=14),
                      xaxis=dict(range=[0.25, 1.0], tickformat=".0%", title="the model's confidence in its answer"),
                      yaxis=dict(range=[0, 1.15], tickformat=".0%", title="share right"),
                      legend=dict(orientation="h", y=-0.25),
                      title=dict(text="Reliability diagram: bars on the dashed line = honest confidence",
                                 font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_reliability", config=PNG_ONLY)


def show_calibration(key: str = "calibration") -> None:
    st.markdown("#### Try it: is the model's confidence honest?")
    runs = {label: run for label, run in _runs().items() if run["mode"] != "generate" and run["rows"]}
    if not runs:
        st.info("Run the mini-benchmark above in a log-likelihood mode (letters or choice text) first: calibration "
                "needs the probability the model gave each choice.")
        return
    label = st.selectbox("Run", list(runs), index=len(runs) - 1, key=f"{key}_run")
    n_bins = st.slider("Bins", 3, 10, 5, key=f"{key}_bins")
    rows = runs[label]["rows"]
    bins, ece = bm.reliability([r.confidence for r in rows], [r.correct for r in rows], n_bins, low=0.25)
    _reliability_chart(bins, key)
    mean_conf = sum(r.confidence for r in rows) / len(rows)
    acc = sum(r.correct for r in rows) / len(rows)
    a, b, c = st.columns(3)
    a.metric("Expected calibration error", f"{ece:.3f}", help="Σ over bins (share of answers) × |accuracy − mean "
             "confidence|. 0 is perfect.")
    b.metric("Mean confidence", f"{mean_conf:.0%}")
    c.metric("Accuracy", f"{acc:.0%}")
    verdict = ("more confident than it is right: over-confident" if mean_conf > acc + 0.05 else
               "less confident than it is right: under-confident" if mean_conf < acc - 0.05 else
               "about as confident as it is right, on average")
    st.caption(f"On this run the model is {verdict}. With {len(rows)} questions a bin holds only a handful of "
               "answers, so read the shape, not the third decimal.")


# ---- robustness -------------------------------------------------------------------------------------------
def show_robustness(key: str = "robustness") -> None:
    st.markdown("#### Try it: does the score survive small changes?")
    data = _data()
    if data is None:
        return
    st.markdown("The same questions, asked again with the choices in another order, or with one typo (two "
                "neighbouring letters swapped) in the question. The knowledge needed is exactly the same.")
    service, model = _service_and_model()
    if service is None:
        return
    left, right = st.columns(2)
    mode = left.radio("How the answer is read", ["text", "letter"], format_func=bm.MODES.get, key=f"{key}_mode",
                      help="Choice text is scored without the choices listed, so their order cannot matter to it; "
                           "letters are scored after a listed A–D, so the order can.")
    k = right.slider("k-shot", 0, bm.MAX_SHOTS, 0, key=f"{key}_k")
    n = st.slider("Questions (n, taking the subjects in turn)", 4, len(data.questions), len(data.questions),
                  key=f"{key}_n")
    if st.button("Run all three versions", key=f"{key}_run", type="primary"):
        if not ensure_decoder(service, model):
            return
        _cancel_button(key)
        for perturbation in bm.PERTURBATIONS:
            done = _runs().get(_label(mode, k, perturbation, model))
            if not (done and len(done["rows"]) >= n):
                _run(model, mode, k, perturbation, data.balanced_order()[:n], key, rerun=False)
    results = {p: _runs().get(_label(mode, k, p, model)) for p in bm.PERTURBATIONS}
    if not all(r and r["rows"] for r in results.values()):
        return
    count = min(len(r["rows"]) for r in results.values())
    accs = {p: sum(x.correct for x in r["rows"][:count]) / count for p, r in results.items()}
    base = results["original"]["rows"][:count]
    flips = {p: sum(a.correct != b.correct for a, b in zip(base, results[p]["rows"][:count]))
             for p in ("shuffled", "typo")}
    fig = go.Figure(go.Bar(x=[bm.PERTURBATIONS[p] for p in accs], y=list(accs.values()),
                           marker_color=["#1E88E5", "#FB8C00", "#8E24AA"],
                           text=[f"{v:.0%}" for v in accs.values()], textposition="outside", cliponaxis=False))
    fig.add_hline(y=bm.RANDOM_BASELINE, line_dash="dash", line_color="#E53935", annotation_text="random: 25%",
                  annotation_position="top left")
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=14),
                      yaxis=dict(range=[0, 1.1], tickformat=".0%", title="accuracy"),
                      title=dict(text=f"Same {count} questions, three ways of writing them", font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    st.markdown(f"Shuffling the choices changed right ↔ wrong on **{flips['shuffled']}** of {count} questions; one "
                f"typo changed it on **{flips['typo']}**. A model that knows the answer should not care; a model that "
                "partly guesses (for example, prefers the letter A) moves.")
    example = data.questions[0]
    st.caption("Example — original: " + literal(example.question) + " · with a typo: "
               + literal(bm.with_typo(example, seed=0).question))

