"""A mini-benchmark in MMLU's format, scored the ways real evaluation harnesses score one.

Three ways to read the model's answer, because the score depends on how you ask:

- **letter** (MMLU style): the prompt lists the choices as A–D and ends in "Answer:"; the model's log-likelihood
  of " A", " B", " C" and " D" is compared. One token each, so length normalisation changes nothing.
- **text** (cloze style, as harnesses score ARC or HellaSwag): the prompt ends in "Answer:" with no list, and each
  choice's own words are scored. Longer answers collect more negative log-probability, so `acc_norm` divides by
  the answer's length in characters (what lm-evaluation-harness does) and can pick differently from `acc`.
- **generate**: the model writes an answer in a chat, and the first letter A–D in it is taken — or none is found.

Plus what HELM adds beyond accuracy: calibration (are the choice probabilities honest?) and robustness (does the
score survive shuffled choices or a typo?). Nothing here imports streamlit; the model is reached through two small
functions the caller passes in, so the scoring is testable on fixed numbers.
"""
from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

DATA_FILE = Path(__file__).resolve().parents[3] / "lessons" / "data" / "mini_benchmark.yaml"
LETTERS = ("A", "B", "C", "D")
MODES = {"letter": "Letters (MMLU style): score \" A\" … \" D\" after the listed choices",
         "text": "Choice text (cloze style): score each choice's own words",
         "generate": "Generate an answer and read the first letter A–D in it"}
MAX_SHOTS = 5
RANDOM_BASELINE = 0.25

# The model, as the scorer needs it: text -> token ids, and (context ids, continuations) -> per-token log-probs.
Encode = Callable[[str], list[int]]
Score = Callable[[list[int], list[list[int]]], list[np.ndarray]]
Generate = Callable[[str], str]            # a user message -> the model's reply (greedy)


@dataclass(frozen=True)
class Question:
    subject: str
    question: str
    choices: tuple[str, ...]
    answer: int                             # index of the right choice

    @property
    def answer_letter(self) -> str:
        return LETTERS[self.answer]


@dataclass(frozen=True)
class Benchmark:
    name: str
    subjects: dict[str, str]                 # id -> title
    examples: tuple[Question, ...]           # the few-shot pool, never scored
    questions: tuple[Question, ...]

    def subject_title(self, subject: str) -> str:
        return self.subjects.get(subject, subject)

    def balanced_order(self) -> list[int]:
        """Question indices taking the subjects in turn (1st of each subject, then 2nd of each, …), so the first
        n questions of a short run cover every subject instead of only the first one in the file."""
        queues = [[i for i, q in enumerate(self.questions) if q.subject == s] for s in self.subjects]
        order = []
        for round_ in range(max(map(len, queues), default=0)):
            order += [queue[round_] for queue in queues if round_ < len(queue)]
        return order


def _question(row: dict, subjects: dict[str, str], where: str) -> Question:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a mapping")
    subject, text, choices, answer = row.get("subject"), row.get("question"), row.get("choices"), row.get("answer")
    if subject not in subjects:
        raise ValueError(f"{where}: unknown subject {subject!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: the question is empty")
    if (not isinstance(choices, list) or len(choices) != 4 or not all(isinstance(c, (str, int, float)) for c in choices)
            or len({str(c).strip() for c in choices}) != 4):
        raise ValueError(f"{where}: needs exactly 4 distinct choices")
    if answer not in LETTERS:
        raise ValueError(f"{where}: the answer must be one of A, B, C, D")
    return Question(subject, text.strip(), tuple(str(c).strip() for c in choices), LETTERS.index(answer))


