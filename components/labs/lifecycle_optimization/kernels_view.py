"""Page 10 demos "real-kernels" (INT8 with integer matrix kernels next to FP32 and BF16, measured) and "frontier"
(every variant measured on this page as points on quality-vs-speed and quality-vs-size charts)."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components.common import cache as app_cache
from components.common import errors
from components.common.charts import PNG_ONLY, label_positions
from components.common.model_status import load_with_progress
from components.labs.lifecycle_optimization import cache
from components.labs.lifecycle_optimization.distillation_view import frontier_points
from components.labs.lifecycle_optimization.pruning_view import CURVE, _ids

KEY = "kernels"


def _measure_all():
    from core.labs.lifecycle_optimization import kernels
    ids = _ids()
    bar = st.progress(0.0, text="Building and measuring each precision…")
    rows = []
    for n, variant in enumerate(kernels.VARIANTS, start=1):
        rows.append(cache.kernel_variant(ids, variant))
        bar.progress(n / len(kernels.VARIANTS), text=f"Measured {n} of {len(kernels.VARIANTS)}: {variant}")
    bar.empty()
    return rows


def show() -> None:
    from core.labs.lifecycle_optimization import kernels
    st.markdown("#### Try it: quantization that really runs faster")
    st.markdown("The quantization lesson rounded weights to INT8 and expanded them back to FP32 to compute, which "
                "saves nothing at run time. Here PyTorch stores the weights as int8 **and multiplies them with the "
                "processor's int8 instructions**. Each variant is a private copy, measured on the same paragraph "
                "and the same 32-token greedy answer.")
    engine = kernels.int8_engine()
    st.caption(f"int8 engine on this machine: {engine or 'none (INT8 variants cannot run here)'}.")
    if st.button("Build and measure the four variants", key=f"{KEY}_run", type="primary"):
        service = app_cache.model_service_or_none()
        if service is None:
            return
        with errors.shown("The variants could not be measured"):
            if load_with_progress(service, service.registry.default_decoder, "causal-lm"):
                st.session_state[f"{KEY}_rows"] = _measure_all()
    rows = st.session_state.get(f"{KEY}_rows")
    if not rows:
        st.caption("Takes about half a minute on a 2-core CPU the first time; then everyone sees the results.")
        return
    fp32 = rows[0]
    st.plotly_chart(_speed_chart(rows), key=f"{KEY}_chart", config=PNG_ONLY)
    table = [{"variant": r.variant, "stored size (MB)": f"{r.bytes / 1e6:,.0f}",
              "reading speed (tokens/s)": f"{r.forward_tokens_per_second:,.0f}",
              "writing speed (tokens/s)": f"{r.generate_tokens_per_second:,.1f}",
              "speed-up (writing)": f"{r.generate_tokens_per_second / fp32.generate_tokens_per_second:.2f}×",
              "KL from FP32": f"{r.kl:.3f}", "same top token": f"{r.top1:.0%}", "perplexity": f"{r.perplexity:,.1f}"}
             for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    with st.expander("What each variant is"):
        for r in rows:
            st.markdown(f"- **{r.variant}**: {kernels.DESCRIPTIONS[r.variant]}")
    st.caption("Reading: one pass over the paragraph (how fast a prompt is read). Writing: 32 new tokens one at a "
               "time, the part a user waits for. Timings are single runs on a shared server and wobble by 10–20 %. "
               "Int8 everywhere is fastest but drifts most: the inputs of each MLP's down_proj hold a few huge "
               "activations, and one int8 scale for them flattens all the small ones. Keeping just those layers "
               "in FP32 gives back most of the quality for part of the speed. LLM.int8() is finer-grained: inside "
               "every matrix multiply it keeps only the few outlier feature dimensions in 16-bit and the rest in "
               "int8; a whole layer in FP32 is a coarser version of the same idea.")


def _speed_chart(rows):
    names = [r.variant.replace(", ", "<br>") for r in rows]
    colours = ["#9E9E9E", "#7E57C2", "#5B3CC4", "#00897B"][:len(rows)]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("writing speed (tokens/s; higher is faster)",
                                                        "KL from FP32 (lower is closer)"))
    fig.add_trace(go.Bar(x=names, y=[r.generate_tokens_per_second for r in rows], marker_color=colours,
                         text=[f"{r.generate_tokens_per_second:.1f}" for r in rows], textposition="outside",
                         showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=[r.kl for r in rows], marker_color=colours,
                         text=[f"{r.kl:.3f}" for r in rows], textposition="outside", showlegend=False), row=1, col=2)
    top_speed = max(r.generate_tokens_per_second for r in rows)
    fig.update_yaxes(range=[0, top_speed * 1.25], row=1, col=1)
    fig.update_yaxes(range=[0, max(max(r.kl for r in rows) * 1.25, 0.01)], row=1, col=2)
    fig.update_layout(title="Faster, and how far it drifts", height=400, margin=dict(l=10, r=10, t=80, b=40))
    return fig


def _points():
    """(label, kind, tokens/s reading, MB, KL) for every variant this session measured on the page."""
    points = []
    short = {"INT8, every linear layer": "INT8 all", "INT8, down_proj kept in FP32": "INT8 mixed"}
    for r in st.session_state.get(f"{KEY}_rows") or []:
        points.append((short.get(r.variant, r.variant), "precision", r.forward_tokens_per_second, r.bytes / 1e6,
                       r.kl))
    if st.session_state.get("prune_on"):
        ids = _ids()
        if not points:                          # the original, for reference (the precisions include FP32)
            try:
                p = cache.unstructured(ids, 0.0)
                points.append(("original", "precision", p.tokens_per_second, p.bytes / 1e6, 0.0))
            except Exception:
                pass
        for s in sorted(set(CURVE) | {st.session_state.get("prune_sparsity", 30) / 100}):
            if s > 0:
                try:
                    p = cache.unstructured(ids, s)
                except Exception:
                    continue
                points.append((f"{s:.0%} zeros", "unstructured pruning", p.tokens_per_second,
                               p.bytes / 1e6, p.kl))
    structured = st.session_state.get("prune_structured_result")
    if structured:
        after = structured[1]
        points.append((f"−{after.fraction:.0%} {getattr(after, 'unit', 'channels')}", "structured pruning",
                       after.point.tokens_per_second, after.point.bytes / 1e6, after.point.kl))
    distilled = frontier_points()
    if any(p[1] == "precision" for p in points):        # the original is drawn already
        distilled = [p for p in distilled if p[1] != "precision"]
    return points + distilled


def show_frontier() -> None:
    st.markdown("#### Every variant on one frontier")
    st.markdown("Each point is a model made on this page: prune a copy above, measure the precisions or distil a "
                "student, and they appear here. Good variants sit low (close to the original's predictions) and to "
                "the right (faster) or to the left (smaller). Nothing is free: look for the points that lose least "
                "for what they gain.")
    points = _points()
    if not points:
        st.info("No variants yet: switch on pruning, measure the precisions or distil a student above, then come "
                "back here.")
        return
    colours = {"precision": "#5B3CC4", "unstructured pruning": "#00897B", "structured pruning": "#E65100",
               "distillation": "#AD1457"}
    fig = make_subplots(rows=1, cols=2, subplot_titles=("quality against speed", "quality against size"))
    kls = [max(p[4], 1e-4) for p in points]
    y_range = (min(kls) / 2, max(kls) * 2)            # log axis: half a decade of room above and below
    speeds, sizes = [p[2] for p in points], [p[3] for p in points]
    x_ranges = {1: (0, max(speeds) * 1.3), 2: (0, max(sizes) * 1.3)}
    positions = {col: label_positions([p[1 + col] for p in points], kls, [p[0] for p in points],
                                      x_range=x_ranges[col], y_range=y_range, log_y=True) for col in (1, 2)}
    for kind, colour in colours.items():
        mine = [i for i, p in enumerate(points) if p[1] == kind]
        if not mine:
            continue
        for col in (1, 2):
            fig.add_trace(go.Scatter(x=[points[i][1 + col] for i in mine], y=[kls[i] for i in mine],
                                     mode="markers+text", name=kind,
                                     legendgroup=kind, showlegend=col == 1, text=[points[i][0] for i in mine],
                                     textposition=[positions[col][i] for i in mine],
                                     textfont=dict(size=11, color=colour),
                                     hovertemplate="%{text}<br>x %{x:,.0f}<br>KL %{y:.3f}<extra></extra>",
                                     marker=dict(size=12, color=colour)), row=1, col=col)
    log_range = [math.log10(y_range[0]), math.log10(y_range[1])]       # plotly takes log axes' ranges in log10
    fig.update_yaxes(title_text="KL from the original (log; lower is better)", type="log", exponentformat="power",
                     range=log_range, row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", range=log_range, row=1, col=2)
    fig.update_xaxes(title_text="reading speed, tokens/s", range=list(x_ranges[1]), row=1, col=1)
    fig.update_xaxes(title_text="stored size, MB", range=list(x_ranges[2]), row=1, col=2)
    fig.update_layout(title="The optimization frontier on this server", height=430,
                      margin=dict(l=10, r=10, t=80, b=40), legend=dict(orientation="h", y=-0.2))
    st.plotly_chart(fig, key=f"{KEY}_frontier", config=PNG_ONLY)
    st.caption(f"{len(points)} point(s). The original (FP32) has KL 0 and is drawn at 0.0001 on the log scale. "
               "Reading speeds are single runs and wobble by 10–20 %. The students come from the server's latest "
               "distillation above.")
