"""Page 10 demo "pruning": magnitude pruning of a private copy of SmolLM2 at growing sparsity (quality falls, speed
and size do not move), and structured pruning of MLP channels or attention heads (the matrices shrink, so it gets
smaller and faster)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components.common import cache as app_cache
from components.common import errors, roles
from components.common.charts import PNG_ONLY
from components.common.decoder import insides_note
from components.common.model_status import load_with_progress
from components.labs.lifecycle_optimization import cache

KEY = "prune"
CURVE = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9)
CHANNELS = (0.1, 0.25, 0.5)


def _ids() -> tuple[int, ...]:
    from core.serving.measure import FIXED_TEXT
    return tuple(app_cache.model_service().encode_ids(FIXED_TEXT))


def _curve_chart(points, chosen: float):
    x = [p.sparsity * 100 for p in points]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=x, y=[p.perplexity for p in points], name="perplexity (left)", mode="lines+markers",
                             line=dict(color="#5B3CC4", width=3)), secondary_y=False)
    fig.add_trace(go.Scatter(x=x, y=[p.top1 for p in points], name="same top token as the original (right)",
                             mode="lines+markers", line=dict(color="#00897B", width=3)), secondary_y=True)
    fig.add_vline(x=chosen * 100, line_dash="dot", line_color="#E65100")
    fig.update_layout(title="Pruning the smallest weights: quality against sparsity", height=400,
                      margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(title_text="weights set to zero (%)")
    fig.update_yaxes(title_text="perplexity (log scale)", type="log", secondary_y=False)
    fig.update_yaxes(title_text="top-1 agreement", tickformat=".0%", range=[0, 1.05], secondary_y=True)
    return fig


def show() -> None:
    from core.labs.lifecycle_optimization.pruning import check_sparsity
    st.markdown("#### Try it: prune SmolLM2 and watch quality fall")
    st.markdown("A private copy of SmolLM2 (the model everyone else uses is never touched) has the given share of "
                "its smallest weights set to zero in every linear layer. It then reads a fixed English paragraph, "
                "and its next-token predictions are compared with the original's: **perplexity** (how surprised it "
                "is by the real text; lower is better), **KL divergence** from the original, and how often it still "
                "picks the **same top token**.")
    sparsity = st.slider("Weights set to zero (%)", 0, 95, 30, 5, key=f"{KEY}_sparsity") / 100
    if not st.toggle("Prune a copy of the model", key=f"{KEY}_on",
                     help="Makes one private copy of SmolLM2 (about 540 MB) for the whole server."):
        st.caption("Switch on to copy the model once and prune it (the first curve takes about a minute on a CPU).")
        return
    service = app_cache.model_service_or_none()
    if service is None:
        return
    insides_note(service, "Pruning", service.registry.default_decoder)
    with errors.shown("The model could not be pruned"):
        check_sparsity(sparsity)
        if not load_with_progress(service, service.registry.default_decoder, "causal-lm"):
            return
        ids = _ids()
        grid = sorted(set(CURVE) | {sparsity})
        bar = st.progress(0.0, text="Pruning and measuring…")
        points = []
        for n, s in enumerate(grid, start=1):
            points.append(cache.unstructured(ids, s))
            bar.progress(n / len(grid), text=f"Pruned and measured {n} of {len(grid)} sparsities")
        bar.empty()
        chosen = next(p for s, p in zip(grid, points) if s == sparsity)
        base = points[0]
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Zeros (measured)", f"{chosen.sparsity:.1%}")
        m2.metric("Perplexity", f"{chosen.perplexity:,.1f}", delta=f"{chosen.perplexity - base.perplexity:+,.1f}",
                  delta_color="inverse")
        m3.metric("KL from the original", f"{chosen.kl:.3f}")
        m4.metric("Same top token", f"{chosen.top1:.0%}")
        st.plotly_chart(_curve_chart(points, sparsity), key=f"{KEY}_chart", config=PNG_ONLY)
        st.caption(f"Speed of one pass over the paragraph: {base.tokens_per_second:,.0f} tokens/s unpruned, "
                   f"{chosen.tokens_per_second:,.0f} tokens/s at {chosen.sparsity:.0%} zeros; size "
                   f"{chosen.bytes / 1e6:,.0f} MB either way. Zeros in a dense matrix are multiplied like any other "
                   "number, so unstructured pruning makes nothing faster or smaller until a sparse format or "
                   "hardware that skips zeros is used.")
    _structured(service)


METHOD_NAMES = {"activity": "by how active each channel is on sample text",
                "weights": "by the size of its weights only"}


UNITS = {"channels": "MLP channels", "heads": "attention heads"}


def _structured(service) -> None:
    st.markdown("**Structured pruning: remove whole channels or heads.** Each layer's feed-forward block widens every "
                "token's vector from 576 to 1,536 numbers and back; each attention block has 9 query heads of 64 "
                "numbers, in 3 groups that share one key/value head. Removing the least important channels or "
                "heads deletes whole rows and columns, so the matrices really shrink. Which ones count as least "
                "important is the whole game.")
    unit = st.radio("Remove", list(UNITS), format_func=UNITS.get, key=f"{KEY}_unit", horizontal=True)
    a, b = st.columns(2)
    if unit == "channels":
        fraction = a.select_slider("MLP channels removed", CHANNELS, value=0.25, key=f"{KEY}_channels",
                                   format_func=lambda f: f"{f:.0%}")
        method = b.radio("Rank channels", list(METHOD_NAMES), format_func=METHOD_NAMES.get, key=f"{KEY}_method")
    else:
        per_group = a.select_slider("Query heads removed from each group of 3", (1, 2), value=1, key=f"{KEY}_heads",
                                    format_func=lambda n: f"{n} (that is {3 * n} of 9 per layer)")
        b.caption("Heads are ranked by how much each one actually writes into the token's vector on sample text; "
                  "every group keeps its best ones, so each shared key/value head still has a query head using it.")
    if roles.start_button(f"Remove {UNITS[unit]} from a fresh copy", f"{KEY}_structured"):
        with errors.shown(f"The {UNITS[unit]} could not be removed"):
            ids = _ids()
            with st.spinner(f"Copying the model and removing {UNITS[unit]}…"):
                after = (cache.structured(ids, float(fraction), method) if unit == "channels"
                         else cache.structured_heads(ids, int(per_group)))
                st.session_state[f"{KEY}_structured_result"] = (cache.unstructured(ids, 0.0), after)
    result = st.session_state.get(f"{KEY}_structured_result")
    if result is None:
        return
    original, after = result
    total = cache.parameters()
    heads = after.unit == "heads"
    query_heads = cache.heads()[0] if heads else 0
    what = (f"{query_heads - after.channels} of {query_heads} query heads removed per layer, ranked by what they write"
            if heads else f"{after.fraction:.0%} of MLP channels removed, {METHOD_NAMES[after.method]}")
    rows = [{"model": "original", "kept per layer": f"{query_heads} heads" if heads else "1,536 channels",
             "parameters": f"{total:,}",
             "size (MB)": f"{original.bytes / 1e6:,.0f}", "tokens/s (one pass)": f"{original.tokens_per_second:,.0f}",
             "perplexity": f"{original.perplexity:,.1f}", "KL": "0.000", "same top token": "100%"},
            {"model": what, "kept per layer": f"{after.channels:,} {'heads' if heads else 'channels'}",
             "parameters": f"{after.parameters:,}",
             "size (MB)": f"{after.point.bytes / 1e6:,.0f}",
             "tokens/s (one pass)": f"{after.point.tokens_per_second:,.0f}",
             "perplexity": f"{after.point.perplexity:,.1f}", "KL": f"{after.point.kl:.3f}",
             "same top token": f"{after.point.top1:.0%}"}]
    st.dataframe(rows, hide_index=True, width="stretch")
    saved = f"{total - after.parameters:,} parameters fewer ({(total - after.parameters) / total:.0%})."
    if heads:
        st.caption(saved + " Attention holds a small share of SmolLM2's weights (most sit in the feed-forward blocks "
                   "and the vocabulary table), so removing heads saves little space, and the key/value heads stay, "
                   "so the memory each token takes in the KV cache does not shrink either. Quality falls because "
                   "each head has learned its own job; pruning is usually followed by some fine-tuning or "
                   "distillation to win it back.")
    else:
        st.caption(saved + " Ranked by weight size alone, removing even a few percent of the channels wrecks "
                   "SmolLM2: some channels have small weights but fire strongly. Ranked by measured activity (the "
                   "idea behind activation-aware methods such as Wanda) the same cut costs far less. Either way, "
                   "real structured pruning is followed by some fine-tuning or distillation to win back quality.")