def load(path: Path = DATA_FILE) -> Benchmark:
    """Read and check a benchmark file (see lessons/data/mini_benchmark.yaml)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    subjects = {k: (v or {}).get("title", k) for k, v in (data.get("subjects") or {}).items()}
    examples = tuple(_question(r, subjects, f"example {i + 1}") for i, r in enumerate(data.get("examples") or []))
    questions = tuple(_question(r, subjects, f"question {i + 1}") for i, r in enumerate(data.get("questions") or []))
    if not questions:
        raise ValueError("the benchmark has no questions")
    return Benchmark(str(data.get("name", Path(path).stem)), subjects, examples, questions)


# ---- prompts -----------------------------------------------------------------------------------------------
def shots_for(bench: Benchmark, question: Question, k: int) -> list[Question]:
    """The k worked examples shown before a question: its own subject's first, then other subjects' (fixed order,
    so a run is repeatable). Examples come from the separate pool, never from the scored questions."""
    if not 0 <= k <= MAX_SHOTS:
        raise ValueError(f"k must be between 0 and {MAX_SHOTS}")
    same = [e for e in bench.examples if e.subject == question.subject]
    other = [e for e in bench.examples if e.subject != question.subject]
    return (same + other)[:k]


def _listed(q: Question) -> str:
    return q.question + "\n" + "\n".join(f"{letter}. {choice}" for letter, choice in zip(LETTERS, q.choices))


def prompt(bench: Benchmark, question: Question, k: int = 0, mode: str = "letter") -> str:
    """The exact text the model reads. Letter mode follows MMLU's harness prompt; text mode is the cloze form."""
    shots = shots_for(bench, question, k)
    if mode == "text":
        blocks = [f"Question: {s.question}\nAnswer: {s.choices[s.answer]}" for s in shots]
        return "\n\n".join(blocks + [f"Question: {question.question}\nAnswer:"])
    header = (f"The following are multiple choice questions (with answers) about "
              f"{bench.subject_title(question.subject).lower()}.\n\n")
    blocks = [f"{_listed(s)}\nAnswer: {s.answer_letter}" for s in shots]
    return header + "\n\n".join(blocks + [f"{_listed(question)}\nAnswer:"])


def continuations(question: Question, mode: str = "letter") -> list[str]:
    """What is scored after the prompt, one per choice (the leading space belongs to the answer, as in harnesses)."""
    return [f" {c}" for c in (LETTERS if mode == "letter" else question.choices)]


GENERATE_INSTRUCTION = "Reply with the letter of the right answer (A, B, C or D) only."


def generation_message(bench: Benchmark, question: Question, k: int = 0) -> str:
    return prompt(bench, question, k, "letter") + f"\n\n{GENERATE_INSTRUCTION}"


_LETTER = re.compile(r"\b([ABCD])\b")
# "A" followed by a lower-case word is the article ("A mammal"), unless the word reads as a sentence about the
# letter ("A is right", "A or B").
_ARTICLE = re.compile(r"\s+(?!(?:is|or|and|was|would|seems|looks|fits)\b)[a-z]")


def parse_letter(reply: str) -> int | None:
    """The first stand-alone letter A–D in a reply ("B", "B.", "(B)", "The answer is B"), or None. An article
    ("A mammal") is not the letter A."""
    for match in _LETTER.finditer(reply or ""):
        if match.group(1) == "A" and _ARTICLE.match(reply, match.end()):
            continue
        return LETTERS.index(match.group(1))
    return None


# ---- scoring one question ----------------------------------------------------------------------------------
def softmax(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    e = np.exp(v - v.max())
    return e / e.sum()


@dataclass(frozen=True)
class Scored:
    """One question, scored. In generate mode the log-likelihood fields are empty."""
    index: int
    question: Question
    mode: str
    k: int
    loglik: tuple[float, ...] = ()          # summed log-probability of each choice's continuation
    lengths: tuple[int, ...] = ()           # each choice's length in characters, no leading space (acc_norm)
    tokens: tuple[int, ...] = ()            # each continuation's length in tokens
    reply: str = ""                         # generate mode: what the model wrote
    predicted: int | None = None            # argmax of loglik (acc), or the parsed letter
    predicted_norm: int | None = None       # argmax of loglik / length (acc_norm)
    seconds: float = 0.0

    @property
    def correct(self) -> bool:
        return self.predicted == self.question.answer

    @property
    def correct_norm(self) -> bool:
        return (self.predicted_norm if self.mode != "generate" else self.predicted) == self.question.answer

    @property
    def probabilities(self) -> np.ndarray:
        """The model's probability for each choice, renormalised over the four (what calibration looks at)."""
        return softmax(self.loglik) if self.loglik else np.full(4, np.nan)

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.predicted]) if self.loglik and self.predicted is not None else math.nan


