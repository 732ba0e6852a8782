"""Page 7's fine-tuning methods, applied to a private copy of SmolLM2 (the shared model never changes).

- full: every weight trains (134.5 M parameters);
- selective: only the last N decoder layers and the final norm train (the deck's "selective" PEFT family);
- LoRA (reparameterization): peft wraps the chosen projections with A (r × k) and B (d × r); W stays frozen;
- prompt tuning (additive): peft prepends N trainable vectors to the input; every weight stays frozen. Initialised
  from a text's token embeddings (repeated to N), the usual recipe, done here so nothing is downloaded.

The counts on the page are the same as peft's own `get_nb_trainable_parameters` (tests check it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
KINDS = ("full", "selective", "lora", "prompt")
TITLES = {"full": "Full fine-tuning", "selective": "Selective (last layers)", "lora": "LoRA",
          "prompt": "Prompt tuning"}
MAX_LR = 1e3
MAX_VIRTUAL_TOKENS = 100
DEFAULT_INIT_TEXT = "Read the review and answer with the single word asked for."


class MethodError(ValueError):
    """Settings a method cannot train with; the message is one sentence for the learner."""


@dataclass(frozen=True)
class Method:
    kind: str
    lr: float
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    virtual_tokens: int = 20
    init_text: str = DEFAULT_INIT_TEXT
    last_layers: int = 2

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    def describe(self) -> str:
        if self.kind == "lora":
            return f"r = {self.rank}, α = {self.alpha:g}, {', '.join(self.targets)}, lr {self.lr:g}"
        if self.kind == "prompt":
            return f"{self.virtual_tokens} virtual tokens, lr {self.lr:g}"
        if self.kind == "selective":
            return f"last {self.last_layers} layers, lr {self.lr:g}"
        return f"lr {self.lr:g}"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def module_shapes(config) -> dict[str, tuple[int, int]]:
    """(d_out, k_in) of each projection LoRA can target, from a Llama-style config."""
    h, i = config.hidden_size, config.intermediate_size
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or h // heads
    kv = config.num_key_value_heads * head_dim
    return {"q_proj": (heads * head_dim, h), "k_proj": (kv, h), "v_proj": (kv, h), "o_proj": (h, heads * head_dim),
            "gate_proj": (i, h), "up_proj": (i, h), "down_proj": (h, i)}


def check(method: Method, config) -> Method:
    """The method if it can train on a model with this config; MethodError says why not."""
    if method.kind not in KINDS:
        raise MethodError(f"Unknown method {method.kind!r}.")
    lr = method.lr
    if not _is_number(lr) or not math.isfinite(lr):
        raise MethodError("The learning rate must be a number.")
    if lr <= 0:
        raise MethodError("The learning rate must be above 0: at 0 nothing changes, below 0 training climbs the loss.")
    if lr > MAX_LR:
        raise MethodError(f"A learning rate above {MAX_LR:g} is refused.")
    if method.kind == "lora":
        if not _is_number(method.rank) or method.rank != int(method.rank) or method.rank < 1:
            raise MethodError("The LoRA rank must be a whole number of at least 1.")
        if not method.targets:
            raise MethodError("Choose at least one module for LoRA to adapt.")
        shapes = module_shapes(config)
        unknown = [t for t in method.targets if t not in shapes]
        if unknown:
            raise MethodError(f"{unknown[0]} is not a module of this model.")
        smallest = min(min(shapes[t]) for t in method.targets)
        if method.rank > smallest:
            raise MethodError(f"Rank {int(method.rank)} is larger than the smallest chosen matrix side ({smallest}); "
                              "a low-rank update must have a rank below the matrix's.")
        if not _is_number(method.alpha) or not math.isfinite(method.alpha) or method.alpha <= 0:
            raise MethodError("LoRA's α must be a number above 0.")
        if not _is_number(method.dropout) or not 0 <= method.dropout < 1:
            raise MethodError("LoRA's dropout must be between 0 and 1.")
    if method.kind == "prompt":
        n = method.virtual_tokens
        if not _is_number(n) or n != int(n) or not 1 <= n <= MAX_VIRTUAL_TOKENS:
            raise MethodError(f"Prompt tuning needs 1 to {MAX_VIRTUAL_TOKENS} virtual tokens.")
    if method.kind == "selective":
        n = method.last_layers
        if not _is_number(n) or n != int(n) or not 1 <= n <= config.num_hidden_layers:
            raise MethodError(f"Selective tuning trains 1 to {config.num_hidden_layers} of the last layers.")
    return method


def lora_counts(d: int, k: int, r: int) -> tuple[int, int]:
    """(full parameters d·k, LoRA parameters r·(d + k)) of one d × k matrix: B is d × r, A is r × k."""
    for name, v in (("d", d), ("k", k), ("r", r)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise MethodError(f"{name} must be a whole number of at least 1.")
    if r > min(d, k):
        raise MethodError(f"A rank of {r} is larger than the matrix's smaller side ({min(d, k)}).")
    return d * k, r * (d + k)


@dataclass(frozen=True)
class ModuleRow:
    module: str
    shape: tuple[int, int]
    count: int                   # how many such matrices the model has (one per layer)
    full: int                    # their weights in total
    lora: int                    # LoRA parameters for all of them at rank r


def lora_table(config, rank: int, targets=LORA_TARGETS) -> list[ModuleRow]:
    shapes = module_shapes(config)
    layers = config.num_hidden_layers
    rows = []
    for t in targets:
        d, k = shapes[t]
        full, lora = lora_counts(d, k, min(rank, d, k))
        rows.append(ModuleRow(t, (d, k), layers, full * layers, lora * layers))
    return rows


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, all) parameters, each tensor counted once (tied embeddings are one tensor)."""
    trainable = total = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def _init_prompt(model, tokenizer, method: Method) -> None:
    """Copy the init text's token embeddings (repeated to the number of virtual tokens) into the soft prompt."""
    ids = tokenizer(method.init_text or DEFAULT_INIT_TEXT, add_special_tokens=False)["input_ids"] or [0]
    ids = (ids * (method.virtual_tokens // len(ids) + 1))[:method.virtual_tokens]
    vectors = model.get_input_embeddings().weight[torch.tensor(ids)].detach().clone()
    encoder = model.prompt_encoder[model.active_adapter]
    with torch.no_grad():
        encoder.embedding.weight.copy_(vectors)


def apply(model: torch.nn.Module, method: Method, tokenizer=None, seed: int = 0) -> torch.nn.Module:
    """The model made trainable by `method`, in place (peft wraps it for LoRA and prompt tuning).

    `model` must be a private copy: its weights are frozen first and only the method's parameters train. `seed`
    fixes LoRA's random A matrices, so the same settings train the same adapter."""
    check(method, model.config)
    torch.manual_seed(seed)
    model.requires_grad_(False)
    model.train()
    if method.kind == "full":
        model.requires_grad_(True)
        return model
    if method.kind == "selective":
        for layer in model.model.layers[-int(method.last_layers):]:
            layer.requires_grad_(True)
        model.model.norm.requires_grad_(True)
        return model
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model
    if method.kind == "lora":
        config = LoraConfig(r=int(method.rank), lora_alpha=float(method.alpha), lora_dropout=float(method.dropout),
                            target_modules=list(method.targets), task_type=TaskType.CAUSAL_LM)
        return get_peft_model(model, config)
    config = PromptTuningConfig(num_virtual_tokens=int(method.virtual_tokens), task_type=TaskType.CAUSAL_LM)
    tuned = get_peft_model(model, config)
    if tokenizer is not None:
        _init_prompt(tuned, tokenizer, method)
    return tuned


def deck_memory(method: Method, trainable: int, total: int) -> dict[str, float]:
    """The deck's rule of thumb, in bytes by component: 4 bytes per weight, 8 for Adam's two states and 4 for the
    gradient of each trainable parameter, and the high-end 8 bytes per parameter for activations (page 6)."""
    parts = {"weights": 4.0 * total, "optimizer (Adam)": 8.0 * trainable, "gradients": 4.0 * trainable,
             "activations (the rule's high end)": 8.0 * total}
    return parts
