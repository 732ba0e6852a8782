"""Page 10 demos "soft-labels" (the teacher's next-token distribution softened by a temperature you choose) and
"distillation" (a student cut from SmolLM2, trained on the teacher's soft labels against the same student trained
on hard labels only, as one job on the server's training queue; every session sees the latest race)."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components.common import cache as app_cache
from components.common import errors, roles, training
from components.common.text import literal

KEY = "distil"
KIND = "distillation"
TOP = 10
COLOURS = {"distilled": "#5B3CC4", "hard labels only": "#9E9E9E"}
DRAWN = "distil_drawn"           # the finished run the whole page (and so the frontier) was last drawn with


# --------------------------------------------------------------------------------------------------- soft labels

def soft_chart(tokens: list[str], cold: list[float], warm: list[float], temperature: float):
    fig = go.Figure()
    fig.add_trace(go.Bar(x=tokens, y=cold, name="T = 1 (the model's own probabilities)", marker_color="#B0BEC5",
                         text=[f"{p:.0%}" for p in cold], textposition="outside", cliponaxis=False))
    fig.add_trace(go.Bar(x=tokens, y=warm, name=f"T = {temperature:g} (soft labels)", marker_color="#5B3CC4",
                         text=[f"{p:.0%}" for p in warm], textposition="outside", cliponaxis=False))
    fig.update_layout(title=f"The teacher's {TOP} most likely next tokens, at T = 1 and T = {temperature:g} (share "
                            "among its 64 best)",
                      barmode="group", height=380, margin=dict(l=10, r=10, t=60, b=40),
                      legend=dict(orientation="h", y=-0.25))
    fig.update_yaxes(tickformat=".0%", range=[0, max(cold + warm + [0.01]) * 1.2])
    return fig


def show_soft_labels() -> None:
    from core.labs.lifecycle_optimization.distillation import TOP_K, DistillationError, check_settings
    st.markdown("#### Try it: soft labels")
    st.markdown(f"SmolLM2 (the teacher) reads your text and scores every possible next token. The race below keeps "
                f"its {TOP_K} best-scored tokens per position; dividing their scores by a **temperature** T before "
                "the softmax flattens the probabilities: the runners-up become visible — that is what a student "
                "learns from, instead of only the one right answer.")
    cols = st.columns([3, 1])
    text = cols[0].text_input("Text", "The cat sat on the", max_chars=300, key=f"{KEY}_text")
    temperature = cols[1].number_input("Temperature T", value=2.0, step=0.5, key=f"{KEY}_temperature",
                                       help="Any number from 0.5 to 20; 1 leaves the probabilities as they are.")
    try:
        check_settings(float(temperature), 0.5, 1)
    except DistillationError as exc:
        st.warning(str(exc))
        return
    if not text.strip():
        st.warning("Type a few words for the teacher to continue.")
        return
    service = app_cache.model_service_or_none()
    if service is None:
        return
    with errors.shown("The teacher could not read the text"), st.spinner("SmolLM2 reads the text…"):
        ids = service.encode_ids(text)[-512:]
        logits = np.asarray(service.next_token_logits(ids), dtype=np.float64)
        kept = np.argsort(-logits)[:TOP_K]

        def softmax(x):
            e = np.exp(x - x.max())
            return e / e.sum()
        cold, warm = softmax(logits[kept]), softmax(logits[kept] / float(temperature))
        tokens = [repr(t)[1:-1] for t in service.token_texts([int(i) for i in kept[:TOP]])]
        st.plotly_chart(soft_chart(tokens, [float(p) for p in cold[:TOP]], [float(p) for p in warm[:TOP]],
                                   float(temperature)), width="stretch", key=f"{KEY}_soft")
        entropy = lambda p: float(-(p * np.log(np.clip(p, 1e-30, None))).sum() / math.log(2))   # noqa: E731
        st.caption(f"Among the teacher's {TOP_K} best tokens, the top one holds {cold[0]:.0%} at T = 1 and "
                   f"{warm[0]:.0%} at T = {float(temperature):g}. Spread (entropy): {entropy(cold):.1f} bits at "
                   f"T = 1, {entropy(warm):.1f} bits at T = {float(temperature):g}, out of at most "
                   f"{math.log2(TOP_K):.0f} bits if all {TOP_K} were equally likely. A very high T makes them all "
                   "alike, and then they say nothing.")


# ---------------------------------------------------------------------------------------------------- the race

def _settings():
    from core.labs.lifecycle_optimization.distillation import RaceSettings
    base = RaceSettings()
    cols = st.columns(4)
    steps = cols[0].slider("Training steps", 5, 60, base.steps, 5, key=f"{KEY}_steps")
    temperature = cols[1].select_slider("Temperature T", (1.0, 1.5, 2.0, 4.0, 8.0), base.temperature,
                                        key=f"{KEY}_race_t",
                                        help="At T = 1 nothing is softened: the student matches the teacher's own "
                                             "probabilities for every token. Above 1 the runners-up weigh more "
                                             "(measured here: T ≥ 2 left the student worse at this small scale).")
    alpha = cols[2].slider("α, the soft labels' share", 0.1, 1.0, base.alpha, 0.1, key=f"{KEY}_alpha",
                           help="loss = α · T² · KL(teacher ‖ student) + (1 − α) · cross-entropy on the real text")
    lr = cols[3].select_slider("Learning rate", (1e-4, 3e-4, 1e-3, 3e-3), base.lr, format_func=lambda v: f"{v:g}",
                               key=f"{KEY}_lr")
    return RaceSettings(steps=int(steps), temperature=float(temperature), alpha=float(alpha), lr=float(lr))


def _start(settings) -> None:
    from core.labs.lifecycle_optimization import distillation
    from core.serving.measure import FIXED_TEXT
    distillation.check_race(settings)

    def work(ctx, service):
        train_text, held_text = distillation.corpus()
        return distillation.run_race(service.decoder_copy, service.encode_ids(train_text),
                                     service.encode_ids(held_text), settings, probe_ids=service.encode_ids(FIXED_TEXT),
                                     update=lambda r: ctx.update(race=r), cancelled=ctx.cancelled)

    training.start(KIND, "distillation", work, copies=3.0)


def loss_chart(race):
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Cross-entropy on the training batches",
                                                        "Perplexity on held-out text (lower is better)"))
    for s in race.students:
        colour = COLOURS.get(s.name, "#555")
        fig.add_trace(go.Scatter(x=s.run.steps, y=s.run.losses, name=s.name, mode="lines",
                                 line=dict(color=colour, width=3), legendgroup=s.name), row=1, col=1)
        points = [(0, race.untrained.perplexity)] if race.untrained else []
        points += list(s.run.held_out)
        fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=s.name, showlegend=False,
                                 mode="lines+markers", line=dict(color=colour, width=3), legendgroup=s.name),
                      row=1, col=2)
    if race.teacher is not None:        # a trace, not add_hline: a shape's label on a log axis lands at 10^y
        fig.add_trace(go.Scatter(x=[0, race.settings.steps], y=[race.teacher.perplexity] * 2, mode="lines",
                                 name=f"the teacher ({race.teacher.perplexity:.0f})",
                                 line=dict(color="#2E7D32", width=2, dash="dot")), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_layout(title="The same cut student, the same batches: soft labels against hard labels", height=400,
                      margin=dict(l=10, r=10, t=80, b=40), legend=dict(orientation="h", y=-0.25))
    return fig


def result_rows(race) -> list[dict]:
    rows = []
    models = [race.teacher, race.untrained, *race.students, race.combined]
    for m in models:
        if m is None or math.isnan(m.perplexity):
            continue
        teacher = m is race.teacher
        rows.append({"model": m.name,
                     "layers": race.teacher_layers if teacher else len(race.layers),
                     "parameters": f"{race.teacher_parameters if teacher else race.student_parameters:,}",
                     "MB": round(m.bytes / 1e6), "reading speed (tokens/s)": round(m.tokens_per_second),
                     "held-out perplexity": round(m.perplexity, 1), "KL to the teacher": round(m.kl, 2),
                     "same top token as the teacher": f"{m.top1:.0%}"})
    return rows


def observations(race) -> list[str]:
    done = {s.name: s for s in race.students if not math.isnan(s.perplexity)}
    if len(done) < 2 or race.untrained is None:
        return []
    d, h, u = done["distilled"], done["hard labels only"], race.untrained
    better = d.perplexity < h.perplexity and d.kl < h.kl
    out = [f"From the cut model's perplexity {u.perplexity:.0f}, the student trained on soft labels reached "
           f"**{d.perplexity:.0f}** and the one trained on hard labels only **{h.perplexity:.0f}** (the teacher: "
           f"{race.teacher.perplexity:.0f}). KL to the teacher: {u.kl:.2f} → **{d.kl:.2f}** with soft labels, "
           f"**{h.kl:.2f}** without."]
    if better:
        softened = ("" if race.settings.temperature == 1 else
                    f" (here also softened by T = {race.settings.temperature:g})")
        out.append("With only 1,024 tokens of text, the hard labels are memorised and the held-out text gets worse; "
                   "the teacher's full distribution over the next token carries far more information per token than "
                   f"the one right answer, so the distilled student generalises{softened}."
                   + (" At T = 1 nothing was softened: the gain comes from matching the teacher's whole distribution, "
                      "not from the temperature." if race.settings.temperature == 1 else ""))
    else:
        out.append("This time the soft labels did not win on both counts: try the defaults (T = 1, α = 0.9, "
                   "30 steps), which won here in our measurements.")
    return out


def _panel() -> None:
    shown = training.panel(KIND, "The distillation", KEY, "race",
                           empty="No student has been distilled on this server yet. Press **Distil a student** "
                                 "(about a minute and a half with the defaults on a 2-core CPU).")
    if shown is None:
        return
    snap, race = shown
    if snap.finished and st.session_state.get(DRAWN) != snap.id:
        st.session_state[DRAWN] = snap.id
        st.rerun()                       # a run just finished: redraw the whole page, so the frontier shows it
    if race is None:
        return
    total = 2 * race.settings.steps
    done = sum(len(s.run.steps) for s in race.students)
    st.progress(min(done / total, 1.0), text=f"{literal(race.phase)} · step {done} of {total} · "
                                             f"T = {race.settings.temperature:g}, α = {race.settings.alpha:g}")
    if race.students:
        st.plotly_chart(loss_chart(race), width="stretch", key=f"{KEY}_loss")
    rows = result_rows(race)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    for line in observations(race):
        st.markdown(line)
    if snap.finished and race.state == "done":
        st.caption(f"The student is SmolLM2 with {race.teacher_layers - len(race.layers)} of its "
                   f"{race.teacher_layers} layers removed (the ones whose removal hurt least, measured), so it "
                   "shares the tokenizer and starts from the teacher's own weights; its embeddings stay frozen, "
                   "and they are a fifth of the parameters, so half the layers is not half the size. Reading speed "
                   "is one forward pass over page 6's paragraph, best of two: it wobbles by 10–20 %. The training "
                   "text is 1,024 tokens of this app's lessons; the held-out text is an encyclopedic article. The "
                   "students — and the distilled one quantized to int8 with page 10's real kernels, a combination "
                   "— appear on the frontier below.")


def show() -> None:
    st.markdown("#### Try it: distil a student from SmolLM2")
    st.markdown("The student is SmolLM2 with half its layers cut out — smaller and faster, but badly confused at "
                "first. Two copies of it train on the same 1,024 tokens, in the same order: one learns from the "
                "teacher's **soft labels** (plus a little of the real next token), the other from the **hard "
                "labels** alone (the real next token). Which one ends up closer to the teacher on text neither "
                "has seen?")
    settings = _settings()
    latest = training.to_show(KIND)
    st.session_state[DRAWN] = latest.id if latest is not None and latest.finished else None
    if roles.start_button("Distil a student", f"{KEY}_start", type="primary", icon=":material/school:"):
        from core.labs.lifecycle_optimization.distillation import DistillationError
        if app_cache.model_service_or_none() is not None:
            with errors.shown("The distillation could not start"):
                try:
                    _start(settings)
                except DistillationError as exc:
                    st.warning(str(exc))
    training.live(KIND, KEY, _panel)


def frontier_points() -> list[tuple[str, str, float, float, float]]:
    """(label, kind, tokens/s, MB, KL on the probe text) for the server's latest finished distillation."""
    finished = [r for r in training.finished_results(KIND) if r.state == "done"]
    if not finished:
        return []
    race = finished[-1]
    short = {"cut, before training": "cut student", "distilled": "distilled student",
             "hard labels only": "hard-label student", "distilled + INT8": "distilled + INT8"}
    points = [(short.get(m.name, m.name), "distillation", m.tokens_per_second, m.bytes / 1e6, m.probe_kl)
              for m in [race.untrained, *race.students, race.combined] if m is not None and not math.isnan(m.probe_kl)]
    if race.teacher is not None:      # the original for reference, measured in the same run
        points.insert(0, ("original", "precision", race.teacher.tokens_per_second, race.teacher.bytes / 1e6, 0.0))
    return points
