"""Integer-kernel libraries other than PyTorch's own, measured on SmolLM2 (choose a kernel by measurement).

Page 10 quantizes with `torch.ao.quantization.quantize_dynamic` (core/labs/lifecycle_optimization/kernels.py). This
script measures the alternatives the issue names when they are importable (they are not installed by the project):
optimum-quanto (qint8 / qint4 weights, optionally qint8 activations) and torchao (int8 weight-only, int8 dynamic
activations + weights). Each variant: stored size, reading speed (one pass over the fixed text, best of 3), writing
speed (32 greedy tokens), KL and top-1 against FP32.

Usage: PYTHONPATH=/path/to/extra/site-packages .venv/bin/python -m bench.other_int8_libraries
"""
from __future__ import annotations

import copy
import importlib.util
import time

import torch

from core.labs.lifecycle_optimization import kernels, pruning
from core.serving.measure import FIXED_TEXT, compare_logits, forward_logits, greedy_generate
from core.serving.model_service import ModelService
from core.serving.settings import Settings


def quanto_variants(calibration_ids):
    from optimum.quanto import Calibration, freeze, qint4, qint8, quantize

    def make(weights, activations):
        def build(model):
            m = copy.deepcopy(model)
            with torch.no_grad():                 # quanto's int4 packing fails on inference-mode tensors
                quantize(m, weights=weights, activations=activations, exclude=["lm_head"])
                if activations is not None:       # activation scales come from sample text
                    with Calibration():
                        m(input_ids=torch.tensor([calibration_ids]))
                freeze(m)
            return m
        return build
    return {"quanto int8 weights": make(qint8, None),
            "quanto int8 weights + activations (calibrated)": make(qint8, qint8),
            "quanto int4 weights": make(qint4, None)}


def torchao_variants():
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_

    def make(config):
        def build(model):
            m = copy.deepcopy(model)
            quantize_(m, config(),
                      filter_fn=lambda mod, name: isinstance(mod, torch.nn.Linear) and "lm_head" not in name)
            return m
        return build
    return {"torchao int8 weight-only": make(Int8WeightOnlyConfig),
            "torchao int8 dyn. activations + weights": make(Int8DynamicActivationInt8WeightConfig)}


@torch.no_grad()
def _forward(model, ids):
    x = torch.tensor([ids])
    started = time.perf_counter()
    logits = model(input_ids=x).logits[0].float().numpy()
    return logits, time.perf_counter() - started


def main() -> None:
    svc = ModelService(Settings.from_env())
    ids = svc.encode_ids(FIXED_TEXT)
    original = svc.decoder_copy()
    reference = forward_logits(original, ids).logits
    variants = {"FP32": lambda m: copy.deepcopy(m),
                "torch quantize_dynamic int8 (page 10)": lambda m: kernels.build(m, "INT8, every linear layer")}
    for package, found in (("optimum.quanto", quanto_variants), ("torchao", torchao_variants)):
        if importlib.util.find_spec(package.split(".")[0]) is None or (
                package == "optimum.quanto" and importlib.util.find_spec(package) is None):
            print(f"{package}: not installed, skipped")
            continue
        variants.update(found(svc.encode_ids(pruning.calibration_text())) if package == "optimum.quanto"
                        else found())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fixed text {len(ids)} tokens")
    for name, build in variants.items():
        try:
            started = time.perf_counter()
            model = build(original)
            built = time.perf_counter() - started
            best = min((_forward(model, ids) for _ in range(3)), key=lambda f: f[1])
            agreement = compare_logits(reference, best[0], ids)
            try:
                writing = f"{greedy_generate(model, ids[:24], kernels.GENERATED_TOKENS, set()).tokens_per_second:>5.1f}"
            except RuntimeError:                  # quanto int4 under torch.inference_mode
                writing = "  n/a"
            size = kernels.stored_bytes(model)
        except Exception as exc:  # noqa: BLE001 - a library without a CPU path is a result, not a crash
            print(f"{name:<46} failed: {type(exc).__name__}: {str(exc)[:160]}")
            continue
        print(f"{name:<46} {size / 1e6:>5.0f} MB  reading {len(ids) / best[1]:>5,.0f} tok/s  writing "
              f"{writing} tok/s  KL {agreement.kl:.3f}  top-1 {agreement.top1:.0%}  "
              f"build {built:.1f} s")
        del model


if __name__ == "__main__":
    main()
