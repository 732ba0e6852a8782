"""LoRA adapters as files on page 7: save, load back, merge, and swap two of them on one base model.

An adapter is peft's `adapter_model.safetensors` plus `adapter_config.json`: a few megabytes next to the full
model's 538 MB. Merging adds B·A (scaled by α / r) into W once, so the merged model computes the same logits as
base + adapter and runs at the base model's speed; `merge_check` measures both claims.
"""
from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from core.labs.fine_tuning_peft import data
from core.labs.fine_tuning_peft.data import prompt_ids
from core.labs.fine_tuning_peft.methods import Method


@dataclass(frozen=True)
class Saved:
    folder: Path
    files: dict[str, int]        # file name -> bytes

    @property
    def bytes(self) -> int:
        return sum(self.files.values())


def lora_model(base: torch.nn.Module, method: Method, state: dict | None = None, name: str = "default"):
    """`base` (a private copy) wrapped with a LoRA adapter named `name`, its weights set from `state` if given."""
    from peft import LoraConfig, TaskType, get_peft_model, set_peft_model_state_dict
    config = LoraConfig(r=int(method.rank), lora_alpha=float(method.alpha), lora_dropout=0.0,
                        target_modules=list(method.targets), task_type=TaskType.CAUSAL_LM)
    model = get_peft_model(base, config, adapter_name=name)
    if state is not None:
        set_peft_model_state_dict(model, state, adapter_name=name)
    return model.eval()


def save(model, folder: Path | str) -> Saved:
    """Write the active adapter with peft's `save_pretrained` (safetensors)."""
    folder = Path(folder)
    model.save_pretrained(str(folder), safe_serialization=True)
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            files[str(path.relative_to(folder))] = path.stat().st_size
    return Saved(folder, files)


def load(base: torch.nn.Module, folder: Path | str, name: str = "default"):
    """A fresh base copy with the saved adapter loaded from `folder`."""
    from peft import PeftModel
    return PeftModel.from_pretrained(base, str(folder), adapter_name=name).eval()


def add(model, folder: Path | str, name: str) -> None:
    """Load a second adapter into the same peft model (switch with `model.set_adapter(name)`)."""
    model.load_adapter(str(folder), adapter_name=name)


def zipped(saved: Saved) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in saved.files:
            z.write(saved.folder / name, name)
    return buffer.getvalue()


@torch.inference_mode()
def logits(model, ids: Sequence[int]) -> torch.Tensor:
    x = torch.tensor([list(ids)], device=next(model.parameters()).device)
    return model(input_ids=x).logits[0].float().cpu()


def _ms_per_forward(model, ids: Sequence[int], repeats: int = 3) -> float:
    logits(model, ids)                                          # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        logits(model, ids)
    return (time.perf_counter() - started) / repeats * 1000


@dataclass(frozen=True)
class MergeCheck:
    max_abs_difference: float    # merged vs base + adapter, over every logit of the probe text
    adapter_change: float        # base + adapter vs base: how much the adapter moves the logits at all
    ms_base: float
    ms_adapter: float
    ms_merged: float
    parameters_merged: int
    parameters_base: int


def merge_check(model, ids: Sequence[int]) -> MergeCheck:
    """Compare base + adapter with the merged model on `ids`; `model` is a peft LoRA model (consumed: merged)."""
    with model.disable_adapter():
        base_logits = logits(model, ids)
        ms_base = _ms_per_forward(model, ids)
    adapter_logits = logits(model, ids)
    ms_adapter = _ms_per_forward(model, ids)
    base_params = sum(p.numel() for n, p in model.named_parameters() if "lora_" not in n)
    merged = model.merge_and_unload()
    merged_logits = logits(merged, ids)
    return MergeCheck(float((merged_logits - adapter_logits).abs().max()),
                      float((adapter_logits - base_logits).abs().max()), ms_base, ms_adapter,
                      _ms_per_forward(merged, ids), sum(p.numel() for p in merged.parameters()), base_params)


# ------------------------------------------------------------------------------------------- two adapters, swapped

