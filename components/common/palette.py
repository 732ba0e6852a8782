"""Colours that encode a value, readable by every learner: about 1 in 12 men cannot tell red from green, so no scale
here runs red → green. Probabilities go from orange (unlikely) through a light neutral to blue (likely) — a diverging
scale that stays apart for red–green colour blindness — and never by hue alone: a long shot also gets a dotted
underline, and every coloured token carries its number in a tooltip. Backgrounds are light tints under dark text, so
they read the same in the light and the dark theme.

Heatmaps use plotly's colour-blind-safe sequential scales (`SEQUENTIAL`, cividis) and print the value in each cell.
"""
from __future__ import annotations

# ColorBrewer's PuOr orange and RdBu blue, both from colour-blind-safe schemes, around a near-white middle.
LOW = (253, 184, 99)         # #fdb863: the model gave this token little probability
MIDDLE = (242, 242, 242)
HIGH = (146, 197, 222)       # #92c5de: the model was confident
LONG_SHOT = 0.2              # below this, a token is also underlined (not hue alone)
SEQUENTIAL = "Cividis"       # for heatmaps of a share or a score (light = high)
TEXT_ON_TINT = "#1b1b1b"     # the text colour on any of these tints, in either theme
LONG_SHOT_MARK = "text-decoration:underline dotted 2px;text-underline-offset:3px"   # inline CSS: not hue alone
# Ranks from best to worst (ColorBrewer PuOr: purple → orange, colour-blind safe); a fail is grey and hatched.
RANKS = ("#542788", "#998ec3", "#d8daeb", "#fee0b6", "#f1a340", "#b35806")
FAIL = "#7f7f7f"
FAIL_PATTERN = "x"


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _probability(p) -> float:
    """p as a number in [0, 1]; anything unreadable (None, text, NaN) counts as 0."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if p != p else min(max(p, 0.0), 1.0)


def probability_colour(p: float) -> str:
    """Background for a token the model gave probability p: orange (0) → light grey (0.5) → blue (1)."""
    p = _probability(p)
    a, b, t = (LOW, MIDDLE, p / 0.5) if p < 0.5 else (MIDDLE, HIGH, (p - 0.5) / 0.5)
    return _hex(x + (y - x) * t for x, y in zip(a, b))


def probability_style(p: float) -> str:
    """Inline CSS for a token span: its background, and a dotted underline when it was a long shot."""
    style = f"background:{probability_colour(p)};color:{TEXT_ON_TINT}"
    return style + (f";{LONG_SHOT_MARK}" if _probability(p) < LONG_SHOT else "")


def legend_html(label: str = "Probability the model gave each token:") -> str:
    """A small legend for probability-coloured tokens: five swatches with their numbers, the underline explained."""
    swatches = "".join(
        f'<span style="{probability_style(p)};padding:1px 7px;border-radius:3px;margin-right:4px">{p:.0%}</span>'
        for p in (0.05, 0.25, 0.5, 0.75, 1.0))
    return (f'<div style="font-size:.9rem;margin:6px 0">{label} {swatches} '
            f'<span style="opacity:.8">(dotted underline: under {LONG_SHOT:.0%})</span></div>')
