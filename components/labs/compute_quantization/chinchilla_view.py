"""Compute budget (6·N·D → petaflop/s-days → GPU-days) and the Chinchilla planner (20 tokens per parameter)."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from components.common.charts import PNG_ONLY
from components.common.text import literal
from core.labs.compute_quantization import compute as cp
from core.labs.compute_quantization import memory as mem

# Where each model's name goes on the scatter plot, so that neighbours do not overlap.
LABEL_POSITION = {"Chinchilla": "bottom right", "LLaMA-65B": "top left", "GPT-3": "middle left",
                  "BLOOM": "top center", "OPT-175B": "bottom center"}
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float) -> str:
    """3.15 × 10^23 for huge or tiny numbers, 3,646 or 18.7 otherwise."""
    if x == 0 or not math.isfinite(x):
        return str(x)
    if 0.01 <= abs(x) < 1e7:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    exp = math.floor(math.log10(abs(x)))
    return f"{x / 10 ** exp:.3g} × 10{str(exp).translate(SUPERSCRIPT)}"


def _count(label: str, default: str, key: str, help: str = "") -> float | None:
    text = st.text_input(label, value=default, key=key, max_chars=40, help=help or None)
    try:
        return mem.parse_parameter_count(text)
    except mem.InputError as exc:
        st.info(f"{label}: {literal(exc)}.")   # the message quotes what was typed
        return None


def show_budget(key: str = "compute") -> None:
    st.markdown("#### Try it: what does a training run cost?")
    st.markdown("Training costs about 6 operations per parameter per token. Set a model size and a number of "
                "training tokens; the chart places your run among well-known models, and the GPU-days assume the "
                "chosen card runs at the utilisation you set (real runs reach roughly 30–60 % of peak).")
    c1, c2 = st.columns(2)
    with c1:
        n = _count("Parameters (N)", "175B", f"{key}_params", "Like 1B, 70B, 175 billion")
    with c2:
        d = _count("Training tokens (D)", "300B", f"{key}_tokens", "Like 300B, 1.4T, 2e12")
    names = [g.name for g in mem.GPUS if g.peak_tflops > 0]
    c3, c4 = st.columns(2)
    gpu = mem.GPU_BY_NAME[c3.selectbox("GPU", names, index=names.index("NVIDIA A100 80 GB"), key=f"{key}_gpu")]
    util = c4.slider("Utilisation of peak (%)", 5, 100, 40, 5, key=f"{key}_util") / 100
    if n is None or d is None:
        return
    try:
        flops = cp.training_flops(n, d)
    except mem.InputError as exc:
        st.info(f"{exc}.")
        return
    pfs = cp.petaflop_s_days(flops)
    days = cp.gpu_days(flops, gpu.peak_tflops, util)
    m1, m2, m3 = st.columns(3)
    m1.metric("Operations (6·N·D)", sci(flops))
    m2.metric("Petaflop/s-days", sci(pfs))
    m3.metric(f"{gpu.name.replace('NVIDIA ', '')} GPU-days", sci(days))
    st.caption(f"6 × {mem.format_count(n)} × {mem.format_count(d)} = {sci(flops)} operations ÷ 8.64 × 10¹⁹ per "
               f"petaflop/s-day = {sci(pfs)}. One {gpu.name} at {util:.0%} of its {gpu.peak_tflops:g} TFLOP/s "
               f"16-bit peak: {sci(days)} days alone, {sci(days / 1000)} days "
               "on 1,000 of them. "
               f"One petaflop/s-day = {cp.chips_for_one_pfs_day(gpu.peak_tflops):.1f} of these at full peak "
               "for 24 hours.")
    models = list(cp.KNOWN_MODELS)
    names = [m.name for m in models] + ["your run"]
    values = [cp.petaflop_s_days(m.flops) for m in models] + [pfs]
    order = sorted(range(len(names)), key=lambda i: values[i])
    fig = go.Figure(go.Bar(x=[values[i] for i in order], y=[names[i] for i in order], orientation="h",
                           marker_color=["#d62728" if names[i] == "your run" else "#1f77b4" for i in order],
                           text=[sci(values[i]) for i in order], textposition="outside", cliponaxis=False))
    fig.update_layout(title=f"Training compute, petaflop/s-days (log scale) — your run: {sci(pfs)}",
                      xaxis_type="log", height=400, margin=dict(t=60, b=40, l=10, r=90), font=dict(size=14))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    st.caption("Known models: 6·N·D from their published parameter and token counts (sources in the Chinchilla "
               "table below); 6·N·D ignores attention's extra cost, which is small for these sizes.")


def show_chinchilla(key: str = "chinchilla") -> None:
    st.markdown("#### Try it: the compute-optimal model for your budget")
    st.markdown("Chinchilla's rule: for the best model from a fixed budget, train on about 20 tokens per "
                "parameter. Put C = 6·N·D and D = 20·N together and the budget alone fixes both: N = √(C / 120) "
                "and D = 20·N. Models above the line saw more data than the rule asks; below it, less.")
    rows = [{"model": m.name, "# of parameters": mem.format_count(m.parameters),
             "compute-optimal # of tokens (~20x)": "~" + cp.round_like_deck(m.optimal_tokens),
             "actual # tokens": cp.round_like_deck(m.tokens), "tokens per parameter": f"{m.tokens_per_param:,.1f}"}
            for m in cp.KNOWN_MODELS]
    st.dataframe(rows, hide_index=True, key=f"{key}_table")
    c1, c2 = st.columns([2, 1])
    unit = c2.radio("Budget in", ("petaflop/s-days", "FLOPs"), key=f"{key}_unit", horizontal=True)
    default = "3640" if unit == "petaflop/s-days" else "3.15e23"
    text = c1.text_input(f"Compute budget ({unit})", value=default, key=f"{key}_budget_{unit}", max_chars=40)
    try:
        budget = float(text.strip().replace(",", ""))
        plan = cp.chinchilla_plan(budget * (cp.PETAFLOP_S_DAY if unit == "petaflop/s-days" else 1))
    except (ValueError, mem.InputError) as exc:
        st.info(f"Enter a compute budget above 0, like 3640 petaflop/s-days or 3.15e23 FLOPs ({literal(exc)}).")
        plan = None
    if plan:
        m1, m2, m3 = st.columns(3)
        m1.metric("Optimal parameters", mem.format_count(plan.parameters))
        m2.metric("Optimal tokens", mem.format_count(plan.tokens))
        m3.metric("Budget", f"{sci(plan.budget_flops)} FLOPs")
    fig = go.Figure()
    xs = [m.parameters for m in cp.KNOWN_MODELS]
    lo, hi = min(xs + ([plan.parameters] if plan else [])) / 3, max(xs + ([plan.parameters] if plan else [])) * 3
    fig.add_scatter(x=[lo, hi], y=[20 * lo, 20 * hi], mode="lines", name="20 tokens per parameter",
                    line=dict(dash="dash", color="#444"))
    fig.add_scatter(x=xs, y=[m.tokens for m in cp.KNOWN_MODELS], mode="markers+text", name="trained models",
                    text=[m.name.split(" (")[0] for m in cp.KNOWN_MODELS],
                    textposition=[LABEL_POSITION.get(m.name, "top center") for m in cp.KNOWN_MODELS],
                    marker=dict(size=12, color="#1f77b4"))
    if plan and math.isfinite(plan.parameters):
        fig.add_scatter(x=[plan.parameters], y=[plan.tokens], mode="markers", name="optimal for your budget",
                        marker=dict(size=16, color="#d62728", symbol="star"))
    fig.update_layout(xaxis_type="log", yaxis_type="log", xaxis_title="parameters", yaxis_title="training tokens",
                      title="Models against the 20-tokens-per-parameter line", height=460, font=dict(size=14),
                      margin=dict(t=60, b=40, l=60, r=20), legend=dict(orientation="h", y=-0.2))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    st.caption("The small SmolLM2 sits far above the line on purpose: training a small model far past its "
               "compute-optimal point costs more once, but gives a better model that is cheap to run for everyone.")
