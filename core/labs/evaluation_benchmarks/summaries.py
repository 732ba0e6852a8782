"""Score the model on a task: one-sentence summaries of short dialogues, graded with ROUGE.

The test set (lessons/data/summaries.yaml) was written for this app: each dialogue has one or two human reference
summaries. The model's summary is scored against them with rouge-score (stemming on, best reference per metric,
as `RougeScorer.score_multi` does). Nothing here imports streamlit.
"""
from __future__ import annotations

import re
import threading
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


class ReplyBoard:
    """Model replies shared by every session, and which ones some session is generating right now.

    In a workshop thirty people press "Summarise" at once: the first claims the dialogues and generates them (the
    service batches them), the others wait for those replies instead of queueing the same thirty generations
    again. A claim released unfinished (its page was cancelled) can be claimed by the next session."""

    def __init__(self):
        self._lock = threading.Lock()
        self._done: dict = {}
        self._pending: dict = {}          # key -> threading.Event, set when the reply is stored or given up

    def get(self, key):
        with self._lock:
            return self._done.get(key)

    def claim(self, keys) -> tuple[list, list]:
        """(keys this caller must generate now, keys another caller is generating)."""
        with self._lock:
            mine = [k for k in keys if k not in self._done and k not in self._pending]
            theirs = [k for k in keys if k in self._pending]
            for k in mine:
                self._pending[k] = threading.Event()
            return mine, theirs

    def finish(self, key, value) -> None:
        with self._lock:
            self._done[key] = value
            event = self._pending.pop(key, None)
        if event:
            event.set()

    def release(self, keys) -> None:
        """Give up claimed keys that were not finished (a cancelled run): waiters wake up and may claim them."""
        with self._lock:
            events = [self._pending.pop(k) for k in keys if k in self._pending and k not in self._done]
        for event in events:
            event.set()

    def pending(self, key) -> bool:
        with self._lock:
            return key in self._pending

    def wait(self, key, timeout: float) -> bool:
        """Wait until `key` is no longer being generated; True when its reply is stored."""
        with self._lock:
            event = self._pending.get(key)
        if event:
            event.wait(timeout)
        return self.get(key) is not None


def generate_shared(board: ReplyBoard, keys: list, submit, progress=lambda done, total: None) -> None:
    """Make sure every key has a reply on the board.

    `submit(key)` starts a generation and returns its stream (`.collect()`, `.cancel()`); all of this caller's
    claims are submitted before the first is collected, so the model service runs them as one batch. Keys another
    caller is generating are waited for. `progress(done, total)` is called as replies arrive; if it raises (a
    Streamlit rerun when the learner cancels), unfinished generations are cancelled and their claims released."""
    def report() -> None:
        progress(sum(board.get(k) is not None for k in keys), len(keys))

    while True:
        mine, theirs = board.claim(keys)
        if not mine and not theirs:
            return
        streams = []
        try:
            streams = [(k, submit(k)) for k in mine]
            for k, stream in streams:
                result = stream.collect()
                board.finish(k, (result.text, result.seconds))
                report()
            for k in theirs:
                while not board.wait(k, timeout=0.5) and board.pending(k):
                    report()
                report()
        finally:
            for _, stream in streams:
                stream.cancel()
            board.release(mine)
