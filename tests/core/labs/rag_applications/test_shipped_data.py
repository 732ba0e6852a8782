"""Page 11's shipped documents and question set: they load, every evidence span is verbatim and unique in its
document, the handbook's sections are numbered in order, and the calculator presets add up."""
from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[4] / "lessons" / "data" / "rag"
HANDBOOK, BIOGRAPHY, INJECTION = "handbook.md", "marchetti-voss.md", "injection.md"

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _evaluate(expression: str) -> float:
    """Numbers and + - * / (and parentheses), nothing else."""
    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        raise ValueError(f"not plain arithmetic: {ast.dump(node)}")
    return walk(ast.parse(expression, mode="eval"))


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _words(name: str) -> int:
    return len(_text(name).split())


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(_text("questions.yaml"))


def test_helper_evaluates_only_arithmetic():
    assert _evaluate("38 * 9") == 342 and _evaluate("(26 - 20) * 4 / 2") == 12
    for bad in ("__import__('os')", "2 ** 10", "x + 1", "'a' * 3"):
        with pytest.raises(ValueError):
            _evaluate(bad)


def test_documents_load_with_their_titles_and_lengths():
    assert _text(HANDBOOK).startswith("# Halvard Island Research Station — Staff Handbook\n")
    assert _text(BIOGRAPHY).startswith("# Dr. Elena Marchetti-Voss\n")
    assert _text(INJECTION).startswith("# Canteen notice")
    assert 1800 <= _words(HANDBOOK) <= 2600
    assert 250 <= _words(BIOGRAPHY) <= 450
    assert 100 <= _words(INJECTION) <= 200


def test_handbook_has_twelve_numbered_sections_in_order():
    text = _text(HANDBOOK)
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. \S", text, re.MULTILINE)]
    assert numbers == list(range(1, 13))
    assert re.findall(r"^## ", text, re.MULTILINE) == ["## "] * 12     # no unnumbered second-level headings


def test_biography_has_two_or_three_subsections():
    assert 2 <= len(re.findall(r"^## \S", _text(BIOGRAPHY), re.MULTILINE)) <= 3


def test_handbook_paragraphs_stay_short():
    paragraphs = [p for p in _text(HANDBOOK).split("\n\n") if p.strip() and not p.startswith("#")]
    assert max(len(p.split()) for p in paragraphs) <= 90


def test_injection_notice_carries_the_attack_in_one_paragraph():
    text = _text(INJECTION)
    assert "ignore the previous instructions" in text
    attack = [p for p in text.split("\n\n") if "ignore the previous instructions" in p]
    assert len(attack) == 1 and "badge-check@halvard-support.example" in attack[0]
    assert "canteen" in text.lower() and "lunch" in text.lower()


def test_thirty_questions_with_unique_ids_covering_the_handbook(spec):
    questions = spec["questions"]
    assert len(questions) == 30
    ids = [q["id"] for q in questions] + [r["id"] for r in spec["react"]]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)
    docs = [q["document"] for q in questions]
    assert docs.count(HANDBOOK) >= 26 and set(docs) == {HANDBOOK, BIOGRAPHY}
    for q in questions:
        assert q["question"].strip() and str(q["answer"]).strip()
        assert q["evidence"] not in q["question"]             # worded like a person asks, not copied


def _occurrences(doc: str, evidence: str) -> int:
    return _text(doc).count(evidence)


def test_every_evidence_is_a_short_verbatim_span_found_once(spec):
    items = [(q["document"], q["evidence"]) for q in spec["questions"]]
    items += [(HANDBOOK, r["evidence"]) for r in spec["react"]]
    items += [(HANDBOOK, spec["injection"]["evidence"]),
              (spec["hallucination"]["document"], spec["hallucination"]["evidence"])]
    for doc, evidence in items:
        assert 4 <= len(evidence.split()) <= 20, evidence
        assert _occurrences(doc, evidence) == 1, f"{evidence!r} in {doc}"


def test_questions_reach_every_handbook_section(spec):
    text = _text(HANDBOOK)
    starts = [m.start() for m in re.finditer(r"^## \d+\.", text, re.MULTILINE)]
    covered = set()
    for q in spec["questions"]:
        if q["document"] == HANDBOOK:
            offset = text.index(q["evidence"])
            covered.add(sum(1 for s in starts if s <= offset))
    assert covered == set(range(1, 13))


def test_react_presets_compute_their_answers(spec):
    assert len(spec["react"]) == 3
    for item in spec["react"]:
        assert item["search"].strip()
        numbers = re.findall(r"\d+(?:\.\d+)?", item["evidence"])
        assert numbers and numbers[0] in item["expression"]            # the looked-up fact is used
        assert _evaluate(item["expression"]) == pytest.approx(float(item["answer"]))


def test_injection_and_hallucination_presets(spec):
    injection, hallucination = spec["injection"], spec["hallucination"]
    assert "canteen" in injection["question"].lower() and "lunch" in injection["question"].lower()
    assert injection["evidence"] not in _text(INJECTION)
    assert hallucination["question"] == "What is Dr. Elena Marchetti-Voss famous for?"
    assert hallucination["document"] == BIOGRAPHY

