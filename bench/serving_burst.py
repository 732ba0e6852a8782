"""200 chat requests at once through the model service: all answered, and resident memory back near its start.

Prints tokens, tokens/s, stop reasons, the largest batch, and resident memory before, at its peak and 2 s after
the last answer (the scheduler hands freed memory back to the system when a batch empties: core/serving/batching.py
`release_freed_memory`).

Usage: .venv/bin/python -m bench.serving_burst [--requests 200] [--new-tokens 48]
"""
from __future__ import annotations

import argparse
import gc
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--new-tokens", type=int, default=48)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import psutil

    from core.serving.model_service import ModelService
    from core.serving.sampling import SamplingSettings
    from core.serving.settings import Settings

    svc = ModelService(Settings.from_env())
    svc.load(kind="causal-lm")
    proc = psutil.Process()
    svc.generate([{"role": "user", "content": "Hello"}], SamplingSettings(temperature=0, max_new_tokens=8)).collect()
    gc.collect()
    before, peak, t = proc.memory_info().rss, 0, time.perf_counter()
    streams = [svc.generate([{"role": "user", "content": f"Tell me a story about number {i}."}],
                            SamplingSettings(temperature=0.8, seed=i, max_new_tokens=args.new_tokens))
               for i in range(args.requests)]
    results = []
    for stream in streams:
        results.append(stream.collect())
        peak = max(peak, proc.memory_info().rss)
    wall = time.perf_counter() - t
    time.sleep(2)
    gc.collect()
    after = proc.memory_info().rss
    tokens = sum(len(r.tokens) for r in results)
    sched = svc._scheduler(svc._slot(None, "causal-lm"))
    print(f"{args.requests} requests: {tokens:,} tokens in {wall:.1f} s ({tokens / wall:.0f} tok/s), stop reasons "
          f"{sorted(set(r.stop_reason for r in results))}, largest batch {sched.largest_batch}; resident memory "
          f"before {before / 1e6:,.0f} MB, peak {peak / 1e6:,.0f} MB, after {after / 1e6:,.0f} MB")
    svc.close()


if __name__ == "__main__":
    main()
