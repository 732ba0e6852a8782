"""Does the shared model survive Streamlit's "Clear caches"? Resident memory and threads per clear cycle.

Any viewer can clear every cache from the app's menu (st.cache_data.clear() + st.cache_resource.clear()).
Each cycle here does what the app does next: clear both caches, get the cached model service again (a new
one, which loads the decoder), and generate ~16 tokens through it. Before the service was released on
clear, each cycle kept the old model alive (the generation worker held it) and memory grew ~0.5 GB a cycle.

Usage: .venv/bin/python -m bench.cache_clear [--cycles 10] [--tokens 16]
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import threading
import time

import psutil


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    import streamlit as st
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    for name in list(logging.root.manager.loggerDict):       # "No runtime found" warnings outside `streamlit run`
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)

    from components.common.cache import model_service
    from core.serving.sampling import SamplingSettings

    settings = SamplingSettings(temperature=0, max_new_tokens=args.tokens)
    messages = [{"role": "user", "content": "Tell me a short story about a robot."}]
    print(f"{'cycle':>5} {'RSS MB':>8} {'threads':>7} {'tokens':>6} {'seconds':>7}")
    first = None
    rows = []
    for cycle in range(args.cycles + 1):
        if cycle:
            st.cache_data.clear()
            st.cache_resource.clear()
        t0 = time.perf_counter()
        service = model_service()
        result = service.generate(messages, settings).collect()
        del service
        gc.collect()
        rss, threads = rss_mb(), threading.active_count()
        rows.append(rss)
        if cycle == 1:
            first = rss
        label = "warm" if cycle == 0 else str(cycle)
        print(f"{label:>5} {rss:8,.0f} {threads:7d} {len(result.tokens):6d} {time.perf_counter() - t0:7.2f}",
              flush=True)
    if first is not None and len(rows) > 2:
        growth = (rows[-1] - first) / first
        print(f"RSS after cycle 1: {first:,.0f} MB, after cycle {args.cycles}: {rows[-1]:,.0f} MB "
              f"({growth:+.1%}; target within ±10%), max {max(rows[1:]):,.0f} MB")


if __name__ == "__main__":
    main()
