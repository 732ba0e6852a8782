"""GPU-memory calculator: weights, training with Adam, LoRA, KV cache, and how many GPUs it takes.

Units: GB means 10^9 bytes, as in the deck ("1 B parameters = 4 × 10^9 bytes = 4 GB"). GPU sizes are the
marketed ones (an "80 GB" card). Full training follows the deck's per-parameter breakdown at 32-bit:
weights 4 + Adam states 8 + gradients 4 + activations and temporaries 8 (a high-end estimate) = 24 bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.architectures import all_breakdowns, config_dict

GB = 1e9                     # the deck's unit: 4 × 10^9 bytes = 4 GB
GIB = 2 ** 30
MAX_PARAMETERS = 1e14        # 100 trillion: far beyond any model built so far; larger input is refused

BYTES_PER_PARAM = {"FP32": 4.0, "FP16": 2.0, "BF16": 2.0, "INT8": 1.0, "INT4": 0.5}
PRECISIONS = tuple(BYTES_PER_PARAM)
MODES = ("inference", "full training (Adam)", "LoRA training")


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_gb: float         # marketed memory size
    peak_tflops: float       # dense 16-bit tensor-core peak (FP16/BF16), vendor data sheet
    note: str = ""


GPUS = (
    Gpu("NVIDIA V100 32 GB", 32, 125, "FP16 tensor cores (V100 has no BF16)"),
    Gpu("NVIDIA A100 40 GB", 40, 312),
    Gpu("NVIDIA A100 80 GB", 80, 312),
    Gpu("NVIDIA H100 80 GB (SXM)", 80, 989),
    Gpu("NVIDIA H200 141 GB", 141, 989),
    Gpu("NVIDIA L4 24 GB", 24, 121),
    Gpu("NVIDIA T4 16 GB", 16, 65, "FP16 tensor cores (T4 has no BF16)"),
    Gpu("NVIDIA RTX 4090 24 GB", 24, 165, "FP16 tensor cores with FP32 accumulate"),
    Gpu("NVIDIA RTX 3090 24 GB", 24, 71, "FP16 tensor cores with FP32 accumulate"),
    Gpu("Apple M-series / laptop, 16 GB shared", 16, 0, "no tensor-core peak listed"),
)
GPU_BY_NAME = {g.name: g for g in GPUS}


class InputError(ValueError):
    """Input the calculator refuses, with a message meant for the learner."""


def check_parameters(n) -> float:
    """A parameter count as a float, or InputError saying what is wrong with it."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        try:
            n = float(str(n).strip().replace(",", "").replace("_", ""))
        except ValueError:
            raise InputError(f"“{str(n)[:40]}” is not a number of parameters; try 1e9 or 7000000000") from None
    if math.isnan(n) or math.isinf(n):
        raise InputError("the parameter count must be a finite number")
    if n <= 0:
        raise InputError("a model needs at least one parameter")
    if n > MAX_PARAMETERS:
        raise InputError(f"{n:.3g} parameters is more than {MAX_PARAMETERS:.0e} (100 trillion); "
                         "no model is that large, so the calculator stops there")
    return float(n)


