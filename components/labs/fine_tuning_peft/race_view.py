"""Page 7 demos "race" and "forgetting": full fine-tuning, LoRA and prompt tuning trained on the same data, steps and
seed on private copies of SmolLM2, as one background job on the server's training queue; every session sees the
latest race live (a presenter's race is the room's), and its results stay on the page."""
from __future__ import annotations

import hashlib
import math

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components.common import errors, roles, training
from components.common.text import literal
from components.labs.fine_tuning_peft import cache
from core.labs.fine_tuning_peft import data

KEY = "ft_race"
COLOURS = {"full": "#C62828", "selective": "#6D4C41", "lora": "#1565C0", "prompt": "#2E7D32"}
LEARNING_RATES = (1e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 3e-2, 1e-1, 1.0, 10.0)
REFRESH_S = 1.5
MB = 1e6


# ------------------------------------------------------------------------------------------------------ settings

def _methods_form():
    from core.labs.fine_tuning_peft.methods import LORA_TARGETS, TITLES, Method
    from core.labs.fine_tuning_peft.race import DEFAULT_METHODS
    defaults = {m.kind: m for m in DEFAULT_METHODS}
    kinds = st.multiselect("Methods in the race", list(TITLES), default=[m.kind for m in DEFAULT_METHODS],
                           format_func=TITLES.get, key=f"{KEY}_kinds")
    chosen = []
    with st.expander("Each method's settings (learning rate, LoRA rank and modules, soft-prompt length)"):
        for kind in kinds:
            st.markdown(f"**{TITLES[kind]}**")
            base = defaults.get(kind, Method(kind, lr=1e-4))
            cols = st.columns(4)
            lr = cols[0].select_slider("learning rate", LEARNING_RATES, value=base.lr if base.lr in LEARNING_RATES
                                       else 1e-4, format_func=lambda v: f"{v:g}", key=f"{KEY}_{kind}_lr",
                                       help="Too large and the loss explodes: the run stops and says it diverged.")
            method = Method(kind, lr=lr)
            if kind == "lora":
                rank = cols[1].number_input("rank r", 1, 64, 8, key=f"{KEY}_rank")
                alpha = cols[2].number_input("α (scale = α / r)", 1, 128, 16, key=f"{KEY}_alpha")
                dropout = cols[3].number_input("dropout", 0.0, 0.5, 0.0, 0.05, key=f"{KEY}_dropout")
                targets = st.multiselect("modules LoRA adapts (in all 30 layers)", LORA_TARGETS,
                                         default=list(base.targets), key=f"{KEY}_targets")
                method = Method(kind, lr=lr, rank=int(rank), alpha=float(alpha), dropout=float(dropout),
                                targets=tuple(targets))
            elif kind == "prompt":
                n = cols[1].number_input("virtual tokens", 1, 100, 20, key=f"{KEY}_virtual")
                init = cols[2].text_input("start from the text", base.init_text, max_chars=200, key=f"{KEY}_init")
                method = Method(kind, lr=lr, virtual_tokens=int(n), init_text=init)
            elif kind == "selective":
                n = cols[1].number_input("last layers trained", 1, 30, 2, key=f"{KEY}_last")
                method = Method(kind, lr=lr, last_layers=int(n))
            chosen.append(method)
    return tuple(chosen)


def _upload():
    """The learner's own pairs, parsed (None when none or invalid; the reason is shown)."""
    st.caption(f"A .jsonl file (one `{{\"prompt\": …, \"completion\": …}}` per line) or a .csv with `prompt` and "
               f"`completion` columns: {data.MIN_UPLOAD_ROWS}–{data.MAX_UPLOAD_ROWS:,} pairs, at most "
               f"{data.MAX_UPLOAD_BYTES // 1024 // 1024} MB; prompts up to {data.MAX_PROMPT_CHARS:,} characters, "
               f"completions up to {data.MAX_COMPLETION_CHARS}. A fifth is held out for the held-out loss. It stays "
               "in your session only.")
    file = st.file_uploader("Your prompt/completion pairs", type=["jsonl", "csv"], key=f"{KEY}_file",
                            max_upload_size=1)
    if file is None:
        return None
    try:
        pairs = data.parse_pairs(file.name, file.getvalue())
    except data.DataError as exc:
        st.error(str(exc))
        return None
    st.success(f"{len(pairs):,} pairs read from {literal(file.name, 80)}.")
    st.dataframe([{"prompt": p.prompt[:200], "completion": p.completion[:200]} for p in pairs[:5]],
                 hide_index=True, width="stretch")
    return pairs


