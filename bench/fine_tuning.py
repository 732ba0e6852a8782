"""Fine-tuning lab timings and results on this machine: the default race, the race with general data mixed
in, and the two-adapter swap, on the bundled SmolLM2-135M.

Per method: seconds per step, tokens/s, total seconds, measured memory by part next to the deck's rule, trainable
share, the task score before/after, general questions and perplexity before/after (forgetting), the greedy replies.

Usage: .venv/bin/python -m bench.fine_tuning [--share 0.3] [--skip-swap]
"""
from __future__ import annotations

import argparse
import tempfile
import time

from core.labs.fine_tuning_peft import adapters, race
from core.labs.fine_tuning_peft.methods import deck_memory
from core.serving.model_service import ModelService
from core.serving.settings import Settings


def report(result, seconds: float) -> None:
    b = result.before
    print(f"race: {seconds:.1f} s in all; steps {result.settings.steps} × batch {result.settings.batch}, "
          f"general share {result.settings.general_share:.0%}")
    if b is not None:
        task = f"answers {b.task.answers:.0%} picks {b.task.picks:.0%}" if b.task else "no task score"
        print(f"  original: {task}; general {b.general:.0%}; perplexity {b.perplexity:.2f}")
        print(f"    replies: {list(result.before_samples)}")
    for o in result.outcomes:
        run, a = o.run, o.after
        deck = sum(deck_memory(o.method, run.trainable, run.total).values())
        print(f"  {o.method.title} ({o.method.describe()}): {run.state}; {run.trainable:,} trainable "
              f"({run.share:.3%}); {run.seconds_per_step:.2f} s/step, {run.tokens_per_second:.0f} tok/s, "
              f"train {run.train_seconds:.1f} s, scoring {o.eval_seconds:.1f} s")
        print(f"    memory measured {sum(run.memory.values()) / 1e6:,.0f} MB "
              f"({', '.join(f'{k} {v / 1e6:,.0f}' for k, v in run.memory.items())}); deck's rule {deck / 1e6:,.0f} MB")
        print(f"    loss {run.train_loss[0]:.2f} → {run.train_loss[-1]:.3f}; held-out "
              f"{' '.join(f'{s}:{v:.3f}' for s, v in run.held_out)}")
        if a is not None:
            task = f"answers {a.task.answers:.0%} picks {a.task.picks:.0%}" if a.task else "no task score"
            print(f"    after: {task}; general {a.general:.0%}; perplexity {a.perplexity:.2f}")
            print(f"    replies: {list(o.samples)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--share", type=float, default=None, help="also race with this share of general data")
    parser.add_argument("--skip-swap", action="store_true")
    args = parser.parse_args()
    svc = ModelService(Settings.from_env())
    svc.load(kind="causal-lm")
    tok = svc.tokenizer()
    started = time.perf_counter()
    first = race.run_race(svc.decoder_copy, tok, race.RaceSettings())
    report(first, time.perf_counter() - started)
    before = (first.before, first.before_samples)
    started = time.perf_counter()
    again = race.run_race(svc.decoder_copy, tok, race.RaceSettings(), before=before)
    print(f"the same race again, the original's scores reused: {time.perf_counter() - started:.1f} s")
    if args.share:
        started = time.perf_counter()
        mixed = race.run_race(svc.decoder_copy, tok, race.RaceSettings(general_share=args.share), before=before)
        report(mixed, time.perf_counter() - started)
    del again
    if not args.skip_swap:
        started = time.perf_counter()
        swap = adapters.swap_demo(svc.decoder_copy, tok, tempfile.mkdtemp())
        print(f"adapters: {time.perf_counter() - started:.1f} s; sizes "
              f"{ {t: f'{s.bytes / 1e6:.2f} MB' for t, s in swap.saved.items()} }; reload difference "
              f"{swap.reload_difference:.2g}; merge max diff {swap.merge.max_abs_difference:.2g}; ms per forward "
              f"base {swap.merge.ms_base:.0f}, adapter {swap.merge.ms_adapter:.0f}, merged {swap.merge.ms_merged:.0f}")
        for row in swap.replies:
            print("   ", row)


if __name__ == "__main__":
    main()
