"""Pruning a private copy of SmolLM2 (page 10): unstructured magnitude pruning and structured MLP-channel pruning.

Unstructured: in every linear layer but the output head (tied to the embeddings), the `sparsity` share of weights
with the smallest magnitude is set to zero (the mask `torch.nn.utils.prune.l1_unstructured` would compute, applied
to the ordinary dense weight; tests/core/labs/lifecycle_optimization checks the two agree). The matrices keep their
shape, so nothing gets faster or smaller in memory: dense kernels multiply by zeros like by any other number.

Structured: in every decoder layer's MLP (gate_proj, up_proj: hidden → intermediate; down_proj: intermediate →
hidden) the least important intermediate channels are removed, so the three matrices really shrink. Importance is
measured two ways (channel_importance): by weight size alone, or by how active the channel is on sample text.
Or whole attention heads are removed (prune_attention_heads_): SmolLM2 has 9 query heads in 3 groups that share a
key/value head, so the same number of query heads goes from every group, ranked by how much each head actually
writes into the residual stream on sample text (head_importance); q_proj loses the heads' rows, o_proj their columns.

Every function here works on a copy the caller owns; `restore_` puts the reference's weights back into it so one
copy can be pruned at many sparsities without copying the model again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from core.serving.measure import compare_logits, forward_logits, model_bytes
from core.serving.settings import PROJECT_ROOT


class PruningError(ValueError):
    """Settings that cannot prune (the message says which)."""


def prunable_linears(model: torch.nn.Module) -> list[tuple[str, torch.nn.Linear]]:
    """(name, module) of every linear layer except the output head (its weight is the tied embedding table)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and m is not head]


def check_sparsity(sparsity) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or sparsity != sparsity:
        raise PruningError("Sparsity is a number between 0 and 0.99.")
    if not 0 <= sparsity < 1:
        raise PruningError(f"Sparsity must be at least 0 % and below 100 %; got {sparsity:.0%}. At 100 % every "
                           "weight would be zero and the model would predict the same thing for every text.")
    return float(sparsity)


@torch.no_grad()
def restore_(copy: torch.nn.Module, reference: torch.nn.Module) -> None:
    """Put the reference's linear weights back into the copy (same architecture, unpruned shapes)."""
    ref = dict(prunable_linears(reference))
    for name, module in prunable_linears(copy):
        module.weight.copy_(ref[name].weight)


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """True where a weight survives: exactly round(sparsity · n) of the smallest |w| are dropped, as
    `torch.nn.utils.prune.l1_unstructured` does. It finds the cut with `kthvalue` (linear time) instead of a
    top-k sort, ~6× faster on SmolLM2, and breaks ties by position: the GGUF-derived weights have only 16 levels
    per block of 32, so equal magnitudes are common."""
    flat = weight.detach().abs().flatten()
    k = round(sparsity * flat.numel())
    keep = torch.ones_like(flat, dtype=torch.bool)
    if k <= 0:
        return keep.view_as(weight)
    cut = flat.kthvalue(k).values
    below = flat < cut
    keep[below] = False
    missing = k - int(below.sum())
    if missing > 0:                                         # drop the first `missing` weights equal to the cut
        ties = torch.nonzero(flat == cut).flatten()[:missing]
        keep[ties] = False
    return keep.view_as(weight)


@torch.no_grad()
def magnitude_prune_(model: torch.nn.Module, sparsity: float) -> None:
    """Zero the `sparsity` share of smallest-magnitude weights in each prunable linear layer, in place."""
    sparsity = check_sparsity(sparsity)
    if sparsity == 0:
        return
    for _, module in prunable_linears(model):
        module.weight.mul_(magnitude_mask(module.weight, sparsity))


def sparsity_of(model: torch.nn.Module) -> float:
    """Share of exactly-zero weights over the prunable linear layers."""
    zeros = total = 0
    for _, module in prunable_linears(model):
        zeros += int((module.weight == 0).sum())
        total += module.weight.numel()
    return zeros / total if total else 0.0


@dataclass(frozen=True)
class Point:
    sparsity: float             # share of weights set to zero (measured)
    kl: float                   # mean KL(original || pruned) over the text's positions, nats
    top1: float                 # share of positions where both pick the same next token
    perplexity: float           # of the pruned copy on the text
    reference_perplexity: float
    tokens_per_second: float    # one forward pass over the text
    bytes: int                  # parameter bytes (dense: unchanged by unstructured pruning)


def measure(model: torch.nn.Module, reference_logits, ids: list[int], sparsity: float, repeats: int = 2) -> Point:
    runs = [forward_logits(model, ids) for _ in range(max(1, repeats))]
    best = min(runs, key=lambda f: f.seconds)
    agreement = compare_logits(reference_logits, best.logits, ids)
    return Point(sparsity, agreement.kl, agreement.top1, agreement.perplexity, agreement.reference_perplexity,
                 best.tokens_per_second, model_bytes(model))


