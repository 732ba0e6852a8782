"""Knowledge distillation on page 10: a small student learns from SmolLM2's softened next-token distributions.

Teacher: SmolLM2-135M (never changed). Student: the same architecture with only a few of the teacher's layers
(`STUDENT_LAYERS`), its embeddings (frozen, tied to the output head as in the teacher) and final norm copied from
the teacher, so it shares the tokenizer and starts from sensible vectors; only its layers and norm train.

Loss (Hinton et al. 2015), per token:
    α · T² · KL( softmax(teacher / T) ‖ softmax(student / T) )  +  (1 − α) · cross-entropy(student, real next token)
T² keeps the soft term's gradients on the same scale as the hard term's as T grows. The baseline trains the same
student, on the same batches with the same seed, on the hard term alone (α = 0).

To fit the 2-core CPU, the teacher's logits for the training text are computed once and kept as the top
`TOP_K` logits per position (sparse soft labels): the rest of the vocabulary has a negligible share at these
temperatures, and the student's softmax is taken over the same top-k ids for the soft term.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

STUDENT_LAYERS = (0, 10, 20, 29)
TOP_K = 64
SEQ_LEN = 64
BATCH = 4


class DistillationError(ValueError):
    """Settings that cannot train (the message says which)."""


def check_settings(temperature, alpha, steps) -> tuple[float, float, int]:
    for name, value in (("temperature", temperature), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DistillationError(f"The {name} must be a number.")
    if not 0.5 <= temperature <= 20:
        raise DistillationError(f"The temperature must be between 0.5 and 20; got {temperature:g}. At 0 the soft "
                                "labels would be all-or-nothing, very large values make them flat.")
    if not 0 <= alpha <= 1:
        raise DistillationError("α (the share of the soft-label loss) must be between 0 and 1.")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1000:
        raise DistillationError("Training needs between 1 and 1,000 steps.")
    return float(temperature), float(alpha), int(steps)


def soft_labels(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T) over the last dimension."""
    if temperature <= 0:
        raise DistillationError("The temperature must be above 0.")
    return torch.softmax(logits.float() / temperature, dim=-1)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                      temperature: float, alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, soft, hard) for (N, V) student and teacher logits over the same V entries and (N,) targets (indices
    into those V entries; -100 where the real next token is not among them, ignored by the hard term)."""
    t = temperature
    log_student = F.log_softmax(student_logits.float() / t, dim=-1)
    teacher = soft_labels(teacher_logits, t)
    soft = (teacher * (torch.log(teacher.clamp_min(1e-30)) - log_student)).sum(-1).mean() * t * t
    hard = F.cross_entropy(student_logits.float(), targets, ignore_index=-100) \
        if (targets != -100).any() else student_logits.sum() * 0
    return alpha * soft + (1 - alpha) * hard, soft, hard


def make_student(teacher: torch.nn.Module, layers=STUDENT_LAYERS) -> torch.nn.Module:
    """A new model with `layers` of the teacher (same width and tokenizer), embeddings frozen and tied."""
    import copy

    from transformers import AutoModelForCausalLM
    if not layers or any(not 0 <= i < teacher.config.num_hidden_layers for i in layers):
        raise DistillationError("The student needs layers that exist in the teacher.")
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(layers)
    if getattr(config, "layer_types", None):
        config.layer_types = [config.layer_types[i] for i in layers]
    student = AutoModelForCausalLM.from_config(config)
    source = teacher.state_dict()
    target = {}
    for name in student.state_dict():
        if name.startswith("model.layers."):
            parts = name.split(".")
            parts[2] = str(layers[int(parts[2])])
            target[name] = source[".".join(parts)]
        else:
            target[name] = source[name]
    student.load_state_dict(target)
    student.tie_weights()
    student.get_input_embeddings().weight.requires_grad_(False)
    return student.float()


def batches(ids: list[int], seq_len: int = SEQ_LEN) -> torch.Tensor:
    """The token ids cut into (n, seq_len + 1) rows (input and shifted target share a row)."""
    n = (len(ids) - 1) // seq_len
    if n < 2:
        raise DistillationError("The training text is too short.")
    return torch.tensor(ids[:n * seq_len + 1]).unfold(0, seq_len + 1, seq_len)


@dataclass
class TeacherLabels:
    rows: torch.Tensor            # (n, seq_len + 1) token ids
    top_ids: torch.Tensor         # (n, seq_len, k) ids of the teacher's k largest logits per position
    top_logits: torch.Tensor      # (n, seq_len, k) those logits
    seconds: float


@torch.inference_mode()
def teacher_labels(teacher: torch.nn.Module, rows: torch.Tensor, k: int = TOP_K, batch: int = 8) -> TeacherLabels:
    started = time.perf_counter()
    ids, logits = [], []
    for i in range(0, len(rows), batch):
        out = teacher(input_ids=rows[i:i + batch, :-1]).logits.float()
        top = out.topk(k, dim=-1)
        ids.append(top.indices)
        logits.append(top.values)
    return TeacherLabels(rows, torch.cat(ids), torch.cat(logits), time.perf_counter() - started)


@torch.no_grad()
def perplexity(model: torch.nn.Module, rows: torch.Tensor) -> float:
    """exp(mean cross-entropy of the next token) over the rows."""
    total, count = 0.0, 0
    for row in rows:
        logits = model(input_ids=row[None, :-1]).logits[0].float()
        total += float(F.cross_entropy(logits, row[1:], reduction="sum"))
        count += row.numel() - 1
    return math.exp(total / max(count, 1))


@dataclass
class Run:
    name: str
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)         # the hard (cross-entropy) part, comparable across runs
    held_out: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False


def train(student: torch.nn.Module, labels: TeacherLabels, train_rows: list[int], held_out: torch.Tensor,
          steps: int, temperature: float, alpha: float, name: str, lr: float = 5e-4, seed: int = 0,
          every: int = 10, on_step: Callable[[Run], None] = lambda run: None,
          cancelled: Callable[[], bool] = lambda: False) -> Run:
    """Train in place; batches drawn with `seed`, so two runs with the same seed see the same batches."""
    temperature, alpha, steps = check_settings(temperature, alpha, steps)
    generator = torch.Generator().manual_seed(seed)
    params = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    run = Run(name)
    started = time.perf_counter()
    student.train()
    for step in range(1, steps + 1):
        if cancelled():
            run.cancelled = True
            break
        pick = torch.tensor(train_rows)[torch.randint(len(train_rows), (BATCH,), generator=generator)]
        rows = labels.rows[pick]
        logits = student(input_ids=rows[:, :-1]).logits                          # (B, S, V)
        top_ids = labels.top_ids[pick]                                           # (B, S, k)
        student_top = logits.gather(-1, top_ids).reshape(-1, top_ids.shape[-1])  # (B·S, k)
        teacher_top = labels.top_logits[pick].reshape(-1, top_ids.shape[-1])
        soft_targets = rows[:, 1:].reshape(-1)
        hard = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), soft_targets)
        if alpha > 0:
            _, soft, _ = distillation_loss(student_top, teacher_top, torch.full_like(soft_targets, -100),
                                           temperature, 1.0)
            loss = alpha * soft + (1 - alpha) * hard
        else:
            loss = hard
        if not torch.isfinite(loss):
            raise DistillationError("The loss became infinite or NaN: the learning rate is too high.")
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        run.steps.append(step)
        run.losses.append(float(hard.detach()))
        if step % every == 0 or step == steps:
            student.eval()
            run.held_out.append((step, perplexity(student, held_out)))
            student.train()
        on_step(run)
    student.eval()
    run.seconds = time.perf_counter() - started
    return run

