"""The benchmark table above it, as a grouped bar chart (page 8). Data parsed from the lesson's own table."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import errors
from components.common.charts import PNG_ONLY
from components.labs.evaluation_benchmarks import cache

COLOURS = ["#1565C0", "#64B5F6", "#2E7D32", "#81C784", "#EF6C00", "#8E24AA"]


def show(key: str = "benchmark_chart") -> None:
    st.markdown("#### The table as a picture")
    try:
        table = cache.leaderboard()
    except Exception as exc:
        errors.show("The benchmark table could not be read", exc)
        return
    models = st.multiselect("Models", list(table.models), default=list(table.models), key=f"{key}_models")
    benchmarks = st.multiselect("Benchmarks", [r.benchmark for r in table.rows],
                                default=[r.benchmark for r in table.rows], key=f"{key}_rows")
    if not models or not benchmarks:
        st.info("Pick at least one model and one benchmark.")
        return
    rows = [r for r in table.rows if r.benchmark in benchmarks]
    fig = go.Figure()
    for m, model in enumerate(table.models):
        if model not in models:
            continue
        cells = [r.cells[m] for r in rows]
        fig.add_trace(go.Bar(name=model, x=[r.benchmark for r in rows], y=[c.value for c in cells],
                             marker_color=COLOURS[m % len(COLOURS)],
                             customdata=[[c.setup or "—", r.about] for c, r in zip(cells, rows)],
                             hovertemplate=f"<b>{model}</b><br>%{{x}} (%{{customdata[1]}})<br>score %{{y}}<br>"
                                           "setup: %{customdata[0]}<extra></extra>"))
    fig.update_layout(barmode="group", height=460, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=14),
                      yaxis=dict(range=[0, 100], title="score (0–100)"), legend=dict(orientation="h", y=-0.15),
                      title=dict(text="Reported scores (hover a bar for its setup: shots, CoT, who measured it)",
                                 font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    missing = sum(r.cells[m].value is None for r in rows for m, name in enumerate(table.models) if name in models)
    st.caption("Scores are percentages except DROP (F1 × 100) and WMT23 (BLEURT × 100). A missing bar means no "
               f"result was reported ({missing} here). Bars next to each other are not always like-for-like: "
               "hover to see that one used 32 chain-of-thought samples and another 5 plain examples.")
