"""Quantize a private copy of the decoder and measure what precision costs.

Schemes:
- FP16 / BF16: every weight converted to the 16-bit type; the model runs in that type.
- INT8, per-channel absmax: each output row of a linear layer gets its own scale = max|w| / 127;
  weights are stored as int8 plus one float scale per row.
- INT4, group-wise: each run of `group_size` weights in a row gets its own scale = max|w| / 7; values are
  stored as 4-bit integers, two per byte, plus one 16-bit scale per group (like GGUF's Q4 and GPTQ/AWQ).
INT8/INT4 are "fake-quantized" for running: the integers are de-quantized back to float32 (w ≈ q × scale),
so the model computes with exactly the values the integers can represent, without special int kernels.
The true stored size is measured from the packed integer tensors. Embeddings (tied to the output head) and
norms are not quantized; in the packed form they are kept in BF16, as int8/int4 libraries usually do.
Comparing a quantized copy with the original (forward_logits, compare_logits, greedy_generate on FIXED_TEXT) uses
core/serving/measure.py, which the other labs that copy the decoder share.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import torch

from core.serving.measure import model_bytes

SCHEMES = ("FP16", "BF16", "INT8", "INT4")
DEFAULT_GROUP_SIZE = 64

DESCRIPTIONS = {
    "FP32": "the reference: 32-bit floats, as loaded",
    "FP16": "16-bit floats (5 exponent bits): half the memory, small range (max 65,504)",
    "BF16": "bfloat16 (8 exponent bits): half the memory, FP32's range, fewer fraction bits",
    "INT8": "8-bit integers, one absmax scale per output channel (row) of every linear layer",
    "INT4": f"4-bit integers, one scale per group of {DEFAULT_GROUP_SIZE} weights, two weights per byte",
}

QAT_TEXT = (
    "Everything here is post-training quantization: the weights were learned in full precision and rounded "
    "afterwards, so the model never had a chance to adapt to the rounding. Quantization-aware training (QAT) "
    "simulates the rounding during training (the forward pass uses fake-quantized weights, gradients flow as if "
    "rounding were the identity, the straight-through estimator) and learns the scales too, so the weights "
    "settle where rounding hurts least. QAT typically recovers most of the accuracy lost at 4 bits and below, "
    "at the cost of a training run; at 8 and 16 bits post-training rounding is usually already close to lossless."
)


# ---- tensor-level quantizers ------------------------------------------------------------------------

def quantize_int8_per_channel(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """w (out, in) float -> q (out, in) int8 in [-127, 127], scale (out, 1) float32; w ≈ q × scale."""
    if w.dim() != 2:
        raise ValueError("expected a 2-D weight matrix (out, in)")
    w = w.detach().float()
    scale = w.abs().amax(dim=1, keepdim=True) / 127            # (out, 1): the row's largest |w| maps to 127
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    q = torch.round(w / scale).clamp(-127, 127).to(torch.int8)  # (out, in)
    return q, scale


def dequantize_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return q.float() * scale                                    # (out, in)


def _pad_to_groups(w: torch.Tensor, group_size: int) -> torch.Tensor:
    pad = (-w.shape[1]) % group_size
    return torch.nn.functional.pad(w, (0, pad)) if pad else w


def quantize_int4_groupwise(w: torch.Tensor, group_size: int = DEFAULT_GROUP_SIZE
                            ) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """w (out, in) -> packed uint8 (out, ceil(in/g)·g/2), scales float16 (out, groups), original shape.

    Each group of g weights shares a scale = max|w| / 7; q = round(w / scale) in [-8, 7]; two 4-bit values
    per byte (low nibble first)."""
    if w.dim() != 2:
        raise ValueError("expected a 2-D weight matrix (out, in)")
    if not (isinstance(group_size, int) and group_size >= 2 and group_size % 2 == 0):
        raise ValueError("group size must be an even whole number ≥ 2")
    shape = (int(w.shape[0]), int(w.shape[1]))
    wp = _pad_to_groups(w.detach().float(), group_size)
    groups = wp.reshape(shape[0], -1, group_size)                         # (out, groups, g)
    scale = (groups.abs().amax(dim=2, keepdim=True) / 7).to(torch.float16).float()
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    q = torch.round(groups / scale).clamp(-8, 7).to(torch.int16).reshape(shape[0], -1)   # (out, padded in)
    nibbles = (q & 0xF).to(torch.uint8)                                   # two's complement in 4 bits
    packed = nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)                   # (out, padded in / 2)
    return packed, scale.squeeze(2).to(torch.float16), shape


def dequantize_int4(packed: torch.Tensor, scales: torch.Tensor, shape: tuple[int, int],
                    group_size: int = DEFAULT_GROUP_SIZE) -> torch.Tensor:
    low = (packed & 0xF).to(torch.int16)
    high = (packed >> 4).to(torch.int16)
    q = torch.stack([low, high], dim=2).reshape(packed.shape[0], -1)     # (out, padded in), 0..15
    q = torch.where(q > 7, q - 16, q).float()                             # back to -8..7
    w = q.reshape(shape[0], -1, group_size) * scales.float().unsqueeze(2)
    return w.reshape(shape[0], -1)[:, :shape[1]]


def fake_quantize(w: torch.Tensor, scheme: str, group_size: int = DEFAULT_GROUP_SIZE) -> torch.Tensor:
    """The float32 values `scheme` can represent for w (what the quantized model computes with)."""
    if scheme == "FP32":
        return w.float().clone()
    if scheme in ("FP16", "BF16"):
        return w.to(torch.float16 if scheme == "FP16" else torch.bfloat16).float()
    if scheme == "INT8":
        return dequantize_int8(*quantize_int8_per_channel(w))
    if scheme == "INT4":
        packed, scales, shape = quantize_int4_groupwise(w, group_size)
        return dequantize_int4(packed, scales, shape, group_size)
    raise ValueError(f"unknown scheme {scheme!r}")


# ---- whole model -----------------------------------------------------------------------------------

@dataclass
class QuantizedModel:
    scheme: str
    model: torch.nn.Module                 # the runnable copy (never the shared model)
    n_params: int
    n_quantized: int                       # parameters stored as integers (linear-layer weights)
    stored_bytes: int                      # measured: bytes of the tensors that store the model this way
    stored_parts: dict[str, int]           # e.g. {"int8 weights": .., "scales": .., "embeddings + norms (BF16)": ..}
    running_bytes: int                     # measured: bytes of the runnable copy's parameters
    seconds: float                         # time to copy and quantize
    compute_note: str                      # what the model computes in
    rss_growth_bytes: int = 0              # process resident memory growth while copying + quantizing (build_quantized)
    cuda_peak_bytes: int = 0               # peak CUDA memory above the start while doing so (0 on CPU)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)   # one forward pass at a time


def _linear_layers(model: torch.nn.Module):
    """Linear layers whose weights get quantized: all but the output head (tied to the embeddings)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and m is not head]


