"""Sampling lab and prompt bench timings on this machine.

1. Knob redraw: the prompt's logits are cached; moving a knob re-runs the sampling pipeline (trace + chart rows).
2. Streaming generation: time to first token and tokens/s (greedy and sampled).
3. Prompt bench: seconds per answer for each set and style on a small subset, extrapolated to the whole set.

Usage: .venv/bin/python -m bench.sampling [items per style, default 3]
"""
from __future__ import annotations

import statistics
import sys
import time

import torch

from core.labs.inference_configuration.knobs import chart_rows, step_rows, trace
from core.labs.prompt_engineering import prompting
from core.serving.model_service import ModelService
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings

PROMPT = [{"role": "user", "content": "Tell me a short story about a dragon."}]


def knob_redraw(svc: ModelService) -> None:
    ids = svc.chat_ids(PROMPT)
    t0 = time.perf_counter()
    logits = torch.from_numpy(svc.next_token_logits(ids))
    first = time.perf_counter() - t0
    knobs = [SamplingSettings(temperature=t, top_k=k, top_p=p, repetition_penalty=r, frequency_penalty=f,
                              presence_penalty=f)
             for t in (0.0, 0.5, 1.0, 1.5) for k in (0, 40) for p in (1.0, 0.9, 0.5) for r in (1.0, 1.3)
             for f in (0, 1)]
    trace(logits, knobs[0], seen=ids)          # warm-up (first use of each torch kernel)
    times = []
    for s in knobs:
        t1 = time.perf_counter()
        t = trace(logits, s, seen=ids, generated=ids[-5:])
        chart_rows(t, 12), step_rows(t)
        times.append(time.perf_counter() - t1)
    print(f"knob redraw: logits for a {len(ids)}-token prompt (once, then cached) {first * 1000:.0f} ms; "
          f"re-processing them per knob move: median {statistics.median(times) * 1000:.1f} ms, "
          f"90th percentile {sorted(times)[int(len(times) * 0.9)] * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms over {len(knobs)} settings (vocab {logits.numel():,})")


def streaming(svc: ModelService) -> None:
    for label, s in [("greedy", SamplingSettings(temperature=0, max_new_tokens=64)),
                     ("temperature 0.7, top-p 0.9", SamplingSettings(temperature=0.7, top_p=0.9, max_new_tokens=64,
                                                                      seed=1)),
                     ("+ penalties + stop sequence", SamplingSettings(temperature=0.7, top_p=0.9, max_new_tokens=64,
                                                                       seed=1, repetition_penalty=1.2,
                                                                       frequency_penalty=0.5, presence_penalty=0.5,
                                                                       stop_sequences=("zzz",)))]:
        runs = [svc.generate(PROMPT, s).collect() for _ in range(3)]
        tps = statistics.median(r.tokens_per_second for r in runs)
        ttft = statistics.median(r.seconds_to_first_token for r in runs)
        print(f"streaming ({label}): {tps:.1f} tokens/s, first token after {ttft * 1000:.0f} ms "
              f"(median of 3 runs, {statistics.median(len(r.tokens) for r in runs):.0f} tokens)")


def bench_sets(svc: ModelService, n: int) -> None:
    generate = lambda m, s: svc.generate(m, s).collect()
    tasks = prompting.tasks()
    for set_name, task_id in (("reviews", "sentiment"), ("arithmetic", "arithmetic")):
        data = prompting.load_set(set_name)
        total = len(data["items"])
        whole = 0.0
        for setting in prompting.ALL_SETTINGS:
            t0 = time.perf_counter()
            summary = prompting.run_bench(generate, tasks[task_id], data, [setting], n)[0]
            per_item = (time.perf_counter() - t0) / len(summary.rows)
            whole += per_item * total
            print(f"bench {set_name:10s} {setting.label:32s} {per_item:5.2f} s/answer "
                  f"({summary.new_tokens / len(summary.rows):5.1f} new tokens) · "
                  f"accuracy on {n}: {summary.accuracy:.0%} "
                  f"· whole set of {total} ≈ {per_item * total:,.0f} s (extrapolated)")
        print(f"bench {set_name}: all six styles on all {total} items ≈ {whole / 60:.1f} min "
              f"(extrapolated from {n} items)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    svc = ModelService(Settings.from_env())
    t0 = time.perf_counter()
    svc.load()
    print(f"decoder load: {time.perf_counter() - t0:.1f} s · {torch.get_num_threads()} torch threads")
    knob_redraw(svc)
    streaming(svc)
    bench_sets(svc, n)


if __name__ == "__main__":
    main()
