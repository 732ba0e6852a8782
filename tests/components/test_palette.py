"""Colour that every learner can read: no value is encoded on a red–green scale, and the probability tints stay apart
for the commonest colour blindness (deuteranopia, simulated with Viénot, Brettel & Mollon 1999)."""
from __future__ import annotations

import ast
import colorsys
import re
from pathlib import Path

import numpy as np
import pytest

from components.common import palette
from components.labs.generative_ai import hallucination_view

ROOT = Path(__file__).resolve().parents[2]
FAR_APART = 90        # distance in sRGB (0-255) between two simulated colours; today's tints are 119 and 132 apart
RED_GREEN_SCALES = re.compile(r"^(RdYlGn|RdGn|Jet|Rainbow|Hsv|Picnic)(_r)?$", re.IGNORECASE)


def _linear(c):
    c = np.asarray(c, dtype=float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb(c):
    c = np.clip(c, 0, 1)
    return 255 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def deuteranope(rgb) -> np.ndarray:
    """What a person without green cones sees (Viénot et al. 1999, in linear RGB)."""
    m = np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]])
    return _srgb(m @ _linear(rgb))


def _rgb(colour: str):
    colour = colour.lstrip("#")
    return [int(colour[i:i + 2], 16) for i in (0, 2, 4)]


def apart_for_a_deuteranope(a, b) -> float:
    return float(np.linalg.norm(deuteranope(a) - deuteranope(b)))


def test_the_simulation_catches_the_old_red_to_green_tints():
    red, green = (colorsys.hls_to_rgb(h, 0.82, 0.75) for h in (0.0, 1 / 3))          # hsl(0|120, 75%, 82%)
    assert apart_for_a_deuteranope([255 * c for c in red], [255 * c for c in green]) < FAR_APART / 2    # ~40
    assert apart_for_a_deuteranope(_rgb("#b7e4a7"), _rgb("#ffb3b3")) < FAR_APART / 2              # ~18: old bands


def test_probability_tints_stay_apart_and_never_run_red_to_green():
    low, high = _rgb(palette.probability_colour(0.0)), _rgb(palette.probability_colour(1.0))
    assert apart_for_a_deuteranope(low, high) > FAR_APART
    hue = lambda rgb: colorsys.rgb_to_hls(*(c / 255 for c in rgb))[0] * 360
    assert not (hue(low) < 20 or hue(low) > 340) and not 80 < hue(high) < 160
    assert palette.probability_colour(float("nan")) == palette.probability_colour(0.0)
    assert palette.probability_colour("oops") == palette.probability_colour(0.0)


def test_a_long_shot_is_marked_by_more_than_its_hue():
    assert "underline" in palette.probability_style(0.05) and "underline" not in palette.probability_style(0.9)
    answer = hallucination_view.answer_html([("Paris", 0.95, 1), ("Zorg", 0.03, 40)])
    assert answer.count("underline dotted") == 1 and "probability 3.0%" in answer


def test_hallucination_bands_are_told_apart_by_a_colour_blind_learner():
    first, last = _rgb(hallucination_view.BANDS[0][1]), _rgb(hallucination_view.BANDS[-1][1])
    assert apart_for_a_deuteranope(first, last) > FAR_APART


def test_no_red_green_colour_scale_comes_back():
    found = []
    for path in [*sorted((ROOT / "components").rglob("*.py")), *sorted((ROOT / "core").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and RED_GREEN_SCALES.match(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "hsl(" in node.value:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: a hue computed in code ({node.value[:40]})")
    assert not found, found


@pytest.mark.parametrize("scale", ["RdYlGn", "rdylgn_r", "Jet"])
def test_the_scan_knows_the_red_green_scales(scale):
    assert RED_GREEN_SCALES.match(scale)
