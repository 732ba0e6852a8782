"""Page 7's race: several fine-tuning methods trained on the same data, steps, batches and seed, each on its own
private copy of SmolLM2, then scored on the task and on general skills (catastrophic forgetting).

The "before" scores come from the first copy before any method touches it (the shared model is never used for
training or scoring here, so a room's generations never wait behind a race). A method that is cancelled stops the
race; one that diverges is scored anyway, so the page can show what a too-large learning rate did.
"""
from __future__ import annotations

import gc
import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from core.labs.fine_tuning_peft import data, evaluation, methods, training
from core.labs.fine_tuning_peft.methods import Method

DEFAULT_METHODS = (Method("full", lr=1e-4), Method("lora", lr=2e-3), Method("prompt", lr=3e-2))
DEFAULT_STEPS = 12
DEFAULT_BATCH = 4
TASK_TEST_ROWS = 24              # held-out reviews scored before and after (balanced by label)
GENERAL_TEST_ROWS = 16           # general questions scored before and after
PERPLEXITY_TOKENS = 256
SAMPLES = 2                      # task prompts and general questions shown side by side
SAMPLE_TOKENS = 10
EVAL_EVERY = 4


@dataclass(frozen=True)
class RaceSettings:
    task: str = "sentiment"          # a key of data.TASKS, or "upload" for the learner's own pairs
    steps: int = DEFAULT_STEPS
    batch: int = DEFAULT_BATCH
    seed: int = 0
    general_share: float = 0.0       # share of general examples mixed into the training data
    methods: tuple[Method, ...] = DEFAULT_METHODS


@dataclass
class Outcome:
    method: Method
    run: training.Run
    after: evaluation.Scores | None = None
    samples: tuple[str, ...] = ()
    eval_seconds: float = 0.0
    adapter: dict | None = None      # peft's state dict (LoRA matrices or the soft prompt), on the CPU
    adapter_config: dict | None = None   # peft's config for it (what adapter_config.json holds)
    zipped: bytes | None = field(default=None, repr=False)   # adapter_file's bytes, made once

    def adapter_zip(self) -> bytes | None:
        """adapter_file(self), made on first use and kept (every viewer of the race offers the same file)."""
        if self.zipped is None:
            self.zipped = adapter_file(self)
        return self.zipped


@dataclass
class Race:
    settings: RaceSettings
    sample_prompts: tuple[str, ...] = ()
    before: evaluation.Scores | None = None
    before_samples: tuple[str, ...] = ()
    outcomes: list[Outcome] = field(default_factory=list)
    phase: str = "starting"
    seconds: float = 0.0
    state: str = "running"           # running, done, cancelled


@dataclass(frozen=True)
class Workload:
    train: list[data.Encoded]
    held: list[data.Encoded]
    task_examples: list[data.Example]
    labels: tuple[str, ...]
    questions: list[data.Question]
    text_ids: list[int]
    sample_prompts: tuple[str, ...]


def _balanced(examples: list[data.Example], n: int) -> list[data.Example]:
    by_label: dict[str, list[data.Example]] = {}
    for e in examples:
        by_label.setdefault(e.completion, []).append(e)
    out: list[data.Example] = []
    while len(out) < min(n, len(examples)):
        for group in by_label.values():
            if group and len(out) < n:
                out.append(group.pop(0))
    return out


def workload(tokenizer, settings: RaceSettings, uploaded: list[data.Example] | None = None) -> Workload:
    """The encoded training and held-out rows and the evaluation sets of a race."""
    if settings.task == "upload":
        if not uploaded:
            raise data.DataError("Upload a file of prompt/completion pairs first.")
        train_ex, test_ex = data.split(uploaded, seed=settings.seed)
        task_ex, labels = [], ()
    else:
        task = data.TASKS[settings.task]
        train_ex, test_ex = data.task_examples(task.key, "train"), data.task_examples(task.key, "test")
        task_ex, labels = _balanced(test_ex, TASK_TEST_ROWS), task.labels
    train_ex = data.mixed(train_ex, data.general_examples("train"), settings.general_share, settings.seed)
    questions = data.general_questions("test")[:GENERAL_TEST_ROWS]
    text_ids = tokenizer(data.general_text(), add_special_tokens=False)["input_ids"][:PERPLEXITY_TOKENS]
    samples = tuple(e.prompt for e in (task_ex or test_ex)[:1]) + tuple(q.question for q in questions[:SAMPLES])
    return Workload([data.encode(tokenizer, e) for e in train_ex], [data.encode(tokenizer, e) for e in test_ex],
                    task_ex, labels, questions, list(text_ids), samples)