def _settings():
    from core.labs.fine_tuning_peft import race
    tasks = {**{k: t.title for k, t in data.TASKS.items()}, "upload": "Your own file"}
    task = st.radio("Task to teach", list(tasks), format_func=tasks.get, horizontal=True, key=f"{KEY}_task",
                    help="Sentiment: positive or negative. Aspect: is the review about food, service or price?")
    uploaded = _upload() if task == "upload" else None
    cols = st.columns(3)
    steps = cols[0].slider("Training steps", 2, 40, race.DEFAULT_STEPS, key=f"{KEY}_steps",
                           help="Each step shows the model one batch of examples and nudges the weights once.")
    batch = cols[1].select_slider("Examples per step (batch)", (1, 2, 4, 8, 16), race.DEFAULT_BATCH,
                                  key=f"{KEY}_batch")
    share = cols[2].slider("Mix in general data (%)", 0, 50, 0, 10, key=f"{KEY}_share",
                           help="Multi-task fine-tuning: this share of the training examples are general questions "
                                "with their answers, so general skills keep being practised.") / 100
    methods = _methods_form()
    return race.RaceSettings(task=task, steps=steps, batch=batch, general_share=share, methods=methods), uploaded


def _workload_key(settings, uploaded) -> str:
    if settings.task != "upload":
        return settings.task
    digest = hashlib.sha256("\x00".join(p.prompt + "\x01" + p.completion for p in uploaded or []).encode())
    return "upload-" + digest.hexdigest()[:16]


def _start(settings, uploaded) -> None:
    from core.labs.fine_tuning_peft import race
    befores = cache.befores()
    key = _workload_key(settings, uploaded)

    def work(ctx, service):
        result = race.run_race(service.decoder_copy, service.tokenizer(), settings, uploaded=uploaded,
                               before=befores.get(key), update=lambda r: ctx.update(race=r),
                               cancelled=ctx.cancelled)
        if result.before is not None:
            befores.put(key, (result.before, result.before_samples))
        return result

    needs_full = any(m.kind in ("full", "selective") for m in settings.methods)
    training.start("race", "race", work, copies=5.0 if needs_full else 2.5, private=settings.task == "upload")


# -------------------------------------------------------------------------------------------------------- charts

def loss_chart(outcomes):
    fig = go.Figure()
    for o in outcomes:
        colour = COLOURS.get(o.method.kind, "#555")
        fig.add_trace(go.Scatter(x=list(o.run.steps), y=list(o.run.train_loss), name=f"{o.method.title}: training",
                                 mode="lines+markers", line=dict(color=colour, width=3)))
        held = list(o.run.held_out)
        if held:
            fig.add_trace(go.Scatter(x=[s for s, _ in held], y=[v for _, v in held],
                                     name=f"{o.method.title}: held-out", mode="lines+markers",
                                     line=dict(color=colour, width=2, dash="dash"), marker=dict(symbol="diamond")))
    fig.update_layout(title="Loss on the answer tokens: training batches (solid) and held-out reviews (dashed)",
                      height=420, margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.2))
    fig.update_xaxes(title_text="training step", rangemode="tozero")
    fig.update_yaxes(title_text="cross-entropy (log scale)", type="log")
    return fig


def _score_rows(result):
    rows = [("Original model", "original", result.before)]
    rows += [(o.method.title, o.method.kind, o.after) for o in result.outcomes if o.after is not None]
    return rows


def task_chart(result):
    rows = [r for r in _score_rows(result) if r[2] is not None and r[2].task is not None]
    names = [r[0] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[r[2].task.answers for r in rows], name="replies with the right label word",
                         marker_color="#5B3CC4", text=[f"{r[2].task.answers:.0%}" for r in rows],
                         textposition="outside", cliponaxis=False))
    fig.add_trace(go.Bar(x=names, y=[r[2].task.picks for r in rows], name="ranks the right label above the others",
                         marker_color="#B39DDB", text=[f"{r[2].task.picks:.0%}" for r in rows],
                         textposition="outside", cliponaxis=False))
    fig.update_layout(title="The task: held-out reviews before and after", barmode="group", height=380,
                      margin=dict(l=10, r=10, t=60, b=40), legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.15])
    return fig


