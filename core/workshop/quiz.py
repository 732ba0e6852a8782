"""Quiz questions: the bank in lessons/quiz/*.yaml, answer checking, scoring and leaderboards.

One YAML file per section (its name is the section id). Every question has a type:
- single    one right option          answer: "the option's text"
- multiple  several right options     answer: ["option", "option"]   (all of them, and only them)
- numeric   a number within tolerance answer: 168, tolerance: 1, unit: GB
            (learners may type "1,234", "1 234", "28.3M", "5k", "80%", "168 GB"; see `parse_number` and
            `Question.numeric_value`)
- ordering  put items in order        items: [first, second, ...]     (written in the right order)

Files are validated on load; every error names the file and the line, e.g.
`lessons/quiz/rlhf.yaml:14: question 'rl-pairs': answer must be one of the options`.
"""
from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.serving.settings import PROJECT_ROOT

QUIZ_DIR = PROJECT_ROOT / "lessons" / "quiz"
TYPES = ("single", "multiple", "numeric", "ordering")
MAX_POINTS = 1000       # a correct live answer given at once
MIN_POINTS = 500        # a correct live answer given at the last moment
LATE_GRACE_S = 0.5      # answers this much after the limit still count (network round trip)


def _shown(path: Path | str) -> str:
    """A path as the instructor sees it: relative to the project when it lies inside."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


class QuizError(ValueError):
    """A question file is malformed; the message starts with `file:line:`."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path, self.line = _shown(path), line
        path = self.path
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass(frozen=True)
class Question:
    id: str                      # unique across the bank, e.g. "cq-train-7b"
    section: str                 # section id from lessons/sections.yaml (the file's name)
    type: str                    # one of TYPES
    prompt: str                  # Markdown
    explanation: str             # shown after answering
    options: tuple[str, ...] = ()        # single / multiple
    answer: Any = None                   # str (single), tuple[str] (multiple), float (numeric), tuple[str] (ordering)
    tolerance: float = 0.0               # numeric: accepted distance from the answer
    unit: str = ""                       # numeric: shown next to the input
    link: str = ""                       # section id of the lesson page that teaches it (default: own section)
    demo: str = ""                       # "run this demo to answer": which demo on the linked page
    source: str = ""                     # "file:line" where it is defined

    @property
    def items(self) -> tuple[str, ...]:
        """Ordering questions: the items in the right order."""
        return self.answer if self.type == "ordering" else ()

    def shuffled_items(self, seed: int | str = 0) -> list[str]:
        """The ordering items in a fixed shuffled order that is never already the right one."""
        items = list(self.items)
        rng = random.Random(f"{self.id}:{seed}")
        for _ in range(20):
            rng.shuffle(items)
            if tuple(items) != self.items:
                break
        return items

    def is_correct(self, response: Any) -> bool:
        """Whether a response is right; a response of the wrong shape is simply wrong, never an error."""
        try:
            if self.type == "single":
                return isinstance(response, str) and response == self.answer
            if self.type == "multiple":
                return (isinstance(response, (list, tuple, set, frozenset)) and
                        all(isinstance(r, str) for r in response) and set(response) == set(self.answer))
            if self.type == "numeric":
                value = self.numeric_value(response)
                # a hair of slack for binary floats: "16.384k" is 16384.000000000002
                slack = 1e-9 * max(1.0, abs(self.answer))
                return value is not None and abs(value - self.answer) <= self.tolerance + slack
            if self.type == "ordering":
                return isinstance(response, (list, tuple)) and tuple(response) == self.answer
        except (TypeError, ValueError):
            return False
        return False

    def numeric_value(self, response: Any) -> float | None:
        """A numeric question's response as a number in the question's unit, or None.

        Text may end with the unit ("168 GB", "6 tokens") and use a scale suffix (k, M, B, thousand, million,
        billion, %). When the unit itself is a scale ("million", "billion tokens"), a suffix is read against it:
        "135M", "135 million" and "135" all mean 135 for the unit "million"; "0.135B" is 135 too.
        """
        if isinstance(response, str):
            text = response.strip()
            for unit in _unit_forms(self.unit):
                if len(text) > len(unit) and text.casefold().endswith(unit.casefold()):
                    text = text[:-len(unit)].strip()
                    break
            parsed = _parse(text)
        else:
            parsed = _parse(response)
        if parsed is None:
            return None
        number, scale = parsed
        if scale is None:
            return number
        value = number * scale / _unit_scale(self.unit)
        return value if math.isfinite(value) else None

    def response_text(self, response: Any) -> str:
        """A response as plain text for "Your answer: …" (the caller escapes it for Markdown)."""
        if self.type == "numeric":
            value = self.numeric_value(response)
            return f"{format_number(value)} {self.unit}".strip() if value is not None else str(response)
        if isinstance(response, (list, tuple)):
            return (" → " if self.type == "ordering" else ", ").join(str(r) for r in response)
        return str(response)

    def precision_text(self) -> str:
        """For numeric questions with a tolerance: which answers count, e.g. "Answers within ± 1 GB count as right."."""
        if self.type != "numeric" or not self.tolerance:
            return ""
        return (f"Answers within ± {format_number(self.tolerance)} {self.unit}".rstrip()
                + " of the exact value count as right.")

    def answer_text(self) -> str:
        if self.type == "single":
            return self.answer
        if self.type == "multiple":
            return ", ".join(self.answer)
        if self.type == "numeric":
            return f"{format_number(self.answer)} {self.unit}".strip() + (
                f" (± {format_number(self.tolerance)})" if self.tolerance else "")
        return " → ".join(self.answer)


SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
          "t": 1e12, "trillion": 1e12, "%": 0.01}
_SPLIT = re.compile(r"^(?P<number>.*?)\s*(?P<scale>" + "|".join(sorted(map(re.escape, SCALES), key=len, reverse=True))
                    + r")?$", re.IGNORECASE | re.DOTALL)
# thousands groups: 1,234 · 1 234 (also no-break and thin spaces) · 1_234 · 1'234, the same separator throughout
_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}(?P<sep>[, \u00a0\u202f\u2009_'])\d{3}(?:(?P=sep)\d{3})*(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")        # 0,5 or 167,5 (a comma that cannot be a thousands group)


def _parse(value: Any) -> tuple[float, float | None] | None:
    """(number, scale) from a number or text; scale is the suffix's factor (k → 1000) or None without one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        return (number, None) if math.isfinite(number) else None
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\u2212", "-")        # a typographic minus
    if not text or len(text) > 40:
        return None
    match = _SPLIT.match(text)
    digits, suffix = match["number"].strip(), match["scale"]
    if _GROUPED.match(digits):
        digits = re.sub(r"[, \u00a0\u202f\u2009_']", "", digits)
    elif _DECIMAL_COMMA.match(digits):
        digits = digits.replace(",", ".")
    if not re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", digits):
        return None                          # no "nan", "inf", "0x1f", words or stray separators
    number = float(digits)
    scale = SCALES[suffix.casefold()] if suffix else None
    if not math.isfinite(number * (scale or 1)):
        return None
    return number, scale


def parse_number(value: Any) -> float | None:
    """A finite float from a number or text; None for anything else.

    Accepts thousands separators ("1,024", "1 024", "1_024"), a decimal comma ("0,5") and scale suffixes:
    "5k" = 5,000, "28.3M" = 28,300,000, "1.2B" / "1.2 billion" = 1,200,000,000, "80%" = 0.8.
    """
    parsed = _parse(value)
    if parsed is None:
        return None
    number, scale = parsed
    return number * scale if scale is not None else number


def _unit_scale(unit: str) -> float:
    """The scale a unit starts with: 1e6 for "million", 1e9 for "billion tokens", 1 for "GB"."""
    first = unit.split()[0].casefold() if unit.split() else ""
    return SCALES[first] if first in SCALES and len(first) > 2 else 1.0


def _unit_forms(unit: str) -> list[str]:
    """Unit texts a learner may type after the number, longest first: "billion tokens", "tokens", "token"."""
    unit = " ".join(unit.split())
    if not unit:
        return []
    words = unit.split()
    forms = [unit]
    if _unit_scale(unit) != 1.0 and len(words) > 1:
        forms.append(" ".join(words[1:]))        # "140B tokens": the scale typed as a suffix
    forms += [f[:-1] for f in forms if f.endswith("s") and len(f) > 2]
    return sorted(set(forms), key=len, reverse=True)


def format_number(x: float) -> str:
    """1,234 for whole numbers (also 28.3e6 read from "28.3M"), a few significant digits otherwise."""
    x = float(x)
    if abs(x - round(x)) <= 1e-9 * max(1.0, abs(x)):
        return f"{round(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


# ---------------------------------------------------------------- loading with line numbers

class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember where they start and where each value sits."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {k.value: v.start_mark.line + 1 for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _text_list(raw: Any, minimum: int) -> tuple[str, ...] | None:
    if not isinstance(raw, list) or len(raw) < minimum:
        return None
    if not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) and str(x).strip() for x in raw):
        return None
    items = tuple(str(x).strip() for x in raw)
    return items if len(set(items)) == len(items) else None


def _question(raw: Any, section: str, path: Path, index: int, section_ids: set[str] | None) -> Question:
    if not isinstance(raw, dict):
        raise QuizError(path, None, f"question {index} must be a mapping of fields")
    line, lines = raw.get("__line__"), raw.get("__lines__", {})
    qid = raw.get("id")
    if not isinstance(qid, str) or not qid.strip():
        raise QuizError(path, line, f"question {index} needs an `id` (text)")
    where = f"question {qid!r}"

    def fail(field_name: str | None, message: str):
        raise QuizError(path, lines.get(field_name, line), f"{where}: {message}")

    known = {"id", "type", "prompt", "explanation", "options", "answer", "tolerance", "unit", "items", "link", "demo",
             "__line__", "__lines__"}
    unknown = sorted(set(raw) - known)
    if unknown:
        fail(unknown[0], f"unknown field(s) {unknown}; allowed: {sorted(known - {'__line__', '__lines__'})}")
    qtype = raw.get("type")
    if qtype not in TYPES:
        fail("type", f"type must be one of {TYPES}, not {qtype!r}")
    for name in ("prompt", "explanation"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            fail(name if name in raw else None, f"needs a non-empty `{name}`")
    link = raw.get("link", section)
    if not isinstance(link, str) or (section_ids is not None and link not in section_ids):
        fail("link", f"link must be a section id from lessons/sections.yaml, not {link!r}")
    demo = raw.get("demo", "")
    if not isinstance(demo, str):
        fail("demo", "demo must be text (the demo's name)")
    kwargs: dict[str, Any] = dict(id=qid.strip(), section=section, type=qtype, prompt=raw["prompt"].strip(),
                                  explanation=raw["explanation"].strip(), link=link, demo=demo,
                                  source=f"{_shown(path)}:{line}")
    answer = raw.get("answer")
    if qtype in ("single", "multiple"):
        options = _text_list(raw.get("options"), 2)
        if options is None:
            fail("options", "needs `options`: a list of at least 2 different, non-empty texts")
        if qtype == "single":
            if not isinstance(answer, (str, int, float)) or str(answer).strip() not in options:
                fail("answer", f"answer must be one of the options, not {answer!r}")
            answer = str(answer).strip()
        else:
            answers = _text_list(answer, 1)
            if answers is None or not set(answers) <= set(options):
                fail("answer", "answer must be a list of one or more of the options")
            answer = tuple(answers)
        kwargs.update(options=options, answer=answer)
    elif qtype == "numeric":
        value, tolerance = parse_number(answer), parse_number(raw.get("tolerance", 0))
        if value is None or isinstance(answer, str):
            fail("answer", f"answer must be a number, not {answer!r}")
        if tolerance is None or tolerance < 0:
            fail("tolerance", "tolerance must be a number ≥ 0")
        unit = raw.get("unit", "")
        if not isinstance(unit, str):
            fail("unit", "unit must be text")
        kwargs.update(answer=value, tolerance=tolerance, unit=unit)
    else:
        items = _text_list(raw.get("items"), 3)
        if items is None:
            fail("items", "needs `items`: at least 3 different texts, written in the right order")
        kwargs.update(answer=items)
    if qtype != "ordering" and "items" in raw:
        fail("items", "`items` is only for ordering questions")
    return Question(**kwargs)


def load_file(path: Path, section_ids: set[str] | None = None) -> list[Question]:
    """The questions of one file; raises QuizError naming the file and line of the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuizError(path, None, f"cannot be read: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
            problem += f" ({context} on line {context_mark.line + 1})"
        raise QuizError(path, mark.line + 1 if mark else None, f"not valid YAML: {problem}") from exc
    section = path.stem
    if section_ids is not None and section not in section_ids:
        raise QuizError(path, None,
                        f"the file name must be a section id from lessons/sections.yaml ({section!r} is not)")
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list) or not data["questions"]:
        raise QuizError(path, data.get("__line__") if isinstance(data, dict) else 1,
                        "expected a mapping with a non-empty `questions:` list")
    if data.get("section", section) != section:
        raise QuizError(path, data["__lines__"].get("section"),
                        f"`section: {data['section']}` does not match the file name ({section}.yaml)")
    questions, seen = [], set()
    for index, raw in enumerate(data["questions"], start=1):
        question = _question(raw, section, path, index, section_ids)
        if question.id in seen:
            raise QuizError(path, raw.get("__line__"), f"duplicate question id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    return questions


@dataclass(frozen=True)
class QuestionBank:
    questions: tuple[Question, ...]
    errors: tuple[str, ...] = ()          # one message per file that could not be loaded

    def by_id(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def for_section(self, section: str) -> list[Question]:
        return [q for q in self.questions if q.section == section]

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(q.section for q in self.questions))


def load_bank(folder: Path = QUIZ_DIR, section_ids: Sequence[str] | None = None) -> QuestionBank:
    """Every *.yaml in the folder, in section order. A broken file is reported in `errors`, the rest still load."""
    ids = list(section_ids) if section_ids is not None else None
    order = {s: i for i, s in enumerate(ids or [])}
    files = sorted(Path(folder).glob("*.yaml"), key=lambda p: (order.get(p.stem, len(order)), p.name))
    questions, errors, seen = [], [], set()
    for path in files:
        try:
            loaded = load_file(path, set(ids) if ids is not None else None)
        except QuizError as exc:
            errors.append(str(exc))
            continue
        clash = [q.id for q in loaded if q.id in seen]
        if clash:
            errors.append(f"{_shown(path)}: question id {clash[0]!r} is already used in another file")
            continue
        seen.update(q.id for q in loaded)
        questions.extend(loaded)
    if not files:
        errors.append(f"{folder}: no question files (*.yaml)")
    return QuestionBank(tuple(questions), tuple(errors))


# ---------------------------------------------------------------- scoring

def live_points(correct: bool, elapsed_s: float, limit_s: float) -> int:
    """Points for a live answer: 0 if wrong or late; a correct one earns 1000 at once, falling to 500 at the limit."""
    if not correct or not math.isfinite(elapsed_s) or elapsed_s < 0 or limit_s <= 0:
        return 0
    if elapsed_s > limit_s + LATE_GRACE_S:
        return 0
    share_left = max(0.0, 1.0 - min(elapsed_s, limit_s) / limit_s)
    return MIN_POINTS + round((MAX_POINTS - MIN_POINTS) * share_left)


@dataclass(frozen=True)
class Standing:
    rank: int
    nickname: str
    points: int
    correct: int
    answered: int
    time_s: float        # total answering time of the correct answers (the tie-breaker)


def leaderboard(answers: Iterable[dict], participants: Iterable[str] = ()) -> list[Standing]:
    """Rank by points, then by less time spent on correct answers, then by name. Equal points and time share a rank.

    `answers` are rows with nickname, points, correct, elapsed; `participants` adds people who have not answered yet.
    """
    totals: dict[str, dict] = {name: dict(points=0, correct=0, answered=0, time_s=0.0) for name in participants}
    for a in answers:
        t = totals.setdefault(a["nickname"], dict(points=0, correct=0, answered=0, time_s=0.0))
        t["points"] += int(a["points"])
        t["answered"] += 1
        if a["correct"]:
            t["correct"] += 1
            t["time_s"] += float(a["elapsed"])
    order = sorted(totals.items(), key=lambda kv: (-kv[1]["points"], kv[1]["time_s"], kv[0].casefold()))
    standings, previous, rank = [], None, 0
    for position, (name, t) in enumerate(order, start=1):
        key = (t["points"], round(t["time_s"], 3))
        if key != previous:
            rank, previous = position, key
        standings.append(Standing(rank, name, t["points"], t["correct"], t["answered"], round(t["time_s"], 3)))
    return standings


def distribution(question: Question, responses: Iterable[Any]) -> dict[str, int]:
    """How many participants gave each answer, in a form a bar chart can draw."""
    responses = list(responses)
    if question.type in ("single", "multiple"):
        counts = {option: 0 for option in question.options}
        for r in responses:
            for choice in ([r] if question.type == "single" else (r or [])):
                if choice in counts:
                    counts[choice] += 1
        return counts
    right = sum(question.is_correct(r) for r in responses)
    if question.type == "numeric":
        counts: dict[str, int] = {}
        for r in responses:
            value = question.numeric_value(r)
            label = format_number(value) if value is not None else "?"
            counts[label] = counts.get(label, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:12])
    return {"right order": right, "another order": len(responses) - right}


@dataclass
class QuizRun:
    """A self-paced run through a list of questions: which one is next, what was answered."""
    question_ids: list[str]
    position: int = 0
    results: dict[str, bool] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.position >= len(self.question_ids)

    @property
    def current(self) -> str | None:
        return None if self.done else self.question_ids[self.position]

    @property
    def score(self) -> int:
        return sum(self.results.values())

    @property
    def wrong(self) -> list[str]:
        return [q for q in self.question_ids if self.results.get(q) is False]


# ---------------------------------------------------------------- instructor analytics

@dataclass(frozen=True)
class Heatmap:
    sections: list[str]                  # rows, in bank order
    columns: list[str]                   # "Q1".."Qn", then "All"
    share: list[list[float | None]]      # share correct per cell; None = no question / no answers
    counts: list[list[int]]              # answers per cell
    labels: list[list[str]]              # question id per cell ("" for none)


def heatmap(answers: Iterable[dict], bank: QuestionBank) -> Heatmap:
    """Share of correct answers per question (columns Q1..Qn within each section row) plus the section's overall
    share."""
    tally: dict[str, list[int]] = {}
    for a in answers:
        t = tally.setdefault(a["question_id"], [0, 0])
        t[0] += 1 if a["correct"] else 0
        t[1] += 1
    sections = [s for s in bank.sections if any(q.id in tally for q in bank.for_section(s))] or bank.sections
    width = max((len(bank.for_section(s)) for s in sections), default=0)
    share, counts, labels = [], [], []
    for s in sections:
        qs = bank.for_section(s)
        row_share, row_count, row_label = [], [], []
        for i in range(width):
            if i < len(qs) and tally.get(qs[i].id, [0, 0])[1]:
                right, n = tally[qs[i].id]
                row_share.append(right / n)
                row_count.append(n)
            else:
                row_share.append(None)
                row_count.append(0)
            row_label.append(qs[i].id if i < len(qs) else "")
        right = sum(tally.get(q.id, [0, 0])[0] for q in qs)
        n = sum(tally.get(q.id, [0, 0])[1] for q in qs)
        row_share.append(right / n if n else None)
        row_count.append(n)
        row_label.append("all questions")
        share.append(row_share)
        counts.append(row_count)
        labels.append(row_label)
    return Heatmap(sections, [f"Q{i + 1}" for i in range(width)] + ["All"], share, counts, labels)


def per_participant(answers: Iterable[dict]) -> list[dict]:
    """One row per participant: answered, correct, share correct, points (live answers), sorted by share."""
    people: dict[str, dict] = {}
    for a in answers:
        p = people.setdefault(a["nickname"], dict(participant=a["nickname"], answered=0, correct=0, points=0))
        p["answered"] += 1
        p["correct"] += 1 if a["correct"] else 0
        p["points"] += int(a.get("points") or 0)
    rows = [dict(p, share_correct=round(p["correct"] / p["answered"], 3)) for p in people.values()]
    return sorted(rows, key=lambda r: (-r["share_correct"], -r["points"], r["participant"].casefold()))


CSV_FIELDS = ("participant", "question_id", "section", "correct", "points", "elapsed_s", "response", "answered_at")


def answers_csv(answers: Iterable[dict]) -> str:
    """All answers as CSV. Cells that a spreadsheet would run as a formula (=, +, -, @ first) get a leading quote."""

    def safe(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
        return value

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for a in answers:
        response = a["response"] if isinstance(a["response"], str) else json.dumps(a["response"], ensure_ascii=False)
        writer.writerow([safe(a["nickname"]), a["question_id"], a["section"], int(bool(a["correct"])),
                         a.get("points", ""), a.get("elapsed", ""), safe(response), a.get("answered_at", "")])
    return out.getvalue()
