"""Page 7's training data: instruction examples (prompt + completion) and how they become token ids and a loss mask.

Shipped data (lessons/data/fine_tuning/, written for this app):
- reviews.jsonl: 320 restaurant reviews, each labelled twice — its sentiment (positive / negative) and the aspect it
  is about (food / service / price) — so one set of texts gives two tasks, and two adapters to swap between;
- general.jsonl: 200 easy general questions with their answer and three wrong options: the "general skills" that
  catastrophic forgetting would erase, and the extra tasks a multi-task mix trains on;
- general_text.md: an encyclopedic text, for the perplexity before and after.

An example goes through the model's own chat template (SmolLM2 adds its default system line), exactly as the app
asks the model everywhere else. Only the completion counts in the loss: the label word and the `<|im_end|>` that
ends the turn. Everything before it (system line, instruction, review) is context the model reads but is not graded
on, shown greyed on the page.

Learners may upload their own pairs (JSONL or CSV with `prompt` and `completion`): `parse_pairs` checks them and
every message names the line at fault.
"""
from __future__ import annotations

import csv
import io
import json
import math
import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "lessons" / "data" / "fine_tuning"

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_UPLOAD_ROWS = 2_000
MIN_UPLOAD_ROWS = 8
MAX_PROMPT_CHARS = 1_000
MAX_COMPLETION_CHARS = 400
MAX_EXAMPLE_TOKENS = 160          # longer examples are cut from the left of the prompt, never in the completion


class DataError(ValueError):
    """Data that cannot train; the message is one sentence for the learner (naming the line when there is one)."""


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    instruction: str
    labels: tuple[str, ...]


TASKS = {
    "sentiment": Task("sentiment", "Review sentiment",
                      "Is this review positive or negative?",
                      ("positive", "negative")),
    "aspect": Task("aspect", "Review aspect",
                   "Is this review about food, service or price?",
                   ("food", "service", "price")),
}


@dataclass(frozen=True)
class Example:
    prompt: str                  # the user's turn
    completion: str              # the assistant's ideal answer
    kind: str = "task"           # "task" or "general" (mixed in for multi-task training)


@dataclass(frozen=True)
class Question:
    """A general-skills question scored by which of its options the model finds most likely."""
    question: str
    answer: str
    distractors: tuple[str, ...]

    @property
    def options(self) -> tuple[str, ...]:
        return (self.answer, *self.distractors)


@dataclass(frozen=True)
class Encoded:
    ids: tuple[int, ...]
    graded: tuple[bool, ...]     # True where the token counts in the loss (the completion)
    prompt_length: int           # ids[:prompt_length] is the templated prompt, up to "assistant\n"


# ------------------------------------------------------------------------------------------------------ shipped

def _jsonl(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@lru_cache(maxsize=1)
def reviews() -> tuple[dict, ...]:
    return tuple(_jsonl("reviews.jsonl"))


@lru_cache(maxsize=1)
def questions_all() -> tuple[dict, ...]:
    return tuple(_jsonl("general.jsonl"))


def task_prompt(task: Task, text: str) -> str:
    return f"{task.instruction}\n{text}"


def task_examples(task_key: str, split: str) -> list[Example]:
    task = TASKS[task_key]
    return [Example(task_prompt(task, r["text"]), r[task.key]) for r in reviews() if r["split"] == split]


def general_questions(split: str) -> list[Question]:
    return [Question(q["question"], q["answer"], tuple(q["distractors"])) for q in questions_all()
            if q["split"] == split]


def general_examples(split: str) -> list[Example]:
    return [Example(q.question, q.answer, kind="general") for q in general_questions(split)]


@lru_cache(maxsize=1)
def general_text() -> str:
    return (DATA / "general_text.md").read_text(encoding="utf-8")


def mixed(task: list[Example], general: list[Example], share: float, seed: int = 0) -> list[Example]:
    """The task examples with general ones mixed in so that `share` of the result is general (0 ≤ share < 1).

    The task examples all stay; general examples are drawn (with the seed) to make up the share, repeating only when
    there are not enough."""
    if not 0 <= share < 1:
        raise DataError("The share of general data must be between 0% and 99%.")
    if share == 0 or not general:
        return list(task)
    wanted = round(len(task) * share / (1 - share))
    rng = random.Random(seed)
    pool = list(general)
    drawn = []
    while len(drawn) < wanted:
        rng.shuffle(pool)
        drawn.extend(pool[:wanted - len(drawn)])
    out = list(task) + drawn
    rng.shuffle(out)
    return out


# ----------------------------------------------------------------------------------------------------- encoding

def encode(tokenizer, example: Example, max_tokens: int = MAX_EXAMPLE_TOKENS) -> Encoded:
    """The example through the chat template, with the completion's tokens marked as graded.

    The completion is the assistant's text and the `<|im_end|>` closing its turn (the template's newline after it is
    dropped). A prompt too long for `max_tokens` loses its oldest tokens; a completion too long is an error."""
    user = [{"role": "user", "content": example.prompt}]
    prompt_text = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": example.completion}],
                                              tokenize=False)
    if not full_text.startswith(prompt_text):
        raise DataError("This model's chat template does not end the prompt where the answer starts.")
    completion_text = full_text[len(prompt_text):].rstrip("\n")
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion_text, add_special_tokens=False)["input_ids"]
    if len(completion_ids) >= max_tokens // 2:
        raise DataError(f"A completion of {len(completion_ids)} tokens is too long to train here "
                        f"(at most {max_tokens // 2 - 1}).")
    room = max_tokens - len(completion_ids)
    if len(prompt_ids) > room:
        prompt_ids = prompt_ids[-room:]
    ids = tuple(int(i) for i in prompt_ids + completion_ids)
    graded = (False,) * len(prompt_ids) + (True,) * len(completion_ids)
    return Encoded(ids, graded, len(prompt_ids))


