"""One training run on page 7: AdamW on the graded (completion) tokens of instruction examples, with a held-out loss,
measured speed and measured memory, a cancel check between steps, and divergence reported instead of raised.

Every method trains on the same batches: the order of examples comes from the seed alone. Memory is measured from the
tensors themselves on the first step — weights, gradients, Adam's states and the activations autograd saves for the
backward pass (counted with `torch.autograd.graph.saved_tensors_hooks`) — so the number is the same on every machine
and can stand next to the deck's rule of thumb. A process's resident memory would also count the allocator's caches.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from core.labs.fine_tuning_peft.data import Encoded

MAX_STEPS = 500
MAX_BATCH = 32
HELD_OUT_ROWS = 8


class TrainingError(ValueError):
    """Settings that cannot train; the message is one sentence for the learner."""


@dataclass
class Run:
    """A run's live record: read by the page while the run goes on, kept as the result afterwards."""
    title: str
    steps_planned: int
    trainable: int = 0
    total: int = 0
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    held_out: list[tuple[int, float]] = field(default_factory=list)       # (step, loss) including step 0
    train_seconds: float = 0.0
    tokens: int = 0
    memory: dict[str, float] = field(default_factory=dict)               # measured bytes by component
    state: str = "running"               # running, done, cancelled, diverged
    note: str = ""

    @property
    def seconds_per_step(self) -> float:
        return self.train_seconds / len(self.steps) if self.steps else float("nan")

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.train_seconds if self.train_seconds else float("nan")

    @property
    def share(self) -> float:
        return self.trainable / self.total if self.total else 0.0


def check_steps(steps, batch) -> tuple[int, int]:
    for name, value, top in (("steps", steps, MAX_STEPS), ("batch size", batch, MAX_BATCH)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise TrainingError(f"The number of {name} must be a whole number from 1 to {top}.")
    return steps, batch


def collate(rows: Sequence[Encoded], pad_id: int, device="cpu") -> dict[str, torch.Tensor]:
    """Right-padded input ids, attention mask, and labels that are -100 except on graded tokens."""
    width = max(len(r.ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r.ids)
        ids[i, :n] = torch.tensor(r.ids)
        mask[i, :n] = 1
        graded = torch.tensor(r.graded)
        labels[i, :n] = torch.where(graded, torch.tensor(r.ids), torch.tensor(-100))
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def schedule(n_examples: int, steps: int, batch: int, seed: int) -> list[list[int]]:
    """The example indices of each step: seeded epochs without replacement, the same for every method."""
    if n_examples < 1:
        raise TrainingError("There are no training examples.")
    rng = random.Random(seed)
    order: list[int] = []
    out = []
    for _ in range(steps):
        picked = []
        while len(picked) < min(batch, n_examples):
            if not order:
                order = list(range(n_examples))
                rng.shuffle(order)
            picked.append(order.pop())
        out.append(picked)
    return out


def _tensor_bytes(tensors) -> float:
    seen, total = set(), 0
    for t in tensors:
        if t is None:
            continue
        key = (t.untyped_storage().data_ptr(), t.device)
        if key in seen:
            continue
        seen.add(key)
        total += t.untyped_storage().nbytes()
    return float(total)


@torch.no_grad()
def held_out_loss(model: torch.nn.Module, rows: Sequence[Encoded], pad_id: int, batch: int = 8) -> float:
    """Mean cross-entropy per graded token over `rows`, with dropout off."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    try:
        for i in range(0, len(rows), batch):
            chunk = rows[i:i + batch]
            n = sum(sum(r.graded) for r in chunk)
            out = model(**collate(chunk, pad_id, device))
            total += float(out.loss) * n
            count += n
    finally:
        model.train(was_training)
    return total / max(count, 1)


def train(model: torch.nn.Module, train_rows: Sequence[Encoded], held_rows: Sequence[Encoded], *, title: str,
          lr: float, steps: int, batch: int, seed: int, pad_id: int, eval_every: int = 5,
          on_step: Callable[[Run], None] = lambda run: None, cancelled: Callable[[], bool] = lambda: False,
          run: Run | None = None) -> Run:
    """Train `model` (its trainable parameters) in place; returns the Run, also when cancelled or diverged."""
    check_steps(steps, batch)
    if not train_rows:
        raise TrainingError("There are no training examples.")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise TrainingError("This method left nothing to train.")
    torch.manual_seed(seed)
    device = params[0].device
    run = run or Run(title, steps)
    run.trainable = sum(p.numel() for p in params)
    run.total = sum(p.numel() for p in model.parameters())
    held_rows = list(held_rows)[:HELD_OUT_ROWS]
    if held_rows:
        run.held_out.append((0, held_out_loss(model, held_rows, pad_id)))
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    first_loss = None
    for step, picked in enumerate(schedule(len(train_rows), steps, batch, seed), start=1):
        if cancelled():
            run.state, run.note = "cancelled", f"Cancelled after {step - 1} steps."
            break
        inputs = collate([train_rows[i] for i in picked], pad_id, device)
        started = time.perf_counter()
        if step == 1:
            saved: list[torch.Tensor] = []
            param_ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}

            def pack(t):
                if t.untyped_storage().data_ptr() not in param_ptrs:
                    saved.append(t)
                return t
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                loss = model(**inputs).loss
            run.memory["activations"] = _tensor_bytes(saved)
            del saved
        else:
            loss = model(**inputs).loss
        value = float(loss.detach())
        if not math.isfinite(value) or (first_loss is not None and value > max(3 * first_loss, first_loss + 10)):
            run.steps.append(step)
            run.train_loss.append(value if math.isfinite(value) else float("nan"))
            run.state = "diverged"
            run.note = (f"Diverged at step {step}: the loss went from {first_loss:.2f} to {value:.3g}. The learning "
                        "rate is too large: each update overshoots." if first_loss is not None else
                        f"The loss is {value} at the first step.")
            break
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        if step == 1:
            run.memory["gradients"] = _tensor_bytes(p.grad for p in params)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step == 1:
            run.memory["weights"] = _tensor_bytes(model.parameters())
            run.memory["optimizer (Adam)"] = _tensor_bytes(
                v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v) and v.dim())
        run.train_seconds += time.perf_counter() - started
        run.tokens += int(inputs["attention_mask"].sum())
        first_loss = value if first_loss is None else first_loss
        run.steps.append(step)
        run.train_loss.append(value)
        if held_rows and (step % eval_every == 0 or step == steps):
            run.held_out.append((step, held_out_loss(model, held_rows, pad_id)))
        on_step(run)
    else:
        run.state = "done"
    model.eval()
    del optimizer
    return run
