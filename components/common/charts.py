"""Small plotly helpers shared by the labs' charts: a dashed reference line named in the legend (never a text
label that lands on a bar), and text positions that keep point labels from covering each other."""
from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

# The chart's toolbar, reduced to "Download as PNG" (twice the screen's resolution, for slides and notes): a learner
# takes a result away without the zoom and pan buttons that only get in the way of a teaching chart.
PNG_ONLY = {"modeBarButtons": [["toImage"]], "displaylogo": False,
            "toImageButtonOptions": {"format": "png", "scale": 2}}

# plotly's textposition names, in the order they are tried, with the label box's offset from the marker
# (dx, dy in units of the box's width/height; the marker's radius is added on the side the label sits).
_CANDIDATES = (("middle right", 0.0, -0.5), ("middle left", -1.0, -0.5), ("top center", -0.5, 0.0),
               ("bottom center", -0.5, -1.0), ("top right", 0.0, 0.0), ("bottom right", 0.0, -1.0),
               ("top left", -1.0, 0.0), ("bottom left", -1.0, -1.0))


def dashed_reference(fig, y: float, label: str, colour: str = "#444", **where) -> None:
    """A horizontal dashed line at `y` across the plot, named `label` in the legend (so its text never sits on a
    bar or on another label). `where`: row/col for subplots."""
    fig.add_hline(y=y, line_dash="dash", line_color=colour, **where)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=label, hoverinfo="skip",
                             line=dict(dash="dash", color=colour)), **where)


def _box(x: float, y: float, width: float, height: float, candidate, marker: float):
    _, dx, dy = candidate
    left = x + dx * width + (marker if dx == 0 else -marker if dx == -1 else 0)
    bottom = y + dy * height + (marker if dy == 0 else -marker if dy == -1 else 0)
    return left, bottom, left + width, bottom + height


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def label_positions(xs: Sequence[float], ys: Sequence[float], texts: Sequence[str], *, x_range: tuple[float, float],
                    y_range: tuple[float, float], log_y: bool = False, width_px: float = 360, height_px: float = 280,
                    font_px: float = 11, marker_px: float = 7) -> list[str]:
    """One plotly textposition per point, chosen greedily so that no label covers another label, another point's
    marker or the plot's edge where a free place exists (else the least covered place). Points are placed left to
    right; each takes the first of right, left, above, below, and the diagonals that is free."""
    n = len(xs)
    if not (len(ys) == len(texts) == n):
        raise ValueError("xs, ys and texts must have the same length")

    def to_px(x: float, y: float) -> tuple[float, float]:
        x0, x1 = x_range
        y0, y1 = y_range
        if log_y:
            y, y0, y1 = (math.log10(max(v, 1e-300)) for v in (y, y0, y1))
        fx = (x - x0) / (x1 - x0) if x1 != x0 else 0.5
        fy = (y - y0) / (y1 - y0) if y1 != y0 else 0.5
        return fx * width_px, fy * height_px

    points = [to_px(x, y) for x, y in zip(xs, ys)]
    markers = [(px - marker_px, py - marker_px, px + marker_px, py + marker_px) for px, py in points]
    placed: list[tuple[float, float, float, float]] = []
    positions = ["middle right"] * n
    for i in sorted(range(n), key=lambda k: (points[k][0], points[k][1])):
        px, py = points[i]
        width, height = 0.6 * font_px * max(len(texts[i]), 1), 1.3 * font_px
        best, best_cost = None, math.inf
        for rank, candidate in enumerate(_CANDIDATES):
            box = _box(px, py, width, height, candidate, marker_px)
            cost = sum(_overlap(box, other) for other in placed)
            cost += sum(_overlap(box, m) for j, m in enumerate(markers) if j != i)
            outside = (max(0.0, -box[0]) + max(0.0, box[2] - width_px)) * height \
                + (max(0.0, -box[1]) + max(0.0, box[3] - height_px)) * width
            cost += outside + rank * 1e-3                        # ties go to the earlier candidate
            if cost < best_cost:
                best, best_cost = (candidate[0], box), cost
        positions[i] = best[0]
        placed.append(best[1])
    return positions
