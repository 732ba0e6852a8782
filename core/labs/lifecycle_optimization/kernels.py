"""Quantization with real integer kernels (page 10).

Page 6 rounds weights to INT8/INT4 and expands them back to float to compute, so it saves nothing at run time.
Here PyTorch's own dynamic quantization (`torch.ao.quantization.quantize_dynamic`) stores the linear layers'
weights as int8 and runs them with the CPU's int8 matrix kernels (fbgemm / x86 / qnnpack): activations are
quantized on the fly per batch, multiplied in integers and scaled back. Chosen by measurement on the 2-core CPU
(bench/lifecycle.py): it is built into torch (no extra wheel) and was faster than FP32 here.

SmolLM2 shows the classic catch: the inputs of each MLP's down_proj hold a few very large activations (outliers),
and one int8 scale per tensor for them wipes out the small ones. Keeping down_proj in FP32 (a mixed-precision
choice: a coarse cousin of LLM.int8(), which keeps only the outlier feature dimensions in 16-bit inside each matmul)
keeps most of the speed and loses far less quality.
"""
from __future__ import annotations

import copy
import io
import time
import warnings
from dataclasses import dataclass

import torch

from core.serving.measure import compare_logits, forward_logits, greedy_generate

VARIANTS = ("FP32", "BF16", "INT8, every linear layer", "INT8, down_proj kept in FP32")
DESCRIPTIONS = {
    "FP32": "the original: 4 bytes per weight",
    "BF16": "2 bytes per weight; this CPU computes in BF16 without special fast kernels",
    "INT8, every linear layer": "int8 weights and int8 matrix kernels in every linear layer except the output head",
    "INT8, down_proj kept in FP32": "int8 everywhere except each MLP's down_proj, whose inputs carry outlier "
                                    "activations",
}
GENERATED_TOKENS = 32


class KernelError(RuntimeError):
    """This machine cannot run the variant (the message says why)."""


def int8_engine() -> str | None:
    """The quantized engine PyTorch will use on this CPU, or None when it has none."""
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    for preferred in ("x86", "fbgemm", "qnnpack", "onednn"):
        if preferred in engines:
            return preferred
    return engines[0] if engines else None


def build(model: torch.nn.Module, variant: str) -> torch.nn.Module:
    """A new model: `variant` of `model` (which is copied, never changed), on the CPU for the int8 variants."""
    if variant not in VARIANTS:
        raise KernelError(f"Unknown variant {variant!r}.")
    if variant == "FP32":
        return copy.deepcopy(model)
    if variant == "BF16":
        return copy.deepcopy(model).to(torch.bfloat16)
    engine = int8_engine()
    if engine is None:
        raise KernelError("This PyTorch build has no int8 CPU kernels (no quantized engine).")
    torch.backends.quantized.engine = engine
    target = copy.deepcopy(model).to("cpu").float()
    head = target.get_output_embeddings()
    skip = ("down_proj",) if variant.endswith("FP32") else ()
    names = {n for n, m in target.named_modules()
             if isinstance(m, torch.nn.Linear) and m is not head and not any(k in n for k in skip)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # torch.ao.quantization announces its move to torchao
        return torch.ao.quantization.quantize_dynamic(target, names, dtype=torch.qint8)


def stored_bytes(model: torch.nn.Module) -> int:
    """Bytes of the saved state dict (int8 weights with their scales count as stored; tied weights once)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


@dataclass(frozen=True)
class Measured:
    variant: str
    bytes: int
    forward_tokens_per_second: float     # one pass over the fixed text (best of 2)
    generate_tokens_per_second: float    # greedy, GENERATED_TOKENS new tokens, batch 1
    kl: float
    top1: float
    perplexity: float
    build_seconds: float


def measure(reference: torch.nn.Module, reference_logits, ids: list[int], variant: str) -> Measured:
    started = time.perf_counter()
    model = build(reference, variant)
    built = time.perf_counter() - started
    runs = [forward_logits(model, ids) for _ in range(2)]
    best = min(runs, key=lambda f: f.seconds)
    agreement = compare_logits(reference_logits, best.logits, ids)
    generation = greedy_generate(model, ids[:24], GENERATED_TOKENS, set())
    size = stored_bytes(model)
    del model
    return Measured(variant, size, best.tokens_per_second, generation.tokens_per_second, agreement.kl,
                    agreement.top1, agreement.perplexity, built)
