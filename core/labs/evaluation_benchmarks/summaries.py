"""Score the model on a task: one-sentence summaries of short dialogues, graded with ROUGE (issue 14).

The test set (lessons/data/summaries.yaml) was written for this app: each dialogue has one or two human reference
summaries. The model's summary is scored against them with rouge-score (stemming on, best reference per metric,
as `RougeScorer.score_multi` does). Nothing here imports streamlit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.labs.evaluation_benchmarks import metrics

DATA_FILE = Path(__file__).resolve().parents[3] / "lessons" / "data" / "summaries.yaml"
MAX_NEW_TOKENS = 60


@dataclass(frozen=True)
class Item:
    id: str
    dialogue: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class TaskSet:
    name: str
    instruction: str
    examples: tuple[Item, ...]
    items: tuple[Item, ...]


def _item(row: dict, where: str) -> Item:
    dialogue, refs = row.get("dialogue"), [row.get("summary"), row.get("summary2")]
    refs = tuple(r.strip() for r in refs if isinstance(r, str) and r.strip())
    if not isinstance(dialogue, str) or not dialogue.strip() or not refs:
        raise ValueError(f"{where}: needs a dialogue and at least one summary")
    return Item(str(row.get("id", where)), dialogue.strip(), refs)


def load(path: Path = DATA_FILE) -> TaskSet:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    examples = tuple(_item(r, f"example {i + 1}") for i, r in enumerate(data.get("examples") or []))
    items = tuple(_item(r, f"item {i + 1}") for i, r in enumerate(data.get("items") or []))
    if not items:
        raise ValueError("the task set has no items")
    return TaskSet(str(data.get("name", "summaries")), str(data.get("instruction", "Summarize the dialogue in one "
                                                                                      "sentence.")), examples, items)


def messages(task: TaskSet, item: Item, shots: int = 0) -> list[dict]:
    """The chat sent to the model: worked examples as earlier turns (few-shot), then the dialogue to summarise."""
    chat = []
    for ex in task.examples[:shots]:
        chat += [{"role": "user", "content": f"{task.instruction}\n\n{ex.dialogue}"},
                 {"role": "assistant", "content": ex.references[0]}]
    return chat + [{"role": "user", "content": f"{task.instruction}\n\n{item.dialogue}"}]


def first_sentence(reply: str) -> str:
    """The summary proper: the reply's first non-empty line, cut after its first sentence, without a
    "Summary:" label. A one-sentence task is graded on one sentence, so rambling after it does not count."""
    line = next((ln.strip() for ln in (reply or "").splitlines() if ln.strip()), "")
    line = re.sub(r"^(\*\*)?summary(\*\*)?\s*:\s*(\*\*)?", "", line, flags=re.IGNORECASE).strip()
    match = re.search(r"(.+?[.!?])(\s|$)", line)
    return (match.group(1) if match else line).strip()


@dataclass(frozen=True)
class ScoredSummary:
    item: Item
    reply: str
    summary: str
    rouge1: float
    rouge2: float
    rougeL: float
    seconds: float = 0.0


def score(item: Item, reply: str, seconds: float = 0.0) -> ScoredSummary:
    summary = first_sentence(reply)
    f1 = {kind: metrics.rouge_reference(summary, list(item.references), kind, stem=True)[2]
          for kind in metrics.ROUGE_KINDS}
    return ScoredSummary(item, reply, summary, f1["rouge1"], f1["rouge2"], f1["rougeL"], seconds)
