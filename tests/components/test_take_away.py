"""Results to take away: every lab chart keeps plotly's "Download as PNG" button, and a benchmark run comes as CSV."""
from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

from components.common.charts import PNG_ONLY
from components.labs.evaluation_benchmarks.benchmark_view import run_csv
from core.labs.evaluation_benchmarks import benchmark as bm

ROOT = Path(__file__).resolve().parents[2]
PROJECTOR = {"presenter_view.py", "participant_view.py"}     # the room's big screen: no toolbar over the charts


def test_every_learner_chart_can_be_downloaded_as_png():
    hidden = []
    for path in sorted((ROOT / "components").rglob("*.py")):
        if path.name in PROJECTOR:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "displayModeBar"
                                                  for k in node.keys):
                hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not hidden, hidden
    assert PNG_ONLY["modeBarButtons"] == [["toImage"]] and PNG_ONLY["toImageButtonOptions"]["format"] == "png"


def test_a_benchmark_run_downloads_as_csv_with_its_log_likelihoods():
    data = bm.load()
    encode = lambda text: [ord(c) for c in text]
    score = lambda context, conts: [[-1.0 - i] for i, _ in enumerate(conts)]   # A always scores best
    rows = [bm.score_question(data, q, i, 0, "letter", encode, score) for i, q in enumerate(data.questions[:3])]
    text = run_csv(data, bm.Summary(rows), "letter")
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 3 and [r["model"] for r in table] == ["A"] * 3
    assert table[0]["loglik A"] == "-1.0000" and table[0]["loglik D"] == "-4.0000"
    assert table[0]["question"] == data.questions[0].question
    assert [r["right"] for r in table] == [str(int(q.answer == 0)) for q in data.questions[:3]]
