"""Page 4's sampling lab around the pipeline of `core/serving/sampling.py`: the same processors run step by step
and recorded for the chart (`trace`, `chart_rows`, `step_rows`), the stop sequences and answer length a learner
types, made usable with a sentence when they had to change, and how repetitive an answer is."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

from core.serving.sampling import MAX_NEW_TOKENS_LIMIT, MAX_STOP_CHARS, MAX_STOP_SEQUENCES, SamplingSettings


@dataclass(frozen=True)
class Step:
    name: str                    # "model output", "repetition penalty", ..., "top-p"
    active: bool                 # False when the knob is at its no-op value
    logits: torch.Tensor         # (vocab,) after this step (-inf = removed)
    probs: torch.Tensor          # (vocab,) softmax of those logits
    removed_mask: torch.Tensor   # (vocab,) bool: possible before this step, impossible after it
    changed_mask: torch.Tensor   # (vocab,) bool: logit changed by a penalty, token still possible
    kept: int                    # tokens still possible after this step

    @property
    def removed(self) -> tuple[int, ...]:
        """Token ids this step removed."""
        import torch
        return tuple(torch.nonzero(self.removed_mask).flatten().tolist())

    @property
    def changed(self) -> tuple[int, ...]:
        """Token ids whose logit this step changed without removing them (penalties)."""
        import torch
        return tuple(torch.nonzero(self.changed_mask).flatten().tolist())


@dataclass(frozen=True)
class Trace:
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def base(self) -> Step:
        return self.steps[0]

    @property
    def final(self) -> Step:
        return self.steps[-1]

    def removed_by(self, token_id: int) -> str | None:
        """The step that removed this token, or None when it survives."""
        for step in self.steps[1:]:
            if bool(step.removed_mask[token_id]):
                return step.name
        return None


def trace(logits: torch.Tensor, settings: SamplingSettings, seen: Sequence[int] = (),
          generated: Sequence[int] = ()) -> Trace:
    """Each step's logits and probabilities, and which tokens it removed or changed.  logits: (vocab,)"""
    import torch
    current = logits.float()
    alive = torch.isfinite(current)                                   # (vocab,) bool
    none = torch.zeros_like(alive)
    steps = [Step("model output", True, current, torch.softmax(current, -1), none, none, int(alive.sum()))]
    active = {"repetition penalty": settings.repetition_penalty != 1.0,
              "frequency & presence penalties": settings.frequency_penalty != 0 or settings.presence_penalty != 0,
              "temperature": settings.temperature != 1.0, "top-k": settings.top_k != 0, "top-p": settings.top_p < 1.0}
    for processor in settings.processors():
        new = processor(current, seen, generated)
        if new is current:                    # a knob at its no-op value returns its input untouched
            steps.append(Step(processor.name, active[processor.name], current, steps[-1].probs, none, none,
                              steps[-1].kept))
            continue
        alive_after = torch.isfinite(new)
        # Temperature rescales every logit; "changed" marks only tokens a penalty touched.
        changed = none if processor.name == "temperature" else alive_after & (new != current)
        steps.append(Step(processor.name, active[processor.name], new, torch.softmax(new, -1), alive & ~alive_after,
                          changed, int(alive_after.sum())))
        current, alive = new, alive_after
    return Trace(tuple(steps))


# ---- what the learner types: stop sequences and a length ----------------------------------------------
def parse_stop_sequences(text: str) -> tuple[tuple[str, ...], list[str]]:
    """One stop sequence per line; `\\n` and `\\t` stand for a line break and a tab.

    Returns the usable sequences and notes about what was skipped (empty lines, too many, too long).
    """
    notes, seqs = [], []
    if not isinstance(text, str):
        return (), ["stop sequences must be text"]
    for line in text.splitlines():
        seq = line.replace("\\n", "\n").replace("\\t", "\t")
        if seq == "":
            continue                      # an empty line is not a stop sequence
        if len(seq) > MAX_STOP_CHARS:
            notes.append(f"a stop sequence longer than {MAX_STOP_CHARS} characters was ignored")
            continue
        if seq not in seqs:
            seqs.append(seq)
    if len(seqs) > MAX_STOP_SEQUENCES:
        notes.append(f"only the first {MAX_STOP_SEQUENCES} stop sequences are used")
        seqs = seqs[:MAX_STOP_SEQUENCES]
    return tuple(seqs), notes


def cap_max_new_tokens(requested, prompt_tokens: int, window: int) -> tuple[int, str]:
    """A usable max_new_tokens and, when it had to change, a sentence saying why."""
    try:
        value = int(requested)
    except (TypeError, ValueError, OverflowError):
        return 64, "max new tokens must be a whole number; using 64"
    room = max(1, window - max(prompt_tokens, 0) - 1)
    limit = min(MAX_NEW_TOKENS_LIMIT, room)
    if value < 1:
        return 1, "max new tokens must be at least 1; using 1"
    if value > limit:
        why = (f"this app allows at most {MAX_NEW_TOKENS_LIMIT:,} new tokens per request"
               if limit == MAX_NEW_TOKENS_LIMIT
               else f"only {room:,} tokens are left in the {window:,}-token context window after the prompt")
        return limit, f"{value:,} new tokens asked for; capped at {limit:,} because {why}"
    return value, ""


def repeated_token_share(ids: Sequence[int]) -> float:
    """Fraction of tokens that repeat a token already used earlier in the same text (0 = no repeats)."""
    ids = list(ids)
    return 1 - len(set(ids)) / len(ids) if ids else 0.0


def chart_rows(t: Trace, n: int) -> list[dict]:
    """Plain rows for the next-token chart: the n most likely tokens before any knob, plus any token the
    knobs moved into the final top n. Each row: id, base and final probability, what removed or changed it."""
    import torch
    n = max(1, min(int(n), t.base.probs.numel()))
    base_top = torch.topk(t.base.probs, n).indices.tolist()
    final_top = [i for i in torch.topk(t.final.probs, n).indices.tolist() if t.final.probs[i] > 0]
    ids = base_top + [i for i in final_top if i not in base_top]
    index = torch.tensor(ids)
    removed = {}
    changed: dict[int, list[str]] = {}
    for step in t.steps[1:]:
        for i, r, c in zip(ids, step.removed_mask[index].tolist(), step.changed_mask[index].tolist()):
            if r:
                removed.setdefault(i, step.name)
            if c:
                changed.setdefault(i, []).append(step.name)
    base, final = t.base.probs[index].tolist(), t.final.probs[index].tolist()
    return [{"id": i, "base": b, "final": f, "removed_by": removed.get(i, ""),
             "changed_by": ", ".join(changed.get(i, []))}
            for i, b, f in zip(ids, base, final)]


def step_rows(t: Trace) -> list[dict]:
    """One row per pipeline step, for a table: is the knob on, how many tokens remain, what it did."""
    rows = []
    for step in t.steps:
        rows.append({"step": step.name, "on": step.active, "tokens still possible": step.kept,
                     "removed here": int(step.removed_mask.sum()), "logits changed here": int(step.changed_mask.sum()),
                     "top token's chance": float(step.probs.max())})
    return rows
