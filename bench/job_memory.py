"""Does the server's memory come back after a training run? Resident memory before and after races on the training
queue (core/serving/jobs.py collects garbage and trims the heap after every job).

Each run is a small race (full fine-tuning, LoRA and prompt tuning; a few steps) on private copies of SmolLM2,
submitted to a `Jobs` queue like the app does. "Before" is measured with the decoder loaded and used once;
the target is to be back within 10% of it after each run.

Usage: .venv/bin/python -m bench.job_memory [--runs 3] [--steps 4]
"""
from __future__ import annotations

import argparse

import psutil

from core.labs.fine_tuning_peft import race
from core.serving.jobs import Jobs
from core.serving.model_service import ModelService
from core.serving.settings import Settings


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    service = ModelService(Settings.from_env())
    service.load(kind="causal-lm")
    service.generate([{"role": "user", "content": "Hello"}]).collect()
    jobs = Jobs(max_queued=2, workers=1)
    settings = race.RaceSettings(steps=args.steps, batch=2)
    start = rss_mb()
    print(f"before any run: {start:,.0f} MB resident (decoder loaded and used once)")
    peaks = []
    for n in range(1, args.runs + 1):
        job = jobs.submit("bench", "race", lambda ctx: race.run_race(service.decoder_copy, service.tokenizer(),
                                                                      settings, cancelled=ctx.cancelled))
        peak = start
        while not job.wait(0.5):
            job.touch()                      # someone is watching it (an unwatched job is cancelled)
            peak = max(peak, rss_mb())
        snap = job.snapshot()
        after = rss_mb()
        peaks.append(peak)
        print(f"run {n}: {snap.state} in {snap.finished_at - snap.started_at:.0f} s; peak ≥ {peak:,.0f} MB; after "
              f"{after:,.0f} MB ({(after - start) / start:+.1%} of before)")
    jobs.shutdown()
    service.close()


if __name__ == "__main__":
    main()