def unstructured_point(copy: torch.nn.Module, reference: torch.nn.Module, reference_logits, ids: list[int],
                       sparsity: float) -> Point:
    """Restore the copy, prune it to `sparsity`, and measure it against the original on `ids`."""
    restore_(copy, reference)
    magnitude_prune_(copy, sparsity)
    return measure(copy, reference_logits, ids, sparsity_of(copy))


# ---- structured pruning ----------------------------------------------------------------------------------------

def _mlps(model: torch.nn.Module):
    for module in model.modules():
        if all(hasattr(module, p) for p in ("gate_proj", "up_proj", "down_proj")):
            yield module


def intermediate_size(model: torch.nn.Module) -> int:
    return next(_mlps(model)).up_proj.out_features


METHODS = ("activity", "weights")
CALIBRATION = PROJECT_ROOT / "lessons" / "02_inside_transformer.md"     # sample text for "activity"


def calibration_text(chars: int = 3000) -> str:
    return CALIBRATION.read_text(encoding="utf-8")[:chars]


@torch.no_grad()
def channel_importance(model: torch.nn.Module, method: str = "activity", calibration_ids=None) -> list[torch.Tensor]:
    """One score per intermediate channel of every MLP; the lowest go first.

    "weights": ‖down_proj[:, j]‖ · ‖up_proj[j, :]‖ — the size of the weights alone.
    "activity": mean |activation| of channel j on sample text × ‖down_proj[:, j]‖ — how much it actually writes
    back (the idea of activation-aware pruning such as Wanda). On SmolLM2 the first fails badly: a few channels with
    small weights carry large activations."""
    mlps = list(_mlps(model))
    if method == "weights":
        return [m.down_proj.weight.norm(dim=0) * m.up_proj.weight.norm(dim=1) for m in mlps]
    if method != "activity":
        raise PruningError(f"Unknown way to rank channels: {method!r}.")
    if not calibration_ids:
        raise PruningError("Ranking channels by activity needs some sample text.")
    means: dict[int, torch.Tensor] = {}
    _run_with_pre_hooks(model, [m.down_proj for m in mlps],
                        lambda i, mod, x: means.__setitem__(i, x.abs().float().mean(dim=(0, 1))), calibration_ids)
    return [means[i].to(m.down_proj.weight.dtype) * m.down_proj.weight.norm(dim=0) for i, m in enumerate(mlps)]


@torch.no_grad()
def _sliced(old: torch.nn.Linear, rows: torch.Tensor | None = None, columns: torch.Tensor | None = None):
    """A new linear layer holding only the given output rows (and their biases) or input columns of `old`."""
    weight = old.weight if rows is None else old.weight[rows]
    weight = weight if columns is None else weight[:, columns]
    new = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=old.bias is not None, device=weight.device,
                          dtype=weight.dtype)
    new.weight.copy_(weight)
    if old.bias is not None:
        new.bias.copy_(old.bias if rows is None else old.bias[rows])
    return new


def _run_with_pre_hooks(model: torch.nn.Module, modules: list, record, calibration_ids) -> None:
    """One forward pass over the sample text, calling `record(i, module, input)` before each of `modules` runs."""
    hooks = [m.register_forward_pre_hook(lambda mod, inp, i=i: record(i, mod, inp[0].detach()))
             for i, m in enumerate(modules)]
    try:
        device = next(model.parameters()).device
        model(input_ids=torch.tensor([list(calibration_ids)], device=device))
    finally:
        for h in hooks:
            h.remove()