@dataclass
class Swap:
    """Two LoRA adapters trained on the two review tasks, saved as files, loaded back onto one fresh base copy."""
    saved: dict[str, Saved]
    reload_difference: float                 # max |logit| difference, trained in memory vs loaded from files
    replies: list[dict]                      # per review: text, original, and each adapter's first word
    merge: MergeCheck | None
    losses: dict[str, list[float]]
    seconds: float
    phase: str = ""
    zipped: dict[str, bytes] | None = None


def swap_demo(make_copy, tokenizer, folder: Path | str, *, steps: int = 12, batch: int = 4, seed: int = 0,
              reviews: int = 4, update=lambda phase: None, cancelled=lambda: False) -> Swap | None:
    """Train a "sentiment" and an "aspect" LoRA adapter on one base copy, save both, load them onto a second copy
    and switch between them; then merge one and check it. None when cancelled."""
    from core.labs.fine_tuning_peft import training
    from core.labs.fine_tuning_peft.race import DEFAULT_METHODS
    started = time.perf_counter()
    method = next(m for m in DEFAULT_METHODS if m.kind == "lora")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    folder = Path(folder)
    saved, losses, trained_logits = {}, {}, {}
    probe = data.prompt_ids(tokenizer, data.task_examples("sentiment", "test")[0].prompt)
    model = None
    for task in ("sentiment", "aspect"):
        update(f"Training the {task} adapter")
        rows = [data.encode(tokenizer, e) for e in data.task_examples(task, "train")]
        if model is None:
            model = lora_model(make_copy(), method, name=task)
        else:
            from peft import LoraConfig, TaskType
            model.add_adapter(task, LoraConfig(r=method.rank, lora_alpha=method.alpha, lora_dropout=0.0,
                                               target_modules=list(method.targets), task_type=TaskType.CAUSAL_LM))
            model.set_adapter(task)
        for name, p in model.named_parameters():
            p.requires_grad_(f"lora_A.{task}." in name or f"lora_B.{task}." in name)
        run = training.train(model, rows, [], title=task, lr=method.lr, steps=steps, batch=batch, seed=seed,
                             pad_id=pad, cancelled=cancelled)
        if run.state == "cancelled":
            return None
        losses[task] = run.train_loss
        trained_logits[task] = logits(model, probe)
        update(f"Saving the {task} adapter")
        model.set_adapter(task)
        saved[task] = save_named(model, task, folder / task)
    del model
    update("Loading both adapters onto a fresh copy of the model")
    fresh = load(make_copy(), saved["sentiment"].folder / "sentiment", name="sentiment")
    add(fresh, saved["aspect"].folder / "aspect", name="aspect")
    difference = 0.0
    for task in ("sentiment", "aspect"):
        fresh.set_adapter(task)
        difference = max(difference, float((logits(fresh, probe) - trained_logits[task]).abs().max()))
    update("Switching adapters on the same reviews")
    replies = []
    for example in data.task_examples("sentiment", "test")[:reviews]:
        text = example.prompt.split("\n", 1)[1]
        row = {}
        with fresh.disable_adapter():
            row["original, asked for sentiment"] = _first_word(fresh, tokenizer, example.prompt)
        for task in ("sentiment", "aspect"):
            fresh.set_adapter(task)
            prompt = data.task_prompt(data.TASKS[task], text)
            row[f"{task} adapter"] = _first_word(fresh, tokenizer, prompt)
        row["review"] = text                      # last: the long column
        replies.append(row)
    update("Merging the sentiment adapter into the weights")
    fresh.set_adapter("sentiment")
    fresh.delete_adapter("aspect")
    merge = merge_check(fresh, probe)
    return Swap(saved, difference, replies, merge, losses, time.perf_counter() - started,
                zipped={t: zipped(s) for t, s in saved.items()})


def save_named(model, name: str, folder: Path) -> Saved:
    """Save adapter `name` (peft writes it under folder/name/ for a non-default adapter name)."""
    model.save_pretrained(str(folder), selected_adapters=[name], safe_serialization=True)
    files = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    return Saved(folder, files)


@torch.inference_mode()
def _first_word(model, tokenizer, prompt: str) -> str:
    scores = logits(model, prompt_ids(tokenizer, prompt))[-1]
    top = int(scores.argmax())
    return tokenizer.decode([top]).strip() or repr(tokenizer.decode([top]))