def prompt_ids(tokenizer, prompt: str, max_tokens: int = MAX_EXAMPLE_TOKENS) -> list[int]:
    """The templated prompt up to the assistant's turn (what generation continues)."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True)
    return [int(i) for i in tokenizer(text, add_special_tokens=False)["input_ids"]][-max_tokens:]


# ------------------------------------------------------------------------------------------------------ uploads

def _clean(value, line: int, name: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"Line {line}: `{name}` must be text, not {type(value).__name__}.")
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    if not text:
        raise DataError(f"Line {line}: `{name}` is empty.")
    limit = MAX_PROMPT_CHARS if name == "prompt" else MAX_COMPLETION_CHARS
    if len(text) > limit:
        raise DataError(f"Line {line}: `{name}` has {len(text):,} characters; the limit is {limit:,}.")
    return text


def _rows_jsonl(text: str) -> list[tuple[int, dict]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"Line {number} is not valid JSON ({exc.msg}).") from None
        if not isinstance(row, dict):
            raise DataError(f"Line {number} must be a JSON object with \"prompt\" and \"completion\".")
        rows.append((number, row))
    return rows


def _rows_csv(text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "prompt" not in fields or "completion" not in fields:
        raise DataError("Line 1 (the header) must name the columns `prompt` and `completion`.")
    reader.fieldnames = fields
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise DataError(f"Line {reader.line_num} could not be read as CSV ({exc}).") from None


def parse_pairs(name: str, data: bytes) -> list[Example]:
    """Prompt/completion pairs from an uploaded .jsonl or .csv file; DataError names the problem and its line."""
    if not isinstance(data, (bytes, bytearray)):
        raise DataError("The upload must be a file.")
    size = len(data)
    if size > MAX_UPLOAD_BYTES:
        raise DataError(f"{name} is {size / 1024 / 1024:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
    if not size:
        raise DataError(f"{name} is empty.")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{name} is not UTF-8 text (is it a spreadsheet or an image?).") from None
    if "\x00" in text:
        raise DataError(f"{name} looks like a binary file, not text.")
    lower = name.lower()
    if lower.endswith((".jsonl", ".json")):
        rows = _rows_jsonl(text)
    elif lower.endswith(".csv"):
        rows = _rows_csv(text)
    else:
        raise DataError(f"{name}: only .jsonl and .csv files with `prompt` and `completion` are accepted.")
    if len(rows) > MAX_UPLOAD_ROWS:
        raise DataError(f"{name} has {len(rows):,} rows; the limit is {MAX_UPLOAD_ROWS:,}.")
    examples = []
    for number, row in rows:
        missing = [k for k in ("prompt", "completion") if k not in row or row[k] is None]
        if missing:
            raise DataError(f"Line {number} has no `{missing[0]}`.")
        examples.append(Example(_clean(row["prompt"], number, "prompt"),
                                _clean(row["completion"], number, "completion")))
    if len(examples) < MIN_UPLOAD_ROWS:
        raise DataError(f"{name} has {len(examples)} pairs; training and a held-out check need at least "
                        f"{MIN_UPLOAD_ROWS}.")
    return examples


def split(examples: list[Example], test_share: float = 0.2, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """(train, test): a seeded shuffle, then `test_share` (at least 2) held out."""
    rows = list(examples)
    random.Random(seed).shuffle(rows)
    n_test = max(2, math.floor(len(rows) * test_share))
    return rows[n_test:], rows[:n_test]