def parse_parameter_count(text) -> float:
    """'7B', '175 billion', '1.5e9', '135M', '70,000,000' -> a parameter count (InputError when not one)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return check_parameters(text)
    if not isinstance(text, str) or not text.strip():
        raise InputError("enter a number of parameters, for example 7B or 1e9")
    s = text.strip().lower().replace(",", "").replace("_", "").replace(" ", "")
    for word, factor in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6), ("thousand", 1e3),
                         ("t", 1e12), ("b", 1e9), ("m", 1e6), ("k", 1e3)):
        if s.endswith(word) and len(s) > len(word):
            try:
                return check_parameters(float(s[: -len(word)]) * factor)
            except ValueError as exc:
                if isinstance(exc, InputError):
                    raise
                break
    return check_parameters(s if s else text)


def bytes_per_param(precision: str) -> float:
    if precision not in BYTES_PER_PARAM:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return BYTES_PER_PARAM[precision]


def weights_bytes(n_params, precision: str = "FP32") -> float:
    """Bytes to store the weights: parameters × bytes per parameter (1B at FP32 = 4 × 10^9 = 4 GB)."""
    return check_parameters(n_params) * bytes_per_param(precision)


# The deck's breakdown for full training at 32-bit, in bytes per parameter.
TRAINING_BYTES_FP32 = {"weights": 4.0, "Adam optimizer (2 states)": 8.0, "gradients": 4.0,
                       "activations & temporaries": 8.0}


def training_bytes_per_param(precision: str = "FP32") -> dict[str, float]:
    """Per-parameter training memory by component.

    FP32 is the deck's table (24 bytes). FP16/BF16 is mixed precision (our assumption, the usual recipe):
    16-bit weights and gradients, an FP32 master copy (4) and FP32 Adam states (8), activations at 16-bit
    (half the deck's 8). INT8/INT4 weights cannot be trained directly: use LoRA on a quantized base (QLoRA).
    """
    b = bytes_per_param(precision)
    if precision == "FP32":
        return dict(TRAINING_BYTES_FP32)
    if precision in ("FP16", "BF16"):
        return {"weights": b, "FP32 master weights": 4.0, "Adam optimizer (2 states)": 8.0, "gradients": b,
                "activations & temporaries": 8.0 * b / 4}
    raise InputError(f"full training with {precision} weights is not done in practice (gradients need "
                     "floating point); choose LoRA training to train adapters on a quantized model (QLoRA)")


def lora_bytes_per_param(precision: str = "FP32", trainable_fraction: float = 0.01) -> dict[str, float]:
    """Per base-parameter memory for LoRA: frozen base weights + small trainable adapters with Adam.

    Adapters (trainable_fraction of the parameter count) are kept in FP32 with Adam and gradients: 16 bytes
    each. Activations still flow through the whole frozen network: the deck's high-end 8 bytes per parameter
    at 32-bit, 4 at 16-bit compute (INT8/INT4 bases compute in 16-bit). Gradient checkpointing and small
    batches cut this part several-fold — it is the high-end estimate, like the deck's.
    """
    if not (isinstance(trainable_fraction, (int, float)) and 0 < trainable_fraction <= 1):
        raise InputError("the trainable fraction must be between 0 and 1")
    b = bytes_per_param(precision)
    compute_bytes = 4.0 if precision == "FP32" else 2.0
    return {"weights": b, "LoRA adapters + Adam + gradients": 16.0 * trainable_fraction,
            "activations & temporaries": 8.0 * compute_bytes / 4}


@dataclass(frozen=True)
class KvCacheShape:
    """The layers that keep a KV cache and the width of their keys and values.

    For an encoder-decoder model (T5, BART) `layers` counts the *decoder* layers only: the encoder reads
    the input once and keeps no cache. Each decoder layer caches its self-attention K/V, which grow by one
    token per generated token, plus (cross_attention=True) the K/V it projects once from the encoder output.
    """
    layers: int
    hidden_size: int
    heads: int
    kv_heads: int            # grouped-query attention keeps fewer key/value heads than query heads
    head_dim: int = 0        # width of one head when it is not hidden_size / heads (T5's d_kv); 0 = hidden/heads
    cross_attention: bool = False   # encoder-decoder: each decoder layer also caches K/V of the encoder output

    def __post_init__(self):
        for name in ("layers", "hidden_size", "heads", "kv_heads"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise InputError(f"{name.replace('_', ' ')} must be a whole number above 0")
        if isinstance(self.head_dim, bool) or not isinstance(self.head_dim, int) or self.head_dim < 0:
            raise InputError("head dimension must be a whole number ≥ 0")
        if self.kv_heads > self.heads:
            raise InputError("key/value heads cannot outnumber the attention heads")

    @property
    def kv_width(self) -> int:
        """Numbers stored per token per layer for K (and again for V)."""
        if self.head_dim:
            return self.head_dim * self.kv_heads
        return self.hidden_size * self.kv_heads // self.heads


def _whole(name: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise InputError(f"the {name} must be a whole number above 0")


def kv_cache_parts(shape: KvCacheShape, context_length: int, batch: int, bytes_per_value: float = 2.0,
                   source_length: int | None = None) -> dict[str, float]:
    """Bytes of the self-attention cache and (encoder-decoder models) the cross-attention K/V.

    self-attention: 2 (K and V) × layers × batch × context × kv_width × bytes — grows with every token.
    cross-attention: 2 × decoder layers × batch × source tokens × kv_width × bytes — computed once from
    the encoder output (source_length input tokens; defaults to context_length) and kept while generating.
    """
    _whole("context length", context_length)
    _whole("batch", batch)
    out = {"self-attention": 2.0 * shape.layers * batch * context_length * shape.kv_width * bytes_per_value}
    if shape.cross_attention:
        source = context_length if source_length is None else source_length
        _whole("source length", source)
        out["cross-attention"] = 2.0 * shape.layers * batch * source * shape.kv_width * bytes_per_value
    return out


def kv_cache_bytes(shape: KvCacheShape, context_length: int, batch: int, bytes_per_value: float = 2.0,
                   source_length: int | None = None) -> float:
    """K and V for every caching layer, token and sequence: 2 × layers × batch × context × kv_width × bytes
    (+ the cross-attention K/V of an encoder-decoder model, see kv_cache_parts)."""
    return sum(kv_cache_parts(shape, context_length, batch, bytes_per_value, source_length).values())


@dataclass(frozen=True)
class MemoryEstimate:
    n_params: float
    precision: str
    mode: str
    parts: dict[str, float]              # component -> bytes
    per_param: dict[str, float]          # component -> bytes per parameter (the weights-proportional parts)
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_bytes(self) -> float:
        return sum(self.parts.values())

    @property
    def total_gb(self) -> float:
        return self.total_bytes / GB


def estimate(n_params, precision: str = "FP32", mode: str = "inference", *, kv_shape: KvCacheShape | None = None,
             context_length: int = 0, batch: int = 1, lora_fraction: float = 0.01,
             source_length: int | None = None) -> MemoryEstimate:
    """The whole picture for one choice of model size, precision and mode."""
    n = check_parameters(n_params)
    b = bytes_per_param(precision)
    notes = ["GB = 10^9 bytes, as in the lesson"]
    if mode == "inference":
        per = {"weights": b}
        notes.append(f"{precision}: {b:g} bytes per parameter")
    elif mode == "full training (Adam)":
        per = training_bytes_per_param(precision)
        notes.append("lesson's breakdown: 4 + 8 + 4 + 8 = 24 bytes per parameter at 32-bit" if precision == "FP32"
                     else "mixed precision: 16-bit weights and gradients, FP32 master copy and Adam states "
                          "(our assumption; the lesson's table shows 32-bit only)")
    elif mode == "LoRA training":
        per = lora_bytes_per_param(precision, lora_fraction)
        notes.append(f"LoRA: base frozen at {precision}, {lora_fraction:.1%} trainable parameters at 16 bytes each; "
                     "activations use the lesson's high-end 8 bytes/parameter (4 at 16-bit)")
    else:
        raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    parts = {name: n * v for name, v in per.items()}
    if mode == "inference" and kv_shape is not None and context_length > 0:
        kv_bytes = 4.0 if precision == "FP32" else 2.0     # INT8/INT4 weights still keep K and V in 16-bit
        parts["KV cache"] = kv_cache_bytes(kv_shape, context_length, batch, kv_bytes, source_length)
        which = "decoder layers" if kv_shape.cross_attention else "layers"
        notes.append(f"KV cache: 2 × {kv_shape.layers} {which} × {batch} × {context_length:,} tokens × "
                     f"{kv_shape.kv_width} values × {kv_bytes:g} bytes")
        if kv_shape.cross_attention:
            source = context_length if source_length is None else source_length
            notes.append(f"plus cross-attention K/V over the encoder output: 2 × {kv_shape.layers} decoder layers × "
                         f"{batch} × {source:,} input tokens × {kv_shape.kv_width} values × {kv_bytes:g} bytes"
                         + ("" if source_length is not None else " (input assumed as long as the context)")
                         + "; the encoder layers keep no cache")
    return MemoryEstimate(n_params=n, precision=precision, mode=mode, parts=parts, per_param=per,
                          assumptions=tuple(notes))


def gpus_needed(total_bytes: float, gpu_memory_gb: float) -> int:
    """Fewest GPUs whose memory adds up to the total (a lower bound: splitting has overheads)."""
    if not gpu_memory_gb > 0:
        raise InputError("GPU memory must be above 0")
    if not total_bytes >= 0 or math.isinf(total_bytes):
        raise InputError("the memory total must be a finite number ≥ 0")
    return max(1, math.ceil(round(total_bytes / (gpu_memory_gb * GB), 9)))


def format_bytes(n: float) -> str:
    """Readable decimal size: 538 MB, 4 GB, 4,200 GB, 1.2 PB."""
    if n < 1e6:
        return f"{n / 1e3:,.1f} kB" if n >= 1e3 else f"{n:,.0f} B"
    if n < 1e9:
        return f"{n / 1e6:,.0f} MB"
    if n < 1e15:
        gb = n / GB
        return f"{gb:,.0f} GB" if gb >= 100 or gb == int(gb) else f"{gb:,.1f} GB"
    return f"{n / 1e15:,.2f} PB"


def format_count(n: float) -> str:
    """134.5M, 1B, 175B, 1.4T (whole numbers without decimals)."""
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{round(v):,}{suffix}" if abs(v - round(v)) < 1e-6 * v else f"{v:,.1f}{suffix}"
    return f"{n:,.0f}"


# ---- several GPUs: data parallel vs sharded (ZeRO / FSDP) --------------------------------------------

SHARDING = ("data parallel (replicated)", "ZeRO-1: shard optimizer states", "ZeRO-2: + gradients",
            "ZeRO-3 / FSDP: + weights")


def per_gpu_training_bytes(n_params, n_gpus: int, precision: str = "FP32") -> dict[str, dict[str, float]]:
    """Per-GPU bytes of each training component under each sharding scheme.

    Plain data parallelism (DDP) copies the weights, gradients and optimizer states to every GPU, so those
    must fit on each one; ZeRO stage 1/2/3 (FSDP ≈ stage 3) splits optimizer states, then gradients, then
    the weights themselves across the GPUs. Activations belong to each GPU's share of the batch, so they
    divide by the GPU count in every scheme, data parallelism included (assumption: fixed global batch).
    """
    if isinstance(n_gpus, bool) or not isinstance(n_gpus, int) or n_gpus < 1:
        raise InputError("the number of GPUs must be a whole number ≥ 1")
    n = check_parameters(n_params)
    per = training_bytes_per_param(precision)
    out = {}
    for stage, scheme in enumerate(SHARDING):
        split = {"weights": stage >= 3, "gradients": stage >= 2, "activations & temporaries": True}
        out[scheme] = {name: n * v / (n_gpus if split.get(name, stage >= 1) else 1) for name, v in per.items()}
    return out


def fewest_gpus(n_params, gpu_memory_gb: float, precision: str = "FP32",
                limit: int = 1_000_000) -> dict[str, int | None]:
    """For each sharding scheme, the fewest GPUs where one GPU's share fits (None: never fits).

    None means the replicated parts alone (under data parallelism: weights + gradients + optimizer states)
    fill one GPU, so adding GPUs, which shrinks only the shared parts, cannot help.
    """
    n = check_parameters(n_params)
    per = training_bytes_per_param(precision)
    cap = gpu_memory_gb * GB
    out = {}
    for stage, scheme in enumerate(SHARDING):
        split = {"weights": stage >= 3, "gradients": stage >= 2, "activations & temporaries": True}
        fixed = sum(n * v for name, v in per.items() if not split.get(name, stage >= 1))
        shared = sum(n * v for name, v in per.items() if split.get(name, stage >= 1))
        if fixed >= cap:
            out[scheme] = None
            continue
        k = max(1, math.ceil(round(shared / (cap - fixed), 9)))
        out[scheme] = k if k <= limit else None
    return out


# ---- models known only by their published numbers ----------------------------------------------------

@dataclass(frozen=True)
class PublishedModel:
    name: str
    parameters: float
    tokens: float            # training tokens
    source: str
    layers: int = 0
    hidden_size: int = 0
    heads: int = 0


PUBLISHED = (
    PublishedModel("GPT-3 175B", 175e9, 300e9, "Brown et al. 2020, Table 2.1", 96, 12288, 96),
    PublishedModel("OPT-175B", 175e9, 180e9, "Zhang et al. 2022", 96, 12288, 96),
    PublishedModel("BLOOM 176B", 176e9, 350e9, "BigScience 2022", 70, 14336, 112),
    PublishedModel("Chinchilla 70B", 70e9, 1.4e12, "Hoffmann et al. 2022", 80, 8192, 64),
    PublishedModel("LLaMA-65B", 65e9, 1.4e12, "Touvron et al. 2023", 80, 8192, 64),
    PublishedModel("Lesson example: 1B", 1e9, 0, "the lesson's 1B-parameter example"),
    PublishedModel("Lesson example: 500B", 500e9, 0, "the lesson's 500B-parameter example"),
)


@dataclass(frozen=True)
class KnownModel:
    name: str
    parameters: float
    source: str              # where the count comes from
    layers: int = 0          # 0: shape unknown, no KV-cache estimate
    hidden_size: int = 0
    heads: int = 0
    kv_heads: int = 0
    family: str = "decoder-only"
    decoder_layers: int = 0  # encoder-decoder models: the decoder's layers (only they keep a KV cache)
    head_dim: int = 0        # when one head is not hidden_size / heads wide (T5's d_kv)

    @property
    def kv_shape(self) -> KvCacheShape | None:
        if not (self.layers and self.hidden_size and self.heads) or self.family == "encoder-only":
            return None
        if self.family == "encoder-decoder":
            if not self.decoder_layers:
                return None
            return KvCacheShape(self.decoder_layers, self.hidden_size, self.heads, self.kv_heads or self.heads,
                                self.head_dim, cross_attention=True)
        return KvCacheShape(self.layers, self.hidden_size, self.heads, self.kv_heads or self.heads, self.head_dim)


def known_models() -> list[KnownModel]:
    """Models computed from shipped config files (core/architectures.py) plus published-only ones (PUBLISHED)."""
    out = []
    for b in all_breakdowns():
        try:
            cfg = config_dict(b.name)
        except Exception:   # the count still stands without the config's key/value head count
            cfg = {}
        kv = cfg.get("num_key_value_heads") or b.heads
        decoder_layers = 0
        if b.family == "encoder-decoder":   # T5: num_decoder_layers (default num_layers); BART: decoder_layers
            decoder_layers = int(cfg.get("num_decoder_layers") or cfg.get("decoder_layers")
                                 or cfg.get("num_layers") or 0)
        head_dim = int(cfg.get("d_kv") or cfg.get("head_dim") or 0)
        if b.heads and head_dim * b.heads == b.hidden_size:
            head_dim = 0                    # the usual hidden_size / heads: nothing to record
        out.append(KnownModel(b.name, float(b.total), "counted from its shipped config.json", b.layers,
                              b.hidden_size, b.heads, int(kv), b.family, decoder_layers, head_dim))
    names = {m.name for m in out}
    for p in PUBLISHED:
        if p.name not in names and p.name.replace(" ", "-") not in names:
            out.append(KnownModel(p.name, p.parameters, p.source, p.layers, p.hidden_size, p.heads, p.heads))
    return sorted(out, key=lambda m: m.parameters)
