"""Time and memory to build each shipped configuration on the meta device and count its parameters.

Usage: .venv/bin/python bench/architectures.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    t0 = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from core import architectures as arch
    print(f"import torch + transformers: {time.perf_counter() - t0:.2f} s, resident {rss_mb():,.0f} MB")
    print(f"{'model':24s} {'parameters':>18s} {'published':>10s} {'diff':>7s} {'build+count':>12s} {'RSS +MB':>8s}")
    for name in arch.known_models():
        before = rss_mb()
        t = time.perf_counter()
        b = arch.parameter_breakdown(name)
        dt = time.perf_counter() - t
        pub = arch.entry(name).published
        print(f"{name:24s} {b.total:>18,} {arch.human_count(pub):>10s} {b.total / pub - 1:+7.2%} "
              f"{dt * 1000:>9.0f} ms {rss_mb() - before:>8.1f}")
    t = time.perf_counter()
    arch.meta_model("BLOOM-176B")
    print(f"BLOOM-176B again (uncached meta build): {(time.perf_counter() - t) * 1000:.0f} ms; "
          f"fp32 weights would need {arch.parameter_breakdown('BLOOM-176B').total * 4 / 1e9:,.0f} GB")
    print(f"resident at the end: {rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
