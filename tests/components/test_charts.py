"""components/common/charts: labels placed apart, and reference lines named in the legend instead of on the bars."""
from __future__ import annotations

import plotly.graph_objects as go
import pytest

from components.common.charts import _CANDIDATES, _box, _overlap, dashed_reference, label_positions


def boxes(xs, ys, texts, positions, width=360, height=280, font=11, marker=7, x_range=(0, 1), y_range=(0, 1)):
    offsets = {name: (name, dx, dy) for name, dx, dy in _CANDIDATES}
    out = []
    for x, y, t, p in zip(xs, ys, texts, positions):
        px = (x - x_range[0]) / (x_range[1] - x_range[0]) * width
        py = (y - y_range[0]) / (y_range[1] - y_range[0]) * height
        out.append(_box(px, py, 0.6 * font * len(t), 1.3 * font, offsets[p], marker))
    return out


def test_points_on_one_vertical_line_get_labels_that_do_not_overlap():
    # unstructured pruning on the size chart: every point has the same size, KLs close together
    xs = [0.5] * 5
    ys = [0.30, 0.34, 0.38, 0.42, 0.46]
    texts = ["10% zeros", "20% zeros", "30% zeros", "40% zeros", "50% zeros"]
    positions = label_positions(xs, ys, texts, x_range=(0, 1), y_range=(0, 1))
    placed = boxes(xs, ys, texts, positions)
    assert all(_overlap(a, b) == 0 for i, a in enumerate(placed) for b in placed[i + 1:]), positions


def test_a_point_at_the_right_edge_is_labelled_on_its_left():
    assert label_positions([0.98], [0.5], ["distilled + INT8"], x_range=(0, 1), y_range=(0, 1)) == ["middle left"]


def test_a_lone_point_is_labelled_on_its_right():
    assert label_positions([0.2], [0.5], ["FP32"], x_range=(0, 1), y_range=(0, 1)) == ["middle right"]


def test_log_axis_points_a_decade_apart_keep_the_first_choice():
    positions = label_positions([100, 100], [1e-3, 1.0], ["a", "b"], x_range=(0, 500), y_range=(1e-4, 10),
                                log_y=True)
    assert positions == ["middle right", "middle right"]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        label_positions([1, 2], [1], ["a", "b"], x_range=(0, 3), y_range=(0, 3))


def test_dashed_reference_is_a_legend_entry_and_a_line_not_an_annotation():
    fig = go.Figure(go.Bar(x=["a", "b"], y=[0.4, 0.6]))
    dashed_reference(fig, 0.5, "always “positive”: 50%")
    assert not fig.layout.annotations
    assert [s.y0 for s in fig.layout.shapes] == [0.5]
    legend = [t for t in fig.data if t.name == "always “positive”: 50%"]
    assert len(legend) == 1 and legend[0].line.dash == "dash"
