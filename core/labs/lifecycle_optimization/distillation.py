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
temperatures. The soft term compares them with the student's softmax over the whole vocabulary
(`sparse_soft_loss`), so the student is also pushed away from tokens outside the teacher's top k.
"""
from __future__ import annotations

import copy
import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


def sparse_soft_loss(student_logits: torch.Tensor, top_ids: torch.Tensor, top_logits: torch.Tensor,
                     temperature: float) -> torch.Tensor:
    """T² · KL(teacher_T ‖ student_T) when only the teacher's top-k logits per position were kept: the teacher's
    softened distribution over its k ids (renormalised) against the student's softmax over the FULL vocabulary, so
    mass the student puts anywhere else is pushed back (a softmax over the k ids alone would not see it).
    student_logits (N, V); top_ids, top_logits (N, k). With k = V it is exactly `distillation_loss`'s soft term."""
    t = temperature
    teacher = soft_labels(top_logits, t)
    log_student = F.log_softmax(student_logits.float() / t, dim=-1).gather(-1, top_ids)
    return (teacher * (torch.log(teacher.clamp_min(1e-30)) - log_student)).sum(-1).mean() * t * t


def make_student(teacher: torch.nn.Module, layers=STUDENT_LAYERS) -> torch.nn.Module:
    """A new model with `layers` of the teacher (same width and tokenizer), embeddings frozen and tied."""

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
        flat = logits.reshape(-1, logits.shape[-1])
        k = labels.top_ids.shape[-1]
        hard = F.cross_entropy(flat.float(), rows[:, 1:].reshape(-1))
        if alpha > 0:
            soft = sparse_soft_loss(flat, labels.top_ids[pick].reshape(-1, k), labels.top_logits[pick].reshape(-1, k),
                                    temperature)
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



# ------------------------------------------------------------------------------------------------- the race (page 10)

# The student: SmolLM2 with half its layers removed, chosen greedily by measurement (bench/lifecycle.py --layers):
# at each round the layer whose removal hurt least (perplexity on lesson 2's text) went. Cutting layers this way
# and then distilling is how e.g. NVIDIA's Minitron models were made. Held-out perplexity of the cut model: 393
# against the teacher's 45 (30 → 15 layers); taking every other layer instead gives 695,000.
PRUNED_LAYERS = (0, 1, 2, 7, 8, 9, 10, 11, 21, 22, 23, 24, 27, 28, 29)
TRAIN_ROWS = 16                  # 16 × 64 = 1,024 tokens of the lessons: little data is where soft labels shine
HELD_OUT_ROWS = 8


@dataclass(frozen=True)
class RaceSettings:
    steps: int = 30
    temperature: float = 1.0
    alpha: float = 0.9
    lr: float = 3e-4
    seed: int = 0


@dataclass
class StudentResult:
    name: str                        # "distilled" or "hard labels only"
    run: Run
    perplexity: float = math.nan     # on the held-out text
    kl: float = math.nan             # KL(teacher ‖ student) per token on the held-out text
    top1: float = math.nan           # share of positions where both pick the same next token
    tokens_per_second: float = math.nan
    bytes: int = 0
    # KL to the teacher on the probe text (page 10's frontier measures every variant on it)
    probe_kl: float = math.nan


@dataclass
class Race:
    settings: RaceSettings
    layers: tuple[int, ...] = PRUNED_LAYERS
    teacher_layers: int = 0
    teacher_parameters: int = 0
    student_parameters: int = 0
    teacher: StudentResult | None = None      # the teacher measured the same way (KL 0, top-1 100 %)
    untrained: StudentResult | None = None    # the cut model before any training
    students: list[StudentResult] = field(default_factory=list)
    combined: StudentResult | None = None     # the distilled student quantized to int8 (CPU kernels), a combination
    phase: str = "starting"
    state: str = "running"
    seconds: float = 0.0


def check_race(settings: RaceSettings) -> RaceSettings:
    check_settings(settings.temperature, settings.alpha, settings.steps)
    lr = settings.lr
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 0.1:
        raise DistillationError("The learning rate must be above 0 and at most 0.1.")
    if settings.alpha == 0:
        raise DistillationError("With α = 0 the distilled student would be the hard-label baseline: choose α > 0.")
    return settings


@torch.no_grad()
def agreement(teacher_logprobs: list[torch.Tensor], model: torch.nn.Module, rows: torch.Tensor) -> tuple[float, float]:
    """(mean KL(teacher ‖ model) per token, top-1 agreement) on the rows, given the teacher's log-probs per row."""
    kl = top = 0.0
    for lp, row in zip(teacher_logprobs, rows):
        lq = F.log_softmax(model(input_ids=row[None, :-1]).logits[0].float(), dim=-1)
        kl += float((lp.exp() * (lp - lq)).sum(-1).mean())
        top += float((lp.argmax(-1) == lq.argmax(-1)).float().mean())
    return kl / len(rows), top / len(rows)


