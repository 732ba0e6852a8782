"""Prompt engineering: task presets, zero/one/few-shot prompt building, answer extraction and the bench.

A prompt is built from plain parts so the learner can see every piece:

    instruction (+ how to answer)
    <blank line>
    Review: <example input>        \
    Sentiment: <example answer>     } 0, 1 or a few worked examples (chain of thought: reasoning first)
    <blank line>                   /
    Review: <the real input>
    Sentiment:

The bench runs a labelled set (lessons/data/*.yaml) under zero/one/few-shot x direct/chain-of-thought,
greedy decoding, and grades each answer with the extractors below.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from core.serving.sampling import SamplingSettings
from core.serving.settings import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "lessons" / "data"
MAX_INPUT_CHARS = 20_000       # a single prompt part longer than this is cut (the UI says so)
SHOTS = {"zero-shot": 0, "one-shot": 1, "few-shot": 3}


@dataclass(frozen=True)
class Example:
    input: str
    answer: str
    reason: str = ""       # a worked explanation, written before the answer in chain-of-thought examples


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    instruction: str        # what the model should do
    answer_format: str      # how a direct answer should look
    input_label: str        # "Review", "Q", ...
    output_label: str       # "Sentiment", "A", ...
    examples: tuple[Example, ...]
    sample_input: str       # a default input for the prompt builder
    kind: str = "text"      # "label" (one of `labels`), "number" or "text" (not graded)
    labels: tuple[str, ...] = ()
    max_new_tokens: int = 48


class DataError(ValueError):
    """A bench data file is missing or malformed; the message names the file."""


def load_set(name: str, folder: Path = DATA_DIR) -> dict:
    """A labelled set: {'name', 'task', 'examples': [Example], 'items': [Example]} (answers as text)."""
    path = Path(folder) / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path.name}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list) or not data["items"]:
        raise DataError(f"{path.name}: expected a mapping with a non-empty 'items' list")

    def rows(key):
        out = []
        for i, raw in enumerate(data.get(key) or []):
            if not isinstance(raw, dict) or not str(raw.get("input", "")).strip() or raw.get("answer") is None:
                raise DataError(f"{path.name}: {key}[{i}] needs an 'input' and an 'answer'")
            if data.get("task") == "arithmetic" and parse_number(str(raw["answer"])) is None:
                raise DataError(f"{path.name}: {key}[{i}] has a non-numeric answer {raw['answer']!r}")
            out.append(Example(str(raw["input"]), str(raw["answer"]), str(raw.get("reason", ""))))
        return tuple(out)

    return {"name": str(data.get("name", name)), "task": str(data.get("task", name)),
            "examples": rows("examples"), "items": rows("items")}


def tasks(folder: Path = DATA_DIR) -> dict[str, Task]:
    """The prompt builder's presets; sentiment and arithmetic reuse the bench sets' worked examples."""
    reviews, arithmetic = load_set("reviews", folder), load_set("arithmetic", folder)
    return {
        "sentiment": Task(
            "sentiment", "Review sentiment", "Classify this review as positive or negative.",
            "Answer with one word: positive or negative.", "Review", "Sentiment", reviews["examples"],
            "The headphones broke after two days and support never replied.", "label", ("positive", "negative"), 8),
        "summarization": Task(
            "summarization", "Dialogue summarization", "Summarize the dialogue in one sentence.",
            "Write one short sentence.", "Dialogue", "Summary", (
                Example("Anna: Can you pick up milk on the way home?\nBen: Sure, anything else?\nAnna: Bread too, "
                        "thanks!", "Ben will buy milk and bread on his way home."),
                Example("Tom: The meeting moved to 3 pm.\nLisa: Same room?\nTom: No, room 12 this time.",
                        "The meeting is now at 3 pm in room 12."),
                Example("Sara: My flight is delayed by two hours.\nMark: I'll pick you up at 9 then.\nSara: "
                        "Thank you!", "Sara's flight is late, so Mark will pick her up at 9."),
            ), "Leo: Are we still on for football tonight?\nMaya: Yes, but I can only come at 7.\n"
               "Leo: Fine, I'll book the pitch for 7.", "text", (), 40),
        "translation": Task(
            "translation", "English to French translation", "Translate the English sentence into French.",
            "Write only the French sentence.", "English", "French", (
                Example("Where is the train station?", "Où est la gare ?"),
                Example("I would like a coffee, please.", "Je voudrais un café, s'il vous plaît."),
                Example("The weather is nice today.", "Il fait beau aujourd'hui."),
            ), "My sister lives in a small house.", "text", (), 32),
        "arithmetic": Task(
            "arithmetic", "Arithmetic word problems", "Solve the math word problem.",
            "Answer with just the number.", "Q", "A", arithmetic["examples"],
            "A bakery had 15 muffins. It sold 9 and then baked 12 more. How many muffins does it have now?",
            "number", (), 12),
    }


def _answer_text(task: Task, example: Example, cot: bool) -> str:
    if cot and example.reason:
        return f"{example.reason} The answer is {example.answer}."
    return example.answer


def build_prompt(task: Task, query: str, examples: Sequence[Example] = (), cot: bool = False) -> str:
    """The user message for `query`, with `examples` as worked examples (0 = zero-shot)."""
    how = ("Think step by step, then finish with \"The answer is ...\"." if cot else task.answer_format)
    parts = [f"{task.instruction} {how}".strip()]
    for ex in examples:
        parts.append(f"{task.input_label}: {ex.input.strip()}\n{task.output_label}: {_answer_text(task, ex, cot)}")
    parts.append(f"{task.input_label}: {query.strip()}\n{task.output_label}:")
    return "\n\n".join(parts)


# ---- label odds: what the model would answer, before it answers ---------------------------------------------
def label_variants(label: str) -> list[str]:
    """How an answer can start: "positive", "Positive", " positive", " Positive"."""
    forms = {label, label.capitalize(), label.lower()}
    return sorted(forms | {" " + f for f in forms})


def label_probabilities(logits, first_tokens: dict[str, set[int]]) -> dict[str, float]:
    """The probability that the reply starts with each label: the softmax of the next-token scores, summed over the
    first tokens of that label's spellings (`first_tokens`: label -> token ids). A token shared by two labels
    counts for neither. The rest of the probability is on other starts ("The", "I", …)."""

    scores = np.asarray(logits, dtype=np.float64)
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    shared = set.intersection(*first_tokens.values()) if len(first_tokens) > 1 else set()
    return {label: float(sum(probs[t] for t in ids - shared)) for label, ids in first_tokens.items()}


# ---- answer extraction ----------------------------------------------------------------------
_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}
_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
               "hundred": 100})
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|(?<![\w.])-?\d+(?:\.\d+)?|\b(?:"
                     + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_ANSWER_IS = re.compile(r"answer\s*(?:is|=|:)\s*\**\s*\$?\s*(-?[\d,]*\.?\d+|[a-z]+)", re.IGNORECASE)


def parse_number(text: str) -> float | None:
    """'1,200' -> 1200.0, '-3.5' -> -3.5, 'seven' -> 7.0, anything else -> None."""
    text = text.strip().rstrip(".").replace("$", "")
    if text.lower() in _WORDS:
        return float(_WORDS[text.lower()])
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def extract_number(text: str, cot: bool = False) -> float | None:
    """The model's numeric answer: after "the answer is" when present, else the first number of a direct answer
    or the last number of a chain of thought (where the result comes at the end)."""
    if not isinstance(text, str):
        return None
    stated = [parse_number(m.group(1)) for m in _ANSWER_IS.finditer(text)]
    stated = [n for n in stated if n is not None]
    if stated:
        return stated[-1]
    numbers = [parse_number(m.group(0)) for m in _NUMBER.finditer(text)]
    numbers = [n for n in numbers if n is not None]
    if not numbers:
        return None
    return numbers[-1] if cot else numbers[0]


def extract_label(text: str, labels: Sequence[str], cot: bool = False) -> str | None:
    """The label the model gave: after "the answer is" when present, else the first label word (last for CoT)."""
    if not isinstance(text, str) or not labels:
        return None
    pattern = re.compile(r"\b(" + "|".join(re.escape(label) for label in labels) + r")\b", re.IGNORECASE)
    after = _ANSWER_IS.search(text)
    if after and after.group(1).lower() in [label.lower() for label in labels]:
        return after.group(1).lower()
    found = pattern.findall(text)
    if not found:
        return None
    return (found[-1] if cot else found[0]).lower()


def grade(task: Task, output: str, expected: str, cot: bool = False) -> tuple[str | None, bool]:
    """(what the model answered, as shown to the learner or None; whether it is right)."""
    if task.kind == "number":
        got, want = extract_number(output, cot), parse_number(expected)
        if got is None or want is None:
            return None, False
        shown = f"{got:g}"
        return shown, abs(got - want) < 1e-6
    if task.kind == "label":
        got = extract_label(output, task.labels, cot)
        return got, got is not None and got == expected.strip().lower()
    return None, False


# ---- the bench --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchSetting:
    shots: str = "zero-shot"    # key of SHOTS
    cot: bool = False           # chain-of-thought prompting

    def __post_init__(self):
        if self.shots not in SHOTS:
            raise ValueError(f"shots must be one of {list(SHOTS)}, got {self.shots!r}")

    @property
    def label(self) -> str:
        return f"{self.shots} · {'chain-of-thought' if self.cot else 'direct'}"


ALL_SETTINGS = tuple(BenchSetting(s, c) for c in (False, True) for s in SHOTS)


@dataclass(frozen=True)
class BenchRow:
    index: int
    input: str
    expected: str
    output: str
    predicted: str | None     # extracted answer, None = none found
    correct: bool
    new_tokens: int
    prompt_tokens: int
    seconds: float
    stop_reason: str


def bench_sampling(task: Task, setting: BenchSetting) -> SamplingSettings:
    """Greedy decoding (repeatable, so results can be cached) with room for reasoning when CoT is on."""
    budget = {"label": 48, "number": 96}.get(task.kind, 64) if setting.cot else task.max_new_tokens
    stops = (f"\n{task.input_label}:", f"{task.input_label}:") if setting.cot else ("\n\n", f"{task.input_label}:")
    return SamplingSettings(temperature=0.0, max_new_tokens=budget, stop_sequences=stops)


Generate = Callable[[list[dict], SamplingSettings], "object"]   # returns a collected GenerationResult


def bench_prompt(task: Task, data: dict, setting: BenchSetting, query: str) -> str:
    """The user message the bench sends for `query` under `setting` (the set's own worked examples)."""
    return build_prompt(task, query, data["examples"][:SHOTS[setting.shots]], setting.cot)


CONTENT_FREE = "N/A"


def odds_predictions(odds: list[dict[str, float]], content_free: dict[str, float]) -> tuple[list[str], list[str]]:
    """From each item's label odds: the raw pick (the most likely label) and the calibrated pick.

    Calibration as in Zhao et al. (2021), "Calibrate before use": the same prompt with a content-free input ("N/A")
    shows the model's bias toward each label; dividing each item's odds by it removes that bias before the argmax.
    A label the content-free prompt gives no probability at all keeps its raw odds."""
    raw = [max(o, key=o.get) for o in odds]
    calibrated = [max(o, key=lambda label: o[label] / content_free[label] if content_free.get(label) else o[label])
                  for o in odds]
    return raw, calibrated


def run_item(generate: Generate, task: Task, data: dict, index: int, setting: BenchSetting) -> BenchRow:
    """Ask the model one bench question under one setting and grade the answer."""
    item = data["items"][index]
    prompt = bench_prompt(task, data, setting, item.input)
    t0 = time.perf_counter()
    result = generate([{"role": "user", "content": prompt}], bench_sampling(task, setting))
    seconds = time.perf_counter() - t0
    predicted, correct = grade(task, result.text, item.answer, setting.cot)
    return BenchRow(index=index, input=item.input, expected=item.answer, output=result.text, predicted=predicted,
                    correct=correct, new_tokens=len(result.tokens), prompt_tokens=result.prompt_tokens,
                    seconds=seconds, stop_reason=result.stop_reason)


@dataclass
class BenchSummary:
    setting: BenchSetting
    rows: list[BenchRow] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(r.correct for r in self.rows) / len(self.rows) if self.rows else 0.0

    @property
    def answered(self) -> int:
        """Rows where an answer could be extracted at all."""
        return sum(r.predicted is not None for r in self.rows)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    @property
    def new_tokens(self) -> int:
        return sum(r.new_tokens for r in self.rows)


def run_bench(generate: Generate, task: Task, data: dict, settings: Sequence[BenchSetting], n_items: int,
              progress: Callable[[int, int, str], None] = lambda done, total, label: None) -> list[BenchSummary]:
    """Every setting on the first `n_items` items; `progress(done, total, label)` after each answer."""
    n = max(1, min(int(n_items), len(data["items"])))
    total, done, out = n * len(settings), 0, []
    for setting in settings:
        summary = BenchSummary(setting)
        for i in range(n):
            summary.rows.append(run_item(generate, task, data, i, setting))
            done += 1
            progress(done, total, setting.label)
        out.append(summary)
    return out
