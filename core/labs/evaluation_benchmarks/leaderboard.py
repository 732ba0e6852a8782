"""The deck's benchmark table, read from the lesson itself (lessons/08_evaluation_benchmarks.md), for the chart.

One source of truth: the Markdown table the learner reads is parsed here, so the chart can never disagree with it.
A cell such as "90.04% CoT@32\\*" becomes the value 90.04 and the setup "CoT@32*"; "—" is a missing result.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LESSON = Path(__file__).resolve().parents[3] / "lessons" / "08_evaluation_benchmarks.md"
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*(.*)$")


@dataclass(frozen=True)
class Cell:
    value: float | None          # None: no result reported
    percent: bool
    setup: str                   # the small print: shots, CoT, "via API**", ...


@dataclass(frozen=True)
class Row:
    benchmark: str               # "MMLU"
    about: str                   # "(57 subjects)" without the brackets
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    models: tuple[str, ...]
    rows: tuple[Row, ...]


def _cell(text: str) -> Cell:
    text = text.replace("\\*", "*").strip()
    match = _NUMBER.match(text)
    if not match:
        return Cell(None, False, "" if text in {"—", "-", ""} else text)
    return Cell(float(match.group(1)), bool(match.group(2)), match.group(3).strip())


def parse(markdown: str) -> Table:
    """The first table whose header starts with "| benchmark |"."""
    lines = markdown.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.lower().startswith("| benchmark |")), None)
    if start is None:
        raise ValueError("no benchmark table in the lesson")
    models = tuple(c.strip() for c in lines[start].strip().strip("|").split("|")[1:])
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.match(r"\*\*(.+?)\*\*\s*(?:\((.*)\))?", cells[0])
        if not name or len(cells) != len(models) + 1:
            raise ValueError(f"cannot read the table row {line!r}")
        rows.append(Row(name.group(1), name.group(2) or "", tuple(_cell(c) for c in cells[1:])))
    return Table(models, tuple(rows))


def load(path: Path = LESSON) -> Table:
    return parse(Path(path).read_text(encoding="utf-8"))
