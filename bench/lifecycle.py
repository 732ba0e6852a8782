"""Lifecycle lab timings on this machine: pruning and real-kernel quantization of SmolLM2.

1. Unstructured magnitude pruning at 0–90 %: seconds to prune, perplexity, KL, top-1 agreement and reading speed.
2. Structured MLP-channel pruning (10/25/50 %), ranked by weight size and by measured activity; then 1 and 2 of
   each group's 3 query heads removed (2b).
3. FP32, BF16 and the two INT8 variants (int8 kernels): stored size, reading and writing speed (median of 3),
   KL, top-1 and perplexity.

Usage: .venv/bin/python -m bench.lifecycle
"""
from __future__ import annotations

import statistics
import time

from core.labs.lifecycle_optimization import kernels, pruning
from core.serving.measure import FIXED_TEXT, forward_logits
from core.serving.model_service import ModelService
from core.serving.settings import Settings


def main() -> None:
    svc = ModelService(Settings.from_env())
    ids = svc.encode_ids(FIXED_TEXT)
    original = svc.decoder_copy()
    reference = forward_logits(original, ids).logits
    print(f"fixed text: {len(ids)} tokens; engine {kernels.int8_engine()}")
    print("== 1. unstructured magnitude pruning ==")
    copy = svc.decoder_copy()
    for s in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9):
        started = time.perf_counter()
        pruning.restore_(copy, original)
        pruning.magnitude_prune_(copy, s)
        took = time.perf_counter() - started
        p = pruning.measure(copy, reference, ids, pruning.sparsity_of(copy), repeats=3)
        print(f"{s:>4.0%}: prune {took:.2f} s, zeros {p.sparsity:.1%}, perplexity {p.perplexity:,.1f}, "
              f"KL {p.kl:.3f}, top-1 {p.top1:.0%}, reading {p.tokens_per_second:,.0f} tok/s, {p.bytes / 1e6:.0f} MB")
    del copy
    print("== 2. structured MLP-channel pruning ==")
    calibration = svc.encode_ids(pruning.calibration_text())
    for method in pruning.METHODS:
        for fraction in (0.1, 0.25, 0.5):
            r = pruning.structured_point(svc.decoder_copy, reference, ids, fraction, method, calibration)
            print(f"{method:>8} {fraction:.0%}: {r.parameters:,} parameters, {r.point.bytes / 1e6:.0f} MB, "
                  f"perplexity {r.point.perplexity:,.1f}, KL {r.point.kl:.3f}, top-1 {r.point.top1:.0%}, "
                  f"reading {r.point.tokens_per_second:,.0f} tok/s, prune {r.seconds_to_prune:.2f} s")
    print("== 2b. attention heads removed from every group of 3 (ranked by what they write) ==")
    for per_group in (1, 2):
        r = pruning.structured_heads_point(svc.decoder_copy, reference, ids, per_group, calibration)
        print(f"   {per_group} per group: {r.channels} heads kept, {r.parameters:,} parameters, "
              f"{r.point.bytes / 1e6:.0f} MB, perplexity {r.point.perplexity:,.1f}, KL {r.point.kl:.3f}, top-1 "
              f"{r.point.top1:.0%}, reading {r.point.tokens_per_second:,.0f} tok/s, prune {r.seconds_to_prune:.2f} s")
    print("== 3. precisions with real kernels (median of 3 runs) ==")
    for variant in kernels.VARIANTS:
        runs = [kernels.measure(original, reference, ids, variant) for _ in range(3)]
        m = runs[0]
        print(f"{variant:<30} {m.bytes / 1e6:>6.0f} MB, reading "
              f"{statistics.median(r.forward_tokens_per_second for r in runs):,.0f} tok/s, writing "
              f"{statistics.median(r.generate_tokens_per_second for r in runs):.1f} tok/s, KL {m.kl:.3f}, "
              f"top-1 {m.top1:.0%}, perplexity {m.perplexity:.1f}, build {m.build_seconds:.1f} s")
    svc.close()


if __name__ == "__main__":
    main()
