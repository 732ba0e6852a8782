"""How many CPU threads should torch use? The bundled decoder timed at several intra-op thread counts.

For each count: a forward pass over a 128-token text (prompt processing) and a 32-token greedy generation
(decoding, memory-bound), median of --repeats runs after a warm-up. The service sets the count once at start
(GENAI_LAB_TORCH_THREADS, default: the cores this process may use, core/serving/device.py usable_cores).

Usage: .venv/bin/python -m bench.threads [--threads 1 2 4] [--repeats 5] [--new-tokens 32]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

TEXT = ("The river rises in the hills to the north and flows slowly through farmland before it reaches the city. "
        "In spring the water is high and brown with mud, and the old stone bridge is sometimes closed to traffic. ") * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    torch_default = torch.get_num_threads()          # torch's own choice, before the service sets it

    from core.serving.device import usable_cores
    from core.serving.generation import greedy_continue
    from core.serving.model_service import ModelService
    from core.serving.settings import Settings

    settings = Settings.from_env()
    svc = ModelService(settings)
    print(f"device: {svc.device_label}; os.cpu_count()={os.cpu_count()}, usable cores={usable_cores()}, "
          f"torch default={torch_default}, service set {svc.torch_threads} "
          f"(GENAI_LAB_TORCH_THREADS={os.environ.get('GENAI_LAB_TORCH_THREADS', 'unset')})")
    svc.load(kind="causal-lm")
    text_ids = svc.encode_ids(TEXT)[:128]
    prompt_ids = svc.chat_ids([{"role": "user", "content": "Tell me a short story about a robot."}])
    counts = list(dict.fromkeys([*args.threads, torch_default]))
    print(f"forward: {len(text_ids)} tokens; generation: {args.new_tokens} new tokens greedy after a "
          f"{len(prompt_ids)}-token prompt; median of {args.repeats}\n")
    print(f"{'threads':>18} {'forward ms':>10} {'prompt tok/s':>12} {'generate s':>10} {'gen tok/s':>9}")
    with svc.borrowed_decoder() as net:
        x = torch.tensor([text_ids], device=svc.device)
        p = torch.tensor([prompt_ids], device=svc.device)
        for n in counts:
            torch.set_num_threads(n)
            with torch.inference_mode():
                net(input_ids=x)                                           # warm-up at this count
            forward, generate = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                with torch.inference_mode():
                    net(input_ids=x)
                forward.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                new = greedy_continue(net, p, args.new_tokens)             # no stop ids: always new_tokens
                generate.append(time.perf_counter() - t0)
            f, g = statistics.median(forward), statistics.median(generate)
            label = f"{n}" + (" (torch default)" if n == torch_default else "")
            print(f"{label:>18} {f * 1000:10.0f} {len(text_ids) / f:12.0f} {g:10.2f} {len(new) / g:9.1f}", flush=True)
    torch.set_num_threads(svc.torch_threads)


if __name__ == "__main__":
    main()
