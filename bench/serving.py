"""A room pressing Generate at once: N users through the model service, against one batched `model.generate`.

For each N (default 1, 8, 32) N threads ask the service for a greedy chat answer of at most --new-tokens tokens at
the same moment (different questions), and in the same run the same N templated prompts go through one left-padded
`model.generate` call (the reference a batching server should approach). Printed per N: aggregate tokens/s, time
to first token p50/p95, completion p50/p95, the service/reference ratio, and how large the batches grew. While the
8-user round runs, a ninth thread tokenizes a sentence over and over: its latency next to the idle latency shows
whether introspection waits behind generation.

Usage: .venv/bin/python -m bench.serving [--users 1 8 32] [--new-tokens 48] [--repeat 1] [--temperature 0.8 --top-p 0.9]
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

TOPICS = ["a lighthouse", "a lost key", "the first snow", "a robot chef", "an old map", "a quiet library", "a comet",
          "a bicycle race", "a talking cat", "a desert well", "a paper boat", "a night train", "a glass bridge",
          "a forgotten song", "a river festival", "a clockmaker", "a mountain hut", "a secret garden", "a tiny dragon",
          "a storm at sea", "a market day", "a broken violin", "a moon base", "a school play", "a summer fair",
          "a locked door", "a kite", "a snowman", "a pirate parrot", "a new planet", "a bakery", "a treehouse"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="*", default=[1, 8, 32])
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); else sampled answers")
    parser.add_argument("--top-p", type=float, default=1.0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from core.serving.model_service import ModelService
    from core.serving.sampling import SamplingSettings
    from core.serving.settings import Settings

    svc = ModelService(Settings.from_env())
    t0 = time.perf_counter()
    svc.load(kind="causal-lm")
    svc.load(kind="sentence-encoder")
    print(f"device {svc.device_label}, torch threads {torch.get_num_threads()}, models loaded in "
          f"{time.perf_counter() - t0:.1f} s; answers of at most {args.new_tokens} tokens, "
          f"{'greedy' if not args.temperature else f'sampled at temperature {args.temperature}, top-p {args.top_p}'}")
    settings = SamplingSettings(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.new_tokens,
                                seed=None if args.temperature == 0 else 1)
    sampled = dict(do_sample=True, temperature=args.temperature, top_p=args.top_p, top_k=0) if args.temperature else \
        dict(do_sample=False)
    messages = [[{"role": "user", "content": f"Tell me a story about {t}."}] for t in TOPICS]
    tok = svc.tokenizer()
    stop = sorted(svc.stop_token_ids())

    def reference(n: int) -> tuple[float, int]:
        """One left-padded model.generate for the first n prompts: (seconds, generated tokens up to each stop)."""
        texts = [svc.chat_prompt(m) for m in (messages * 2)[:n]]
        tok.padding_side = "left"
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with svc.borrowed_decoder() as net, torch.inference_mode():
            t = time.perf_counter()
            out = net.generate(**enc.to(svc.device), max_new_tokens=args.new_tokens, **sampled,
                               eos_token_id=stop, pad_token_id=tok.pad_token_id or stop[0])
            seconds = time.perf_counter() - t
        new = out[:, enc["input_ids"].shape[1]:].tolist()
        count = sum(next((i for i, x in enumerate(row) if x in stop), len(row)) for row in new)
        return seconds, count

    def room(n: int, probe: bool = False) -> dict:
        results, start = [None] * n, threading.Barrier(n + 1)
        done = threading.Event()
        probe_times: list[float] = []

        def user(i: int) -> None:
            start.wait()
            t = time.perf_counter()
            r = svc.generate((messages * 2)[i % (2 * len(messages))], settings).collect()
            results[i] = (r.seconds_to_first_token, time.perf_counter() - t, len(r.tokens))

        def tokenizer_probe() -> None:
            start.wait()
            probe_tokenizer(probe_times, done)
        threads = [threading.Thread(target=user, args=(i,)) for i in range(n)]
        if probe:
            start = threading.Barrier(n + 2)
            threads.append(threading.Thread(target=tokenizer_probe))
        for th in threads:
            th.start()
        t = time.perf_counter()
        start.wait()
        for th in threads[:n]:
            th.join()
        wall = time.perf_counter() - t
        done.set()
        for th in threads[n:]:
            th.join()
        ttft = [r[0] for r in results]
        total = [r[1] for r in results]
        return {"wall": wall, "tokens": sum(r[2] for r in results), "ttft": ttft, "total": total,
                "probe": probe_times}

    def probe_tokenizer(times: list[float], done: threading.Event, calls: int = 10**9) -> None:
        """A learner on the tokenizer page: one call every 50 ms. The idle baseline uses the same rhythm: calls
        made back to back run ~3x faster (warm caches, CPU awake) than calls 50 ms apart, even with nothing else
        running, so comparing a back-to-back baseline with a paced probe overstates the slow-down."""
        while not done.is_set() and len(times) < calls:
            t = time.perf_counter()
            svc.tokenize("How many tokens does this sentence have, while the room generates?")
            times.append(time.perf_counter() - t)
            time.sleep(0.05)

    svc.generate(messages[0], SamplingSettings(temperature=0, max_new_tokens=4)).collect()     # warm-up
    idle: list[float] = []
    probe_tokenizer(idle, threading.Event(), calls=60)
    print(f"tokenizer idle (one call every 50 ms): median {statistics.median(idle) * 1000:.2f} ms\n")
    ratios: dict[int, list[float]] = {n: [] for n in args.users}
    print(f"{'users':>5} {'service tok/s':>13} {'reference tok/s':>15} {'ratio':>6} {'wall s':>7} {'ref s':>6} "
          f"{'TTFT p50':>8} {'TTFT p95':>8} {'done p50':>8} {'done p95':>8} {'batch':>5}")
    for _ in range(args.repeat):
        for n in args.users:
            sched = svc._scheduler(svc._slot(None, "causal-lm"))
            sched.largest_batch = 0
            r = room(n, probe=(n == 8))
            ref_s, ref_tokens = reference(n)
            ours, theirs = r["tokens"] / r["wall"], ref_tokens / ref_s
            ratios[n].append(ours / theirs)
            print(f"{n:>5} {ours:>13.1f} {theirs:>15.1f} {ours / theirs:>6.2f} {r['wall']:>7.1f} {ref_s:>6.1f} "
                  f"{pct(r['ttft'], .5):>8.2f} {pct(r['ttft'], .95):>8.2f} {pct(r['total'], .5):>8.2f} "
                  f"{pct(r['total'], .95):>8.2f} {sched.largest_batch:>5}")
            if r["probe"]:
                print(f"      tokenizer while {n} generate: median {statistics.median(r['probe']) * 1000:.2f} ms, "
                      f"max {max(r['probe']) * 1000:.1f} ms over {len(r['probe'])} calls "
                      f"({statistics.median(r['probe']) / statistics.median(idle):.1f}x idle)")
    if args.repeat > 1:
        print("\nservice / reference over the repeats (this machine's speed drifts by 10-20% from run to run):")
        for n, values in ratios.items():
            print(f"  {n:>3} users: median {statistics.median(values):.2f}  (runs: "
                  f"{', '.join(f'{v:.2f}' for v in values)})")
    svc.close()


if __name__ == "__main__":
    main()