@torch.no_grad()
def reading_speed(model: torch.nn.Module, ids: torch.Tensor, repeats: int = 2) -> float:
    """Tokens per second of one forward pass over `ids` (1, n), best of `repeats`."""
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        model(input_ids=ids)
        best = min(best, time.perf_counter() - started)
    return ids.shape[1] / best


def stored_bytes(model: torch.nn.Module) -> int:
    """Bytes of the state dict as saved (tied weights once)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def corpus() -> tuple[str, str]:
    """(training text, held-out text): the app's lessons 1–9 (demo markers removed) and the encyclopedic text the
    fine-tuning lab uses for forgetting, which no lesson contains."""
    root = Path(__file__).resolve().parents[3] / "lessons"
    lessons = [re.sub(r"<!--.*?-->", "", p.read_text(encoding="utf-8")) for p in sorted(root.glob("0[1-9]_*.md"))]
    held = (root / "data" / "fine_tuning" / "general_text.md").read_text(encoding="utf-8")
    return "\n\n".join(lessons), held


def run_race(make_teacher: Callable[[], torch.nn.Module], train_ids: list[int], held_ids: list[int],
             settings: RaceSettings = RaceSettings(), *, layers: tuple[int, ...] = PRUNED_LAYERS,
             probe_ids: list[int] | None = None, update: Callable[[Race], None] = lambda r: None,
             cancelled: Callable[[], bool] = lambda: False) -> Race:
    """Cut a student from a private teacher copy, then train two copies of it on the same batches: one on the
    teacher's soft labels (+ hard labels, weight 1 − α), one on the hard labels only. Measure both, the cut model
    and the teacher the same way on held-out text."""
    check_race(settings)
    started = time.perf_counter()
    race = Race(settings, layers=tuple(layers))
    race.phase = "copying the teacher"
    update(race)
    teacher = make_teacher().eval()
    race.teacher_layers = teacher.config.num_hidden_layers
    race.teacher_parameters = sum(p.numel() for p in teacher.parameters())
    rows = batches(train_ids)[:TRAIN_ROWS]
    held = batches(held_ids)[:HELD_OUT_ROWS]
    probe = torch.tensor([probe_ids]) if probe_ids else held[0:1, :-1]
    race.phase = "the teacher labels the training text (soft labels, top 64 per position)"
    update(race)
    labels = teacher_labels(teacher, rows)
    with torch.no_grad():
        teacher_lp = [F.log_softmax(teacher(input_ids=row[None, :-1]).logits[0].float(), dim=-1) for row in held]
        probe_lp = F.log_softmax(teacher(input_ids=probe).logits[0].float(), dim=-1)

    def measure(result: StudentResult, model: torch.nn.Module) -> StudentResult:
        model.eval()
        result.perplexity = perplexity(model, held)
        result.kl, result.top1 = agreement(teacher_lp, model, held)
        result.tokens_per_second = reading_speed(model, probe)
        with torch.no_grad():
            lq = F.log_softmax(model(input_ids=probe).logits[0].float(), dim=-1)
        result.probe_kl = max(float((probe_lp.exp() * (probe_lp - lq)).sum(-1).mean()), 0.0)
        result.bytes = stored_bytes(model)
        return result

    race.teacher = measure(StudentResult("teacher (SmolLM2-135M)", Run("teacher")), teacher)
    student = make_student(teacher, race.layers)
    race.student_parameters = sum(p.numel() for p in student.parameters())
    race.untrained = measure(StudentResult("cut, before training", Run("cut")), student)
    del student
    for name, alpha in (("distilled", settings.alpha), ("hard labels only", 0.0)):
        if cancelled():
            race.state = "cancelled"
            break
        race.phase = f"training the student on {'soft + hard labels' if alpha else 'hard labels only'}"
        update(race)
        student = make_student(teacher, race.layers)
        result = StudentResult(name, Run(name))
        race.students.append(result)

        def step(run: Run, result=result) -> None:
            result.run = run
            update(race)

        result.run = train(student, labels, list(range(len(rows))), held, settings.steps, settings.temperature,
                           alpha, name, lr=settings.lr, seed=settings.seed, every=max(settings.steps // 3, 1),
                           on_step=step, cancelled=cancelled)
        if result.run.cancelled:
            race.state = "cancelled"
            break
        race.phase = f"measuring the {name} student"
        update(race)
        measure(result, student)
        if alpha and next(student.parameters()).device.type == "cpu":
            race.phase = "quantizing the distilled student to int8"
            update(race)
            from core.labs.lifecycle_optimization import kernels
            try:
                quantized = kernels.build(student, kernels.VARIANTS[3])
                race.combined = measure(StudentResult("distilled + INT8", result.run), quantized)
                del quantized
            except kernels.KernelError:
                race.combined = None
        del student
    if race.state == "running":
        race.state = "done"
    race.phase = race.state
    race.seconds = time.perf_counter() - started
    update(race)
    return race
