"""Parameter counts of well-known transformers, computed from their real config.json files.

Each model is built by transformers on PyTorch's "meta" device: every tensor has a shape but no
storage, so even BLOOM-176B "exists" in a few hundred milliseconds without a byte of weights.
We then walk its named parameters and sort each one into a bucket (embeddings, attention, MLP,
norms, other) by its name. Weights shared between two places (tied input/output embeddings) are
counted once, as `named_parameters()` yields a shared tensor only once.

Shared by two labs: model cards & architectures (the parameter charts, the model cards) and compute &
quantization (the memory calculator's known models read their layer shapes from the same configs).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "config" / "architectures"
FAMILIES = ("encoder-only", "decoder-only", "encoder-decoder")
BUCKETS = ("embeddings", "attention", "mlp", "norms", "other")


class ArchitectureError(ValueError):
    """An unknown model name or a broken shipped config."""


@dataclass(frozen=True)
class ModelEntry:
    name: str            # display name, e.g. "BERT-base"
    file: str            # config.json copy in config/architectures/
    family: str          # one of FAMILIES
    objective: str       # pre-training objective in words
    source: str          # where the config comes from
    published: int       # parameter count the authors quote
    bundled: bool        # ships with the app
    context_length: int = 0  # training length, for models whose config has none (BLOOM's ALiBi)


@dataclass(frozen=True)
class ParameterBreakdown:
    name: str
    family: str
    objective: str
    total: int           # every parameter, tied ones once
    embeddings: int      # token, position and segment embeddings (and tied output head)
    attention: int       # query/key/value/output projections (+ relative position biases)
    mlp: int             # feed-forward blocks
    norms: int           # LayerNorm / RMSNorm scales and shifts
    other: int           # untied output head, pooler, MLM head transform
    layers: int          # transformer blocks (encoder + decoder for encoder-decoder models)
    heads: int           # attention (query) heads per layer
    hidden_size: int     # width of the residual stream
    vocab_size: int      # tokens in the vocabulary
    context_length: int  # positions the model was built for

    def share(self, bucket: str) -> float:
        if bucket not in BUCKETS:
            raise ValueError(f"unknown bucket {bucket!r}; use one of {BUCKETS}")
        return getattr(self, bucket) / self.total if self.total else 0.0


@lru_cache(maxsize=1)
def _index() -> dict[str, ModelEntry]:
    path = CONFIG_DIR / "index.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = [ModelEntry(name=str(m["name"]), file=str(m["file"]), family=str(m["family"]),
                              objective=str(m["objective"]), source=str(m["source"]),
                              published=int(m["published"]), bundled=bool(m.get("bundled", False)),
                              context_length=int(m.get("context_length", 0)))
                   for m in data["models"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ArchitectureError(f"{path} could not be read: {exc}") from exc
    for e in entries:
        if e.family not in FAMILIES:
            raise ArchitectureError(f"{e.name}: family {e.family!r} is not one of {FAMILIES}")
    return {e.name: e for e in entries}


def known_models() -> list[str]:
    """Display names of the shipped configurations, in the index's order."""
    return list(_index())


def entry(name: str) -> ModelEntry:
    try:
        return _index()[name]
    except KeyError:
        raise ArchitectureError(f"unknown model {name!r}; known: {', '.join(known_models())}") from None


def config_dict(name: str) -> dict:
    """The shipped config.json of a model, as a dict."""
    path = CONFIG_DIR / entry(name).file
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArchitectureError(f"{path} could not be read: {exc}") from exc


def _config(name: str):
    from transformers import AutoConfig

    data = config_dict(name)
    return AutoConfig.for_model(data["model_type"], **{k: v for k, v in data.items() if k != "model_type"})


def meta_model(name: str):
    """The model class named in the config's `architectures`, built on the meta device (no weights)."""
    import torch
    import transformers

    config = _config(name)
    cls_name = (getattr(config, "architectures", None) or ["AutoModel"])[0]
    cls = getattr(transformers, cls_name, None)
    with torch.device("meta"):
        if cls is None or cls_name == "AutoModel":
            return transformers.AutoModel.from_config(config)
        return cls._from_config(config)


def bucket_of(param_name: str) -> str:
    """Which part of a transformer a parameter belongs to, from its name (works for BERT, RoBERTa,
    GPT-2, BLOOM, T5 and LLaMA naming)."""
    n = param_name.lower()
    parts = n.split(".")
    if any(w in n for w in ("norm", "ln_")) or any(p in ("ln_f", "ln_1", "ln_2") for p in parts):
        return "norms"
    if "relative_attention_bias" in n:
        return "attention"
    if any(w in n for w in ("embed", "wte", "wpe")) or parts[0] == "shared":
        return "embeddings"
    if any(w in n for w in ("attention", "attn", "q_proj", "k_proj", "v_proj", "o_proj", "query_key_value")):
        return "attention"
    if any(w in n for w in ("mlp", "intermediate", "densereludense", "ffn", "dense_h_to_4h", "dense_4h_to_h")):
        return "mlp"
    # BERT's feed-forward output: encoder.layer.N.output.dense (its attention output matched above)
    if "layer" in parts and "output" in parts:
        return "mlp"
    return "other"


def _first_attr(config, *names: str, default: int = 0) -> int:
    for n in names:
        value = getattr(config, n, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return default


@lru_cache(maxsize=None)
def parameter_breakdown(name: str) -> ParameterBreakdown:
    """Count a known model's parameters by part, from its shipped config (cached per process)."""
    e = entry(name)
    model = meta_model(name)
    counts = dict.fromkeys(BUCKETS, 0)
    for pname, p in model.named_parameters():   # shared (tied) tensors appear once
        counts[bucket_of(pname)] += p.numel()
    # transformers 5 always ties T5's output head to its input embeddings, but checkpoints whose
    # config says tie_word_embeddings=false (T5 v1.1, FLAN-T5) ship a separate output matrix: count it.
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if (config_dict(name).get("tie_word_embeddings") is False and out is not None and inp is not None
            and out.weight is inp.weight):
        counts["other"] += out.weight.numel()
    config = model.config
    if e.family == "encoder-decoder":
        layers = _first_attr(config, "num_layers") + _first_attr(config, "num_decoder_layers", "num_layers")
    else:
        layers = _first_attr(config, "num_hidden_layers", "n_layer", "num_layers")
    return ParameterBreakdown(
        name=e.name, family=e.family, objective=e.objective, total=sum(counts.values()), **counts,
        layers=layers,
        heads=_first_attr(config, "num_attention_heads", "n_head", "num_heads"),
        hidden_size=_first_attr(config, "hidden_size", "d_model", "n_embd", "n_embed"),
        vocab_size=_first_attr(config, "vocab_size"),
        context_length=e.context_length or _first_attr(config, "max_position_embeddings", "n_positions", "seq_length"),
    )


def all_breakdowns() -> list[ParameterBreakdown]:
    return [parameter_breakdown(n) for n in known_models()]


def human_count(n: int | float) -> str:
    """1_234_567 -> '1.23 M'; 176_247_271_424 -> '176.2 B'."""
    n = float(n)
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.1f} {unit}"
    return f"{int(n)}"