GENERAL_SCORE_NOTE = (
    "A general question counts as answered right when its true answer gets the highest **mean log-probability per "
    "token** of the options, after the question. That is this lab's own rule: lm-evaluation-harness's `acc` sums the "
    "log-probabilities instead, and its `acc_norm` divides the sum by the answer's characters.")


def forgetting_chart(result):
    rows = [r for r in _score_rows(result) if r[2] is not None]
    names = [r[0] for r in rows]
    colours = [COLOURS.get(r[1], "#9E9E9E") for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("General questions answered right (higher is better)",
                                                        "Perplexity on an encyclopedic text (lower is better)"))
    fig.add_trace(go.Bar(x=names, y=[r[2].general for r in rows], marker_color=colours, showlegend=False,
                         text=[f"{r[2].general:.0%}" for r in rows], textposition="outside", cliponaxis=False),
                  row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=[r[2].perplexity for r in rows], marker_color=colours, showlegend=False,
                         text=[f"{r[2].perplexity:.1f}" for r in rows], textposition="outside", cliponaxis=False),
                  row=1, col=2)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.15], row=1, col=1)
    top = max((r[2].perplexity for r in rows if math.isfinite(r[2].perplexity)), default=1)
    fig.update_yaxes(range=[0, top * 1.25], row=1, col=2)
    fig.update_layout(title=f"Forgetting: general skills before and after ({result.settings.general_share:.0%} "
                            "general data mixed in)", height=400, margin=dict(l=10, r=10, t=80, b=40))
    return fig


def _summary_rows(result):
    from core.labs.fine_tuning_peft.methods import deck_memory
    rows = []
    for o in result.outcomes:
        run = o.run
        measured = sum(run.memory.values())   # 0 before the first step was measured
        deck = sum(deck_memory(o.method, run.trainable, run.total).values()) if run.total else float("nan")
        rows.append({"method": o.method.title, "trainable parameters": f"{run.trainable:,}",
                     "share trained": f"{run.share:.4%}", "s / step": _rounded(run.seconds_per_step, 2),
                     "tokens / s": _rounded(run.tokens_per_second), "memory measured (MB)": round(measured / MB),
                     "rule of thumb (MB)": _rounded(deck / MB),
                     "result": {"done": "finished", "running": "training…"}.get(run.state, run.state),
                     "settings": o.method.describe()})
    return rows


def _rounded(value: float, digits: int | None = None):
    """A number for the summary table; None (an empty cell) for a run with no step yet (NaN, infinite)."""
    return round(value, digits) if math.isfinite(value) else None


PARTS = (("weights", "#90A4AE"), ("gradients", "#FFB74D"), ("optimizer (Adam)", "#E57373"),
         ("activations", "#64B5F6"))