def score(model, tokenizer, work: Workload) -> tuple[evaluation.Scores, tuple[str, ...]]:
    task = evaluation.task_score(model, tokenizer, work.task_examples, work.labels) if work.task_examples else None
    scores = evaluation.Scores(task, evaluation.general_score(model, tokenizer, work.questions),
                               evaluation.perplexity(model, work.text_ids))
    samples = tuple(evaluation.complete(model, tokenizer, p, SAMPLE_TOKENS) for p in work.sample_prompts)
    return scores, samples


def _adapter_state(model) -> dict | None:
    if not hasattr(model, "peft_config"):
        return None
    from peft import get_peft_model_state_dict
    return {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(model).items()}


def _adapter_config(model) -> dict | None:
    if not hasattr(model, "peft_config"):
        return None
    config = model.peft_config["default"].to_dict()
    return {k: sorted(v) if isinstance(v, set) else v for k, v in config.items()}


BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def adapter_file(outcome: Outcome, base_model: str = BASE_MODEL) -> bytes | None:
    """The trained adapter as peft saves it, zipped: adapter_config.json and adapter_model.safetensors (load it with
    `PeftModel.from_pretrained(base, folder)`), or None for full fine-tuning (no adapter: the whole model changed)."""
    if outcome.adapter is None or outcome.adapter_config is None:
        return None

    from safetensors.torch import save as safetensors_bytes

    config = dict(outcome.adapter_config, base_model_name_or_path=base_model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("adapter_config.json", json.dumps(config, indent=2, default=str))
        z.writestr("adapter_model.safetensors",
                   safetensors_bytes({k: v.contiguous() for k, v in outcome.adapter.items()}))
    return buffer.getvalue()


def run_race(make_copy: Callable[[], torch.nn.Module], tokenizer, settings: RaceSettings, *,
             uploaded: list[data.Example] | None = None,
             before: tuple[evaluation.Scores, tuple[str, ...]] | None = None,
             update: Callable[[Race], None] = lambda race: None,
             cancelled: Callable[[], bool] = lambda: False) -> Race:
    """Train and score every method of `settings` in turn; `update` is called after every step and phase."""
    started = time.perf_counter()
    training.check_steps(settings.steps, settings.batch)
    if not settings.methods:
        raise training.TrainingError("Choose at least one method to race.")
    work = workload(tokenizer, settings, uploaded)
    race = Race(settings, work.sample_prompts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def tick(phase: str) -> None:
        race.phase, race.seconds = phase, time.perf_counter() - started
        update(race)

    for index, method in enumerate(settings.methods):
        if cancelled():
            race.state = "cancelled"
            break
        tick(f"Copying the model for {method.title}")
        model = make_copy()
        methods.check(method, model.config)
        if index == 0:
            if before is None:
                tick("Scoring the original model")
                before = score(model, tokenizer, work)
            race.before, race.before_samples = before
        model = methods.apply(model, method, tokenizer, seed=settings.seed)
        outcome = Outcome(method, training.Run(method.title, settings.steps))
        race.outcomes.append(outcome)
        tick(f"Training: {method.title}")
        training.train(model, work.train, work.held, title=method.title, lr=method.lr, steps=settings.steps,
                       batch=settings.batch, seed=settings.seed, pad_id=pad, run=outcome.run, eval_every=EVAL_EVERY,
                       on_step=lambda run: tick(f"Training: {method.title}"), cancelled=cancelled)
        if outcome.run.state == "cancelled":
            race.state = "cancelled"
            del model
            break
        tick(f"Scoring: {method.title}")
        t0 = time.perf_counter()
        outcome.after, outcome.samples = score(model, tokenizer, work)
        outcome.eval_seconds = time.perf_counter() - t0
        outcome.adapter = _adapter_state(model)
        outcome.adapter_config = _adapter_config(model)
        del model
        gc.collect()
    else:
        race.state = "done"
    tick("Finished" if race.state == "done" else "Cancelled")
    return race
