"""Load time, resident memory with both models loaded and used once, and decoding speed on this machine.

Usage: .venv/bin/python -m bench.memory
"""
from __future__ import annotations

import time

import psutil


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    base = rss_mb()
    from core.serving.model_service import ModelService
    from core.serving.sampling import SamplingSettings
    from core.serving.settings import Settings

    svc = ModelService(Settings.from_env())
    print(f"device: {svc.device_label}")
    print(f"resident after imports: {rss_mb():,.0f} MB "
          f"(python + torch + transformers: {rss_mb() - base:,.0f} MB added)")
    for kind in ("causal-lm", "sentence-encoder"):
        t0 = time.perf_counter()
        status = svc.load(kind=kind)
        print(f"load {status.label}: {time.perf_counter() - t0:.2f} s, {status.parameters / 1e6:.1f} M params, "
              f"{status.memory_bytes / 1e6:,.0f} MB of weights")
    svc.embed(["A sentence to embed."] * 32)
    svc.attentions("The quick brown fox jumps over the lazy dog", max_tokens=64)
    result = svc.generate([{"role": "user", "content": "Tell me a short story about a robot."}],
                          SamplingSettings(temperature=0, max_new_tokens=64)).collect()
    print(f"greedy chat generation: {len(result.tokens)} tokens, {result.tokens_per_second:.1f} tok/s, "
          f"time to first token {result.seconds_to_first_token * 1000:.0f} ms (prompt {result.prompt_tokens} tokens)")
    print(f"resident with both models loaded and used once: {rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