def memory_chart(result):
    """Measured memory by part, stacked per method, with the deck's rule of thumb as a marker."""
    from core.labs.fine_tuning_peft.methods import deck_memory
    done = [o for o in result.outcomes if o.run.memory]
    names = [o.method.title for o in done]
    fig = go.Figure()
    for part, colour in PARTS:
        fig.add_trace(go.Bar(x=names, y=[o.run.memory.get(part, 0.0) / MB for o in done], name=part,
                             marker_color=colour))
    fig.add_trace(go.Scatter(x=names, y=[sum(deck_memory(o.method, o.run.trainable, o.run.total).values()) / MB
                                         for o in done], name="page 6's rule of thumb", mode="markers",
                             marker=dict(symbol="diamond", size=16, color="#212121")))
    fig.update_layout(title="Training memory: measured on the first step, and page 6's rule of thumb", barmode="stack",
                      height=380, margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(title_text="MB", rangemode="tozero")
    return fig


def share_chart(results):
    """General skills against the share of general data mixed in, one line per method, from finished races."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("General questions answered right",
                                                        "Perplexity on the encyclopedic text"))
    kinds: dict[str, list] = {}
    for r in sorted(results, key=lambda r: r.settings.general_share):
        for o in r.outcomes:
            if o.after is not None:
                kinds.setdefault(o.method.kind, []).append((r.settings.general_share, o))
    for kind, points in kinds.items():
        colour = COLOURS.get(kind, "#555")
        title = points[0][1].method.title
        x = [p[0] * 100 for p in points]
        fig.add_trace(go.Scatter(x=x, y=[p[1].after.general for p in points], name=title, mode="lines+markers",
                                 line=dict(color=colour, width=3)), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=[p[1].after.perplexity for p in points], name=title, mode="lines+markers",
                                 line=dict(color=colour, width=3), showlegend=False), row=1, col=2)
    before = results[-1].before
    if before is not None:
        for col, value in ((1, before.general), (2, before.perplexity)):
            fig.add_hline(y=value, line_dash="dot", line_color="#616161", row=1, col=col)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title_text="general data mixed in (%)")
    fig.update_layout(title="Multi-task data against forgetting (dotted: the original model)", height=380,
                      margin=dict(l=10, r=10, t=80, b=40), legend=dict(orientation="h", y=-0.3))
    return fig


def _comparable(result) -> list:
    """Finished races on this server with the same task, steps, batch and methods as `result`, one per share
    (the latest), `result` included."""
    same = {}
    for r in training.finished_results("race"):
        if r.state != "done":
            continue
        s, t = r.settings, result.settings
        if (s.task, s.steps, s.batch, s.seed, s.methods) == (t.task, t.steps, t.batch, t.seed, t.methods):
            same[s.general_share] = r
    same[result.settings.general_share] = result
    return [same[k] for k in sorted(same)]


def _memory_rows(result):
    rows = []
    for o in result.outcomes:
        for part in ("weights", "gradients", "optimizer (Adam)", "activations"):
            rows.append({"method": o.method.title, "part": part,
                         "MB": round(o.run.memory.get(part, 0.0) / MB, 1)})
    return rows


def _samples_table(result):
    if not result.before_samples:
        return []
    rows = []
    for i, prompt in enumerate(result.sample_prompts):
        row = {"prompt": prompt.replace("\n", " · "), "original": result.before_samples[i]}
        for o in result.outcomes:
            if o.samples:
                row[o.method.title] = o.samples[i]
        rows.append(row)
    return rows


def _observations(result) -> list[str]:
    """Plain sentences computed from this race's numbers."""
    out = []
    b = result.before
    if b is None:
        return out
    for o in result.outcomes:
        a = o.after
        if a is None:
            continue
        parts = []
        if a.task is not None and b.task is not None:
            parts.append(f"replies with the right label {b.task.answers:.0%} → {a.task.answers:.0%}")
        parts.append(f"general questions {b.general:.0%} → {a.general:.0%}")
        change = a.perplexity / b.perplexity - 1 if b.perplexity else float("nan")
        parts.append(f"perplexity {b.perplexity:.1f} → {a.perplexity:.1f} ({change:+.0%})")
        out.append(f"**{o.method.title}**: " + "; ".join(parts) + ".")
    return out


# --------------------------------------------------------------------------------------------------------- views

def _progress(result) -> None:
    total = max(len(result.settings.methods) * result.settings.steps, 1)
    done = sum(len(o.run.steps) for o in result.outcomes)
    st.progress(min(done / total, 1.0), text=f"{literal(result.phase)} · step {done} of {total} · "
                                              f"{result.seconds:.0f} s")


def _adapter_downloads(result) -> None:
    """The race's trained adapters as files peft loads back (full fine-tuning changed the whole model: no file)."""
    files = [(o, o.adapter_zip()) for o in result.outcomes if o.adapter is not None]
    if not files:
        return
    cols = st.columns(len(files))
    for col, (outcome, blob) in zip(cols, files):
        col.download_button(f"Download the {outcome.method.title} adapter ({len(blob) / 1e6:.1f} MB)", blob,
                            file_name=f"smollm2-{outcome.method.kind}-{result.settings.task}-adapter.zip",
                            mime="application/zip", key=f"{KEY}_adapter_{outcome.method.kind}",
                            icon=":material/download:", on_click="ignore")
    st.caption("Each file is the adapter as peft saves it (adapter_config.json and adapter_model.safetensors): "
               "unzip it and load it onto SmolLM2-135M-Instruct with `PeftModel.from_pretrained(model, folder)`.")


def _results(result, live: bool, private_hidden: bool = False) -> None:
    if result.outcomes:
        st.plotly_chart(loss_chart(result.outcomes), width="stretch", key=f"{KEY}_loss")
        for o in result.outcomes:
            if o.run.state == "diverged":
                st.warning(f"{o.method.title}: {o.run.note}")
        st.dataframe(_summary_rows(result), hide_index=True, width="stretch")
    if live:
        return
    if result.before is not None and any(o.after for o in result.outcomes):
        if any(r[2].task for r in _score_rows(result) if r[2] is not None):
            st.plotly_chart(task_chart(result), width="stretch", key=f"{KEY}_task_chart")
        st.plotly_chart(forgetting_chart(result), width="stretch", key=f"{KEY}_forgetting")
        st.caption(GENERAL_SCORE_NOTE)
        from core.labs.fine_tuning_peft.race import GENERAL_TEST_ROWS
        st.caption(f"The general score is {GENERAL_TEST_ROWS} held-out multiple-choice questions (each option scored "
                   f"by its log-probability), so one question moves it by {100 / GENERAL_TEST_ROWS:.0f} points: read "
                   "differences of one or two questions as noise. Perplexity is on 256 tokens of an encyclopedic "
                   "text the model never trained on here.")
        for line in _observations(result):
            st.markdown(line)
        if not private_hidden:
            _adapter_downloads(result)
        if private_hidden:
            st.caption("This race trained on a learner's own file: its prompts and replies stay with that learner.")
        else:
            st.markdown("**Same prompts, greedy replies** (the first is from the task's held-out set, the others "
                        "are general questions):")
            st.dataframe(_samples_table(result), hide_index=True, width="stretch")
        st.caption("Read the general questions' replies: a model tuned on one-word labels tends to answer "
                   "everything in one word, the start of catastrophic forgetting. A soft prompt trained for the "
                   "task is still in front of every question here; with PEFT you would simply take it (or the LoRA "
                   "adapter) off for other work, and the original model is back unchanged.")
        st.plotly_chart(memory_chart(result), width="stretch", key=f"{KEY}_memory")
        st.caption("Measured from the tensors on the first step: the weights, the gradients of what trains, Adam's "
                   "two states per trainable parameter, and the activations autograd keeps for the backward pass. "
                   "Page 6's rule of thumb: 4 bytes per weight, +12 per trainable parameter, +8 per parameter for "
                   "activations — its high end; a batch of short examples needs far less. Full fine-tuning pays for "
                   "gradients and Adam on every weight; LoRA and prompt tuning on almost none.")
        with st.expander("Memory by part (MB, measured)"):
            st.dataframe(_memory_rows(result), hide_index=True, width="stretch")
        comparable = _comparable(result)
        if len(comparable) > 1:
            st.plotly_chart(share_chart(comparable), width="stretch", key=f"{KEY}_shares")
        else:
            st.caption("Run the race again with some general data mixed in (the slider above) to draw forgetting "
                       "against the share of general data.")


def _live_panel() -> None:
    shown = training.panel("race", "The race", KEY, "race", mine="your race",
                           empty="No race has run on this server yet. Press **Start the race** (about two minutes "
                                 "with the defaults on a 2-core CPU; much faster on a GPU).",
                           cancelled_note=" What it finished is below.")
    if shown is None:
        return
    snap, result = shown
    if result is None:
        return
    _progress(result)
    _results(result, live=not snap.finished, private_hidden=not training.shows_private(snap))


def show() -> None:
    st.markdown("#### Try it: race three ways to fine-tune SmolLM2")
    st.markdown("Each method gets its own private copy of SmolLM2 (the model everyone else uses never changes), the "
                "same training examples in the same order, and the same number of steps. Watch the loss fall, then "
                "see what each one learned — and what it forgot.")
    settings, uploaded = _settings()
    if roles.start_button("Start the race", f"{KEY}_start", type="primary", icon=":material/sports_score:"):
        if not settings.methods:
            st.warning("Choose at least one method.")
        elif settings.task == "upload" and not uploaded:
            st.warning("Upload a valid file of prompt/completion pairs first.")
        else:
            with errors.shown("The race could not start"):
                _start(settings, uploaded)
    training.live("race", KEY, _live_panel, REFRESH_S)
