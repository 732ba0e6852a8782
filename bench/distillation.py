"""Page 10's distillation race on this machine: seconds for the default race, and each model's size,
reading speed, held-out perplexity, KL to the teacher and top-1 agreement; the curves' points.

Usage: .venv/bin/python -m bench.distillation [--steps 30] [--temperature 1] [--alpha 0.9] [--lr 3e-4]
"""
from __future__ import annotations

import argparse
import time

from core.labs.lifecycle_optimization import distillation as dl
from core.serving.measure import FIXED_TEXT
from core.serving.model_service import ModelService
from core.serving.settings import Settings


def main() -> None:
    base = dl.RaceSettings()
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=base.steps)
    parser.add_argument("--temperature", type=float, default=base.temperature)
    parser.add_argument("--alpha", type=float, default=base.alpha)
    parser.add_argument("--lr", type=float, default=base.lr)
    args = parser.parse_args()
    svc = ModelService(Settings.from_env())
    svc.load()
    train_text, held_text = dl.corpus()
    settings = dl.RaceSettings(steps=args.steps, temperature=args.temperature, alpha=args.alpha, lr=args.lr)
    started = time.perf_counter()
    race = dl.run_race(svc.decoder_copy, svc.encode_ids(train_text), svc.encode_ids(held_text), settings,
                       probe_ids=svc.encode_ids(FIXED_TEXT))
    total = time.perf_counter() - started
    print(f"race: {total:.1f} s in all ({race.seconds:.1f} s inside); {settings}")
    print(f"teacher {race.teacher_layers} layers, {race.teacher_parameters:,} parameters; student "
          f"{len(race.layers)} layers, {race.student_parameters:,}")
    for m in [m for m in (race.teacher, race.untrained, *race.students, race.combined) if m is not None]:
        print(f"  {m.name:24s} ppl {m.perplexity:9.1f}  KL {m.kl:5.2f}  top-1 {m.top1:4.0%}  probe KL "
              f"{m.probe_kl:5.2f}  {m.tokens_per_second:6.0f} tok/s  {m.bytes / 1e6:5.0f} MB  "
              f"train {m.run.seconds:5.1f} s")
        if m.run.held_out:
            print(f"    held-out perplexity by step: {[(s, round(p, 1)) for s, p in m.run.held_out]}")


if __name__ == "__main__":
    main()