@torch.no_grad()
def prune_mlp_channels_(model: torch.nn.Module, fraction: float, importance: list[torch.Tensor] | None = None) -> int:
    """Remove the `fraction` least important intermediate channels of every MLP, in place; returns the channels
    kept per layer. The model stays runnable: config.intermediate_size follows. `importance`: one score per
    channel per layer (channel_importance); by default the weight sizes."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
        raise PruningError("The share of MLP channels to remove must be at least 0 % and below 100 %.")
    width = intermediate_size(model)
    keep = max(1, width - round(fraction * width))
    if keep == width:
        return width
    scores = importance or channel_importance(model, "weights")
    for mlp, importance_of in zip(_mlps(model), scores):
        kept = torch.topk(importance_of, keep).indices.sort().values
        mlp.gate_proj, mlp.up_proj = _sliced(mlp.gate_proj, rows=kept), _sliced(mlp.up_proj, rows=kept)
        mlp.down_proj = _sliced(mlp.down_proj, columns=kept)
        if hasattr(mlp, "intermediate_size"):
            mlp.intermediate_size = keep
    if hasattr(model, "config"):
        model.config.intermediate_size = keep
    return keep


def parameter_count(model: torch.nn.Module) -> int:
    seen, total = set(), 0
    for p in model.parameters():
        if p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            total += p.numel()
    return total


@dataclass(frozen=True)
class Structured:
    fraction: float
    channels: int               # intermediate channels (or attention heads) kept per layer
    parameters: int
    point: Point
    seconds_to_prune: float
    method: str = "weights"
    unit: str = "channels"      # what was removed: "channels" (MLP) or "heads" (attention)


def structured_point(make_copy, reference_logits, ids: list[int], fraction: float, method: str = "activity",
                     calibration_ids=None) -> Structured:
    """A fresh copy with `fraction` of its MLP channels removed (ranked by `method`), measured against the original
    on `ids`."""
    model = make_copy()
    started = time.perf_counter()
    channels = prune_mlp_channels_(model, fraction, channel_importance(model, method, calibration_ids))
    seconds = time.perf_counter() - started
    return Structured(fraction, channels, parameter_count(model), measure(model, reference_logits, ids, 0.0),
                      seconds, method)


# ---- attention heads -------------------------------------------------------------------------------------------

def _attentions(model: torch.nn.Module):
    for module in model.modules():
        if all(hasattr(module, p) for p in ("q_proj", "k_proj", "v_proj", "o_proj")) and hasattr(module, "head_dim"):
            yield module


def head_layout(model: torch.nn.Module) -> tuple[int, int]:
    """(query heads, key/value heads) per layer, read from the first attention block's matrices."""
    attention = next(_attentions(model))
    return attention.q_proj.out_features // attention.head_dim, attention.k_proj.out_features // attention.head_dim


@torch.no_grad()
def head_importance(model: torch.nn.Module, calibration_ids) -> list[torch.Tensor]:
    """One score per query head of every layer: the mean size (L2 norm per position) of what the head writes into
    the residual stream through its block of o_proj, on sample text."""
    if not calibration_ids:
        raise PruningError("Ranking heads needs some sample text.")
    scores: dict[int, torch.Tensor] = {}
    attentions = list(_attentions(model))

    def record(i, o_proj, x):
        x, d = x.float(), attentions[i].head_dim                          # x: (batch, seq, heads · head_dim)
        heads = x.shape[-1] // d
        weight = o_proj.weight.float().view(o_proj.out_features, heads, d)  # (hidden, heads, head_dim)
        out = torch.einsum("bshd,ohd->bsho", x.view(*x.shape[:-1], heads, d), weight)
        scores[i] = out.norm(dim=-1).mean(dim=(0, 1))

    _run_with_pre_hooks(model, [a.o_proj for a in attentions], record, calibration_ids)
    return [scores[i] for i in range(len(attentions))]


@torch.no_grad()
def prune_attention_heads_(model: torch.nn.Module, per_group: int, importance: list[torch.Tensor]) -> int:
    """Remove the `per_group` least important query heads from every group of heads that shares a key/value head,
    in every layer, in place; returns the query heads kept per layer. Keys and values are untouched (each group
    keeps its shared head), so the KV cache does not shrink; q_proj and o_proj do."""
    heads, kv_heads = head_layout(model)
    size = heads // kv_heads
    if isinstance(per_group, bool) or not isinstance(per_group, int) or not 0 <= per_group < size:
        raise PruningError(f"Each group has {size} query heads: remove between 0 and {size - 1} of them.")
    if per_group == 0:
        return heads
    for attention, scores in zip(_attentions(model), importance):
        d = attention.head_dim
        kept = []
        for g in range(kv_heads):
            members = list(range(g * size, (g + 1) * size))
            kept += sorted(sorted(members, key=lambda h: -float(scores[h]))[:size - per_group])
        rows = torch.cat([torch.arange(h * d, (h + 1) * d) for h in kept]).to(attention.q_proj.weight.device)
        attention.q_proj = _sliced(attention.q_proj, rows=rows)
        attention.o_proj = _sliced(attention.o_proj, columns=rows)
        attention.num_key_value_groups = size - per_group      # how often each key/value head is repeated
    return kv_heads * (size - per_group)


def structured_heads_point(make_copy, reference_logits, ids: list[int], per_group: int, calibration_ids) -> Structured:
    """A fresh copy with `per_group` query heads removed from every group, measured against the original."""
    model = make_copy()
    heads, kv_heads = head_layout(model)
    started = time.perf_counter()
    kept = prune_attention_heads_(model, per_group, head_importance(model, calibration_ids))
    seconds = time.perf_counter() - started
    return Structured(1 - kept / heads, kept, parameter_count(model), measure(model, reference_logits, ids, 0.0),
                      seconds, "activity", "heads")
