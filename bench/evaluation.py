"""Evaluation lab timings and SmolLM2's scores on this machine.

1. Mini-benchmark: seconds per question and whole-set time for each scoring mode and k, SmolLM2's accuracy with
   its 95% Wilson interval, acc_norm, unparsed replies (generate mode), ECE, and the robustness variants.
2. Summaries: the shipped dialogues generated together through the model service (batched), wall time, mean ROUGE.
3. Metrics: ROUGE-1/2/L and BLEU on a 100,000-character output.

Usage: .venv/bin/python -m bench.evaluation [questions, default all] [--quick: letter 0-shot and generate only]
"""
from __future__ import annotations

import functools
import sys
import time

from core.labs.evaluation_benchmarks import benchmark as bm
from core.labs.evaluation_benchmarks import metrics
from core.labs.evaluation_benchmarks import summaries as sm
from core.serving import inspection
from core.serving.model_service import ModelService
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings


def run_set(svc: ModelService, data: bm.Benchmark, n: int, mode: str, k: int, perturbation: str = "original"):
    def generate(message: str) -> str:
        settings = SamplingSettings(temperature=0.0, max_new_tokens=8)
        return svc.generate([{"role": "user", "content": message}], settings).collect().text

    rows = []
    start = time.perf_counter()
    for i in data.balanced_order()[:n]:
        q = data.questions[i]
        rows.append(bm.score_question(data, bm.perturb(q, perturbation, seed=i), i, k, mode, svc.encode_ids,
                                      functools.partial(inspection.continuation_logprobs, svc), generate))
    return bm.Summary(rows), time.perf_counter() - start


def report(label: str, s: bm.Summary, wall: float) -> None:
    low, high = s.interval
    extra = (f"unparsed {s.unparsed}" if any(r.mode == "generate" for r in s.rows) else
             f"acc_norm {s.accuracy_norm:.1%}  ECE "
             f"{bm.reliability([r.confidence for r in s.rows], [r.correct for r in s.rows], 5, 0.25)[1]:.3f}")
    print(f"{label:<28} acc {s.accuracy:6.1%} ({s.correct}/{s.n})  95% CI {low:.1%}–{high:.1%}  {extra:<26} "
          f"{wall / s.n:6.3f} s/question  whole set {wall:6.1f} s")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    svc = ModelService(Settings.from_env())
    t0 = time.perf_counter()
    svc.load()
    print(f"decoder loaded in {time.perf_counter() - t0:.1f} s on {svc.device_label}")
    data = bm.load()
    n = int(args[0]) if args else len(data.questions)
    inspection.continuation_logprobs(svc, svc.encode_ids("warm up"), [svc.encode_ids(" A")])

    print(f"\n== Mini-benchmark: {n} questions, {len(data.subjects)} subjects (random baseline 25%) ==")
    settings = [("letter", 0), ("generate", 0)] if quick else \
        [("letter", 0), ("letter", 3), ("letter", 5), ("text", 0), ("text", 3), ("generate", 0), ("generate", 3)]
    results = {}
    for mode, k in settings:
        s, wall = run_set(svc, data, n, mode, k)
        results[(mode, k)] = s
        report(f"{mode} {k}-shot", s, wall)
    base = results[("letter", 0)]
    print("\nper subject (letter, 0-shot):")
    for row in base.by_subject(data):
        low, high = bm.wilson_interval(row.correct, row.n)
        print(f"  {row.title:<20} {row.correct:2d}/{row.n:<2d} {row.accuracy:6.1%}  CI {low:.0%}–{high:.0%}")
    picks = [r.predicted for r in base.rows]
    print("  letters picked (A B C D):", [picks.count(i) for i in range(4)],
          " right letters:", [sum(r.question.answer == i for r in base.rows) for i in range(4)])
    if not quick:
        print("\nrobustness (letter, 0-shot):")
        for p in ("shuffled", "typo"):
            s, wall = run_set(svc, data, n, "letter", 0, p)
            flips = sum(a.correct != b.correct for a, b in zip(base.rows, s.rows))
            report(f"letter 0-shot {p}", s, wall)
            print(f"{'':28} right/wrong changed on {flips} of {n}")

    print("\n== Summaries: all dialogues submitted at once (the service batches them) ==")
    task = sm.load()
    for shots in (0,) if quick else (0, 3):
        start = time.perf_counter()
        streams = [(item, svc.generate(sm.messages(task, item, shots),
                                       SamplingSettings(temperature=0.0, max_new_tokens=sm.MAX_NEW_TOKENS)))
                   for item in task.items]
        scored = [sm.score(item, stream.collect().text) for item, stream in streams]
        wall = time.perf_counter() - start
        mean = {k: sum(getattr(s, k) for s in scored) / len(scored) for k in ("rouge1", "rouge2", "rougeL")}
        print(f"{shots}-shot: {len(scored)} summaries in {wall:.1f} s; mean F1 ROUGE-1 {mean['rouge1']:.3f} "
              f"ROUGE-2 {mean['rouge2']:.3f} ROUGE-L {mean['rougeL']:.3f}")
        worst = min(scored, key=lambda s: s.rougeL)
        print(f"  worst {worst.item.id} (ROUGE-L {worst.rougeL:.2f}): {worst.summary[:120]!r}")

    print("\n== A room: 8 sessions press \"Summarise\" at the same moment (fresh replies, 0-shot) ==")
    import threading

    settings = SamplingSettings(temperature=0.0, max_new_tokens=sm.MAX_NEW_TOKENS)
    items = {item.id: item for item in task.items}
    board = sm.ReplyBoard()
    keys = [(item.id, 0, "room") for item in task.items]
    done_at = []

    def session() -> None:
        sm.generate_shared(board, keys, lambda k: svc.generate(sm.messages(task, items[k[0]], 0), settings))
        done_at.append(time.perf_counter() - start)
    start = time.perf_counter()
    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"shared board: all 8 sessions had 30 summaries after {max(done_at):.1f} s "
          f"(first {min(done_at):.1f} s); {len(task.items)} generations in all, not {8 * len(task.items)}")

    print("\n== Metrics on a 100,000-character output ==")
    long = ("the cat sat on the mat and looked at the dog " * 2300)[:100_000]
    for kind in metrics.ROUGE_KINDS:
        t = time.perf_counter()
        metrics.rouge(long, "the cat is on the mat", kind, stem=True)
        print(f"  {kind}: {time.perf_counter() - t:.3f} s")
    t = time.perf_counter()
    metrics.bleu(long, "the cat is on the mat")
    print(f"  BLEU: {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