def build_quantized(make_copy, scheme: str, group_size: int = DEFAULT_GROUP_SIZE,
                    device: torch.device | str = "cpu") -> QuantizedModel:
    """make_copy() (e.g. ModelService.decoder_copy) then quantize_copy, measuring process memory growth and peak
    CUDA memory over both steps — what loading the model at this precision costs this process."""
    import psutil

    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    rss0 = psutil.Process().memory_info().rss
    q = quantize_copy(make_copy(), scheme, group_size)
    q.rss_growth_bytes = max(0, psutil.Process().memory_info().rss - rss0)
    if cuda:
        q.cuda_peak_bytes = torch.cuda.max_memory_allocated(device) - base
    return q


def quantize_copy(model: torch.nn.Module, scheme: str, group_size: int = DEFAULT_GROUP_SIZE) -> QuantizedModel:
    """Quantize `model` IN PLACE — pass a private copy (ModelService.decoder_copy), never the shared model."""
    if scheme not in SCHEMES + ("FP32",):
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    n_params = sum(p.numel() for p in model.parameters())
    parts: dict[str, int] = {}
    n_quantized = 0
    with torch.no_grad():
        if scheme in ("FP32", "FP16", "BF16"):
            model.to({"FP32": torch.float32, "FP16": torch.float16, "BF16": torch.bfloat16}[scheme])
            parts[f"all weights ({scheme})"] = model_bytes(model)
            note = f"computes in {scheme}"
            if scheme == "FP16" and device.type == "cpu":
                note += " (works on this CPU, but without fast FP16 kernels it runs slower than FP32)"
        else:
            packed_bytes = scale_bytes = 0
            for _, layer in _linear_layers(model):
                w = layer.weight                                             # (out, in)
                if scheme == "INT8":
                    q, scale = quantize_int8_per_channel(w)
                    packed_bytes += q.numel() * q.element_size()
                    scale_bytes += scale.numel() * scale.element_size()
                    w.copy_(dequantize_int8(q, scale).to(w.dtype))
                else:
                    packed, scales, shape = quantize_int4_groupwise(w, group_size)
                    packed_bytes += packed.numel() * packed.element_size()
                    scale_bytes += scales.numel() * scales.element_size()
                    w.copy_(dequantize_int4(packed, scales, shape, group_size).to(w.dtype))
                n_quantized += w.numel()
                if layer.bias is not None:                                   # biases stay in BF16
                    scale_bytes += layer.bias.numel() * 2
            rest = n_params - n_quantized - sum(linear.bias.numel() for _, linear in _linear_layers(model)
                                                if linear.bias is not None)
            parts[f"{scheme} weights"] = packed_bytes
            parts["scales" + (" (FP32, one per row)" if scheme == "INT8"
                              else f" (FP16, one per {group_size})")] = scale_bytes
            parts["embeddings + norms (BF16)"] = rest * 2
            note = (f"runs in float32 from the de-quantized {scheme} values (fake quantization): the numbers are "
                    "exactly what the integers represent, but without int kernels it is not faster here")
    seconds = time.perf_counter() - t0
    return QuantizedModel(scheme=scheme, model=model.eval(), n_params=n_params, n_quantized=n_quantized,
                          stored_bytes=sum(parts.values()), stored_parts=parts, running_bytes=model_bytes(model),
                          seconds=seconds, compute_note=note)
