"""A room pressing Generate at once: N users through the model service, against one batched `model.generate`.

For each N (default 1, 8, 32) N threads ask the service for a greedy chat answer of at most --new-tokens tokens at
the same moment (different questions), and in the same run the same N templated prompts go through one left-padded
`model.generate` call (the reference a batching server should approach). Printed per N: aggregate tokens/s, time
to first token p50/p95, completion p50/p95, the service/reference ratio, and how large the batches grew. While the
8-user round runs, a ninth thread tokenizes a sentence over and over: its latency next to the idle latency shows
whether introspection waits behind generation.

--remote-transformers-serve: the bench also starts `transformers serve` on this machine's CPU, serving the same
bundled SmolLM2 (tests/openai_servers.py, the stand-in for vLLM in the tests), and sends the same N users to it
through the app's `backend: openai` client; a second table puts the in-process service and the served model side by
side: aggregate tok/s, first token p95, when the last answer was done. The page-4 case (8 users pressing Generate,
48-token answers, temperature 0.8, top-p 0.9):

    python -m bench.serving --users 8 --new-tokens 48 --temperature 0.8 --top-p 0.9 --remote-transformers-serve

Usage: .venv/bin/python -m bench.serving [--users 1 8 32] [--new-tokens 48] [--repeat 1] [--temperature 0.8 --top-p 0.9]
       [--remote-transformers-serve [--serve-continuous-batching]]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

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
    parser.add_argument("--remote-transformers-serve", action="store_true",
                        help="also run the same users against `transformers serve` serving the same model")
    parser.add_argument("--serve-continuous-batching", action="store_true",
                        help="start `transformers serve` with --continuous-batching (its default is off)")
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

    def room(n: int, probe: bool = False, service=None, model: str | None = None) -> dict:
        service = service or svc
        results, start = [None] * n, threading.Barrier(n + 1)
        done = threading.Event()
        probe_times: list[float] = []

        def user(i: int) -> None:
            start.wait()
            t = time.perf_counter()
            r = service.generate((messages * 2)[i % (2 * len(messages))], settings, model=model).collect()
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
    if args.remote_transformers_serve:
        compare_with_server(args, svc, room)
    if args.repeat > 1:
        print("\nservice / reference over the repeats (this machine's speed drifts by 10-20% from run to run):")
        for n, values in ratios.items():
            print(f"  {n:>3} users: median {statistics.median(values):.2f}  (runs: "
                  f"{', '.join(f'{v:.2f}' for v in values)})")
    svc.close()


def compare_with_server(args, svc, room) -> None:
    """The same rooms against `transformers serve` serving the same model on this machine, next to the in-process
    service (measured again here, right before the served model, so both see the machine in the same state)."""
    from core.serving.model_service import ModelService
    from core.serving.registry import parse_registry
    from tests.openai_servers import serve_available, served_folder, transformers_serve

    if not serve_available():
        print("\n`transformers serve` needs fastapi and openai (requirements-dev.txt): skipped")
        return
    extra = ("--continuous-batching",) if args.serve_continuous_batching else ()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = served_folder(Path(tmp))
        t0 = time.perf_counter()
        base_url = stack.enter_context(transformers_serve(folder, Path(tmp).parent / "genai-lab-serve.log",
                                                          extra_args=extra))
        print(f"\ntransformers serve {' '.join(extra)} healthy after {time.perf_counter() - t0:.1f} s at {base_url}")
        registry = parse_registry({"models": {"served": {"kind": "causal-lm", "backend": "openai",
                                                         "base_url": base_url, "model": str(folder),
                                                         "read_timeout": 300}}})
        remote = ModelService(svc.settings, registry)
        remote.load("served")
        remote.generate([{"role": "user", "content": "Hi"}], None, model="served").collect()     # warm-up
        print(f"{'users':>5} {'backend':<28} {'tok/s':>7} {'TTFT p50':>8} {'TTFT p95':>8} {'last done s':>11} "
              f"{'tokens':>6}")
        for n in args.users:
            for label, r in (("in-process service", room(n)),
                             ("transformers serve (HTTP)", room(n, service=remote, model="served"))):
                print(f"{n:>5} {label:<28} {r['tokens'] / r['wall']:>7.1f} {pct(r['ttft'], .5):>8.2f} "
                      f"{pct(r['ttft'], .95):>8.2f} {max(r['total']):>11.2f} {r['tokens']:>6}")
        remote.close()


if __name__ == "__main__":
    main()