def score_question(bench: Benchmark, question: Question, index: int, k: int, mode: str, encode: Encode,
                   score: Score | None = None, generate: Generate | None = None) -> Scored:
    start = time.perf_counter()
    if mode == "generate":
        if generate is None:
            raise ValueError("generate mode needs a generate function")
        reply = generate(generation_message(bench, question, k))
        return Scored(index, question, mode, k, reply=reply, predicted=parse_letter(reply),
                      seconds=time.perf_counter() - start)
    if mode not in MODES or score is None:
        raise ValueError(f"unknown mode {mode!r}" if mode not in MODES
                         else "log-likelihood modes need a score function")
    conts = continuations(question, mode)
    context_ids = encode(prompt(bench, question, k, mode))
    cont_ids = [encode(c) for c in conts]
    logprobs = score(context_ids, cont_ids)
    loglik = tuple(float(np.sum(lp)) for lp in logprobs)
    lengths = tuple(len(c.removeprefix(" ")) for c in conts)     # lm-evaluation-harness: len(choice), no space
    norm = [ll / n for ll, n in zip(loglik, lengths)]
    return Scored(index, question, mode, k, loglik=loglik, lengths=lengths, tokens=tuple(len(c) for c in cont_ids),
                  predicted=int(np.argmax(loglik)), predicted_norm=int(np.argmax(norm)),
                  seconds=time.perf_counter() - start)


# ---- the whole set -----------------------------------------------------------------------------------------
def wilson_interval(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% confidence interval of an accuracy measured on n questions (Wilson score interval: unlike the plain
    ±1.96·√(p(1−p)/n) it stays inside [0, 1] and behaves at 0/n and n/n)."""
    if n <= 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class SubjectRow:
    subject: str
    title: str
    n: int
    correct: int
    correct_norm: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


@dataclass
class Summary:
    rows: list[Scored] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def correct(self) -> int:
        return sum(r.correct for r in self.rows)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def accuracy_norm(self) -> float:
        return sum(r.correct_norm for r in self.rows) / self.n if self.n else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.n)

    @property
    def unparsed(self) -> int:
        return sum(r.predicted is None for r in self.rows)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    def by_subject(self, bench: Benchmark) -> list[SubjectRow]:
        out = []
        for subject, title in bench.subjects.items():
            rows = [r for r in self.rows if r.question.subject == subject]
            if rows:
                out.append(SubjectRow(subject, title, len(rows), sum(r.correct for r in rows),
                                      sum(r.correct_norm for r in rows)))
        return out


# ---- calibration (HELM) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    confidence: float          # mean confidence of the answers in the bin (nan when empty)
    accuracy: float            # share of them that were right (nan when empty)


def reliability(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10,
                low: float = 0.0) -> tuple[list[Bin], float]:
    """Reliability diagram bins and the expected calibration error.

    Answers are grouped by the model's confidence in its chosen answer (equal-width bins from `low` to 1; a
    4-choice argmax is never below 0.25). ECE = Σ over bins (share of answers in the bin) × |accuracy − mean
    confidence|: 0 for a perfectly calibrated model, which is right 70% of the time when it says 70%."""
    conf = np.asarray(confidences, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    if conf.shape != hits.shape:
        raise ValueError("confidences and correct must have the same length")
    edges = np.linspace(low, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        inside = which == b
        count = int(inside.sum())
        if count:
            c, a = float(conf[inside].mean()), float(hits[inside].mean())
            ece += count / len(conf) * abs(a - c)
        else:
            c = a = math.nan
        bins.append(Bin(float(edges[b]), float(edges[b + 1]), count, c, a))
    return bins, float(ece)


# ---- robustness (HELM) -------------------------------------------------------------------------------------
def shuffled(question: Question, seed: int) -> Question:
    """The same question with its choices in another order (never the original one); the answer follows."""
    rng = random.Random(seed)
    order = list(range(4))
    while order == list(range(4)):
        rng.shuffle(order)
    return replace(question, choices=tuple(question.choices[i] for i in order), answer=order.index(question.answer))


def with_typo(question: Question, seed: int) -> Question:
    """The same question with one typo: two neighbouring letters swapped inside one word of 4+ letters."""
    rng = random.Random(seed)
    text = question.question
    # Positions i where swapping letters i and i+1 changes the word and keeps its first and last letter.
    spots = [i for w in re.finditer(r"[A-Za-z]{4,}", text) for i in range(w.start() + 1, w.end() - 2)
             if text[i] != text[i + 1]]
    if not spots:
        return question
    i = rng.choice(spots)
    return replace(question, question=text[:i] + text[i + 1] + text[i] + text[i + 2:])


PERTURBATIONS = {"original": "as written", "shuffled": "choices shuffled", "typo": "one typo in the question"}


def perturb(question: Question, kind: str, seed: int) -> Question:
    if kind == "original":
        return question
    if kind == "shuffled":
        return shuffled(question, seed)
    if kind == "typo":
        return with_typo(question, seed)
    raise ValueError(f"unknown perturbation {kind!r}")
