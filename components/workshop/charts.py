"""What a workshop room sees on the projector and on the phones: the leaderboard and answer charts, the podium,
the countdown bar, and the colours and shapes of the single-choice answer tiles (phones show the tiles, the
console shows the same colours and shapes as a legend).

Names are user text: plotly reads <b>, <br> ... in labels as markup and the podium is HTML, so both escape them."""
from __future__ import annotations

import html

import plotly.graph_objects as go

from core.workshop.quiz import Standing, distribution
from core.workshop.workshop import Workshop

TILE_COLOURS = ("#D32F2F", "#1565C0", "#E65100", "#2E7D32", "#6A1B9A", "#00695C")   # white text readable
TILE_SHAPES = ("▲", "◆", "●", "■", "★", "⬟")


def leaderboard_chart(standings: list[Standing], highlight: str | None = None, top: int = 10) -> go.Figure:
    shown = standings[:top]
    fig = go.Figure(go.Bar(
        # plotly reads <b>, <br> ... in labels as markup: escape names (it shows entities as the characters)
        x=[s.points for s in shown], y=[f"{s.rank}. {html.escape(s.nickname)}" for s in shown], orientation="h",
        marker_color=["#f57c00" if s.nickname == highlight else "#1976d2" for s in shown],
        text=[f"{s.points:,}" for s in shown], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:,} points<extra></extra>"))
    most = max([s.points for s in shown] + [1])
    # Room on the right for the longest score label ("1,988" after a 1,988-point bar), so no score is clipped.
    fig.update_layout(yaxis=dict(autorange="reversed", type="category"),
                      xaxis=dict(title="points", range=[0, most * 1.25], tickformat=",d", rangemode="tozero"),
                      height=44 * max(len(shown), 1) + 70, margin=dict(l=10, r=60, t=10, b=40))
    return fig


def distribution_chart(counts: dict[str, int], right: set[str] | None = None) -> go.Figure:
    labels = list(counts)
    colors = ["#2e7d32" if right is not None and label in right else
              ("#9e9e9e" if right is not None else "#1976d2") for label in labels]
    # The right answer is marked by a tick as well as by its colour (a colour-blind learner sees both).
    shown = [("✓ " if right is not None and label in right else "") + html.escape(label[:60]) for label in labels]
    fig = go.Figure(go.Bar(x=[counts[k] for k in labels], y=shown, orientation="h",
                           marker_color=colors, text=[str(counts[k]) for k in labels], textposition="outside",
                           cliponaxis=False, hovertemplate="%{y}: %{x}<extra></extra>"))
    most = max(list(counts.values()) + [1])
    # Whole answers only: with one answer plotly would tick 0, 0.2, … 1 and ",d" would print "0 0 0 1 1 1".
    axis = dict(title="answers", range=[0, most * 1.2 + 0.5], tickformat=",d")
    if most <= 10:
        axis["dtick"] = 1
    fig.update_layout(yaxis=dict(autorange="reversed", type="category"), xaxis=axis,
                      height=46 * max(len(labels), 1) + 70, margin=dict(l=10, r=40, t=10, b=40))
    return fig


def answer_distribution(ws: Workshop, code: str, seq: int, question) -> dict[str, int]:
    """How many answered what, for `distribution_chart`."""
    return distribution(question, [a["response"] for a in ws.rooms.answers(code, seq)])


def right_labels(question, counts: dict[str, int]) -> set[str]:
    """The bars of `distribution_chart` that are right answers."""
    if question.type == "single":
        return {question.answer}
    if question.type == "multiple":
        return set(question.answer)
    if question.type == "ordering":
        return {"right order"}
    return {label for label in counts if question.is_correct(label)}     # numeric: labels within the tolerance


def podium_html(standings: list[Standing]) -> str:
    """Top three on steps (2nd, 1st, 3rd); every name is escaped."""
    steps = {1: ("#ffd54f", 180), 2: ("#cfd8dc", 130), 3: ("#ffab91", 100)}
    cells = []
    for place in (2, 1, 3):
        if len(standings) >= place:
            s = standings[place - 1]
            color, height = steps[place]
            cells.append(
                f'<div style="flex:1;text-align:center"><div style="font-size:1.4rem;font-weight:600">'
                f'{html.escape(s.nickname)}</div><div>{s.points:,} points</div>'
                f'<div style="background:{color};height:{height}px;border-radius:8px 8px 0 0;font-size:2.5rem;'
                f'display:flex;align-items:center;justify-content:center">{place}</div></div>')
    return f'<div style="display:flex;gap:12px;align-items:flex-end;max-width:640px">{"".join(cells)}</div>'


def countdown_html(left: float, limit: float, name: str) -> str:
    """A bar that empties in the browser over the `left` seconds (CSS only: no server work while it runs)."""
    share = max(0.0, min(1.0, left / limit if limit else 0.0))
    anim = "cd" + "".join(c for c in name if c.isalnum())
    return (f"<style>@keyframes {anim}{{from{{width:{share * 100:.1f}%}}to{{width:0%}}}}</style>"
            f'<div role="timer" aria-label="time left" style="background:#e0e0e0;border-radius:6px;height:12px;'
            f'margin:4px 0 2px 0"><div style="height:12px;border-radius:6px;background:#1976d2;'
            f'width:{share * 100:.1f}%;'
            f'animation:{anim} {left:.1f}s linear forwards"></div></div>'
            f'<div style="font-size:0.9rem;opacity:.75">{limit:.0f} s to answer; about {left:.0f} s were left '
            f"when this question appeared. The bar runs out when time is up.</div>")
