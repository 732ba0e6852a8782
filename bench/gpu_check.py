"""One prepared GPU check: SmolLM2-135M's architecture with random weights, through the app's batch scheduler.

The bundled GGUF (98 MB) is too big to carry to a lent GPU machine, and speed does not depend on the weights' values,
so the model is built from the shipped config (config/architectures/smollm2-135m-instruct.json). Prints the
device, dtype, and for batch 1 and for --users users at once: aggregate tokens/s, time to first token p50/p95 and
completion p50/p95, next to one padded `model.generate` of the same prompts. Runs on the CPU too (smaller default
user count there). Needs only torch and transformers (no streamlit).

Then the same prompts through `model.generate` with a static KV cache and `torch.compile` (batch 1 and --users),
compile time apart.

    python -m bench.gpu_check [--users 32] [--new-tokens 48] [--dtype auto|float32|bfloat16] [--no-compile]
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent



def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=0, help="default: 32 on a GPU, 8 on the CPU")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--prompt-tokens", type=int, default=40)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--no-compile", action="store_true", help="leave out the static cache + torch.compile part")
    args = parser.parse_args()

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from core.serving.batching import BatchScheduler, GenerationRequest
    from core.serving.generation import GenerationResult
    from core.serving.sampling import SamplingSettings

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = ((torch.bfloat16 if device.type == "cuda" else torch.float32) if args.dtype == "auto"
             else getattr(torch, args.dtype))
    users = args.users or (32 if device.type == "cuda" else 8)
    raw = json.loads((ROOT / "config" / "architectures" / "smollm2-135m-instruct.json").read_text())
    fields = set(LlamaConfig().to_dict())
    config = LlamaConfig(**{k: v for k, v in raw.items() if k in fields})
    torch.manual_seed(0)
    t = time.perf_counter()
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype).eval()
    model.config.attn_implementation = "sdpa"
    print(f"device {torch.cuda.get_device_name(0) if device.type == 'cuda' else 'CPU'}, {dtype}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters (random), "
          f"built in {time.perf_counter() - t:.1f} s; "
          f"torch {torch.__version__}")
    lock = threading.RLock()
    sched = BatchScheduler(lambda: (model, lock), max_batch=max(users, 1))
    generator = torch.Generator().manual_seed(1)
    prompts = [torch.randint(10, config.vocab_size - 10, (args.prompt_tokens + i % 7,), generator=generator).tolist()
               for i in range(users)]
    # No stop ids: every answer runs to the full length, as the reference's min_new_tokens makes it do too.
    settings = SamplingSettings(temperature=0, max_new_tokens=args.new_tokens)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def room(n: int) -> dict:
        """n users submit at the same moment, each reading its own stream (times count from submission)."""
        results, barrier = [None] * n, threading.Barrier(n + 1)

        def user(i: int) -> None:
            barrier.wait()
            stream = sched.submit(GenerationRequest(tuple(prompts[i]), settings),
                                  GenerationResult(max_new_tokens=args.new_tokens), lambda ids: "")
            results[i] = stream.collect()
        threads = [threading.Thread(target=user, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        start = time.perf_counter()
        barrier.wait()
        for th in threads:
            th.join()
        wall = time.perf_counter() - start
        return {"wall": wall, "tokens": sum(len(r.tokens) for r in results),
                "ttft": [r.seconds_to_first_token for r in results], "done": [r.seconds for r in results]}

    def reference(n: int) -> tuple[float, int]:
        ids, mask = left_padded(prompts[:n], device)
        longest = ids.shape[1]
        sync()
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=args.new_tokens, do_sample=False,
                                 min_new_tokens=args.new_tokens, pad_token_id=0)
        sync()
        return time.perf_counter() - t0, (out.shape[1] - longest) * n

    room(1)                                                     # warm-up: kernels, allocator
    reference(1)
    print(f"{'users':>5} {'service tok/s':>13} {'generate tok/s':>14} {'ratio':>6} {'TTFT p50':>8} {'TTFT p95':>8} "
          f"{'done p50':>8} {'done p95':>8}")
    for n in sorted({1, users}):
        r = room(n)
        ref_s, ref_tokens = reference(n)
        ours, theirs = r["tokens"] / r["wall"], ref_tokens / ref_s
        print(f"{n:>5} {ours:>13.1f} {theirs:>14.1f} {ours / theirs:>6.2f} {pct(r['ttft'], .5):>8.3f} "
              f"{pct(r['ttft'], .95):>8.3f} {pct(r['done'], .5):>8.2f} {pct(r['done'], .95):>8.2f}")
    print(f"decode steps {sched.steps}, largest batch {sched.largest_batch}")
    sched.close()
    if not args.no_compile:
        static_compiled(model, prompts, args.new_tokens, sorted({1, users}), device, sync)


def left_padded(prompts: list[list[int]], device):
    """Prompts as one (n, longest) batch of ids, padded on the left with 0, and its attention mask."""
    import torch

    longest = max(len(p) for p in prompts)
    ids = torch.tensor([[0] * (longest - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (longest - len(p)) + [1] * len(p) for p in prompts], device=device)
    return ids, mask


def static_compiled(model, prompts, new_tokens: int, sizes: list[int], device, sync) -> None:
    """`model.generate` with a static KV cache, its forward pass compiled (`torch.compile`): the GPU target
    for batch 1 (≥ 300 tok/s). The first call per batch size compiles (timed apart); the second is measured."""
    import torch

    print("\nstatic KV cache + torch.compile (model.generate):")
    compiled = torch.compile(model.forward, mode="reduce-overhead" if device.type == "cuda" else "default")
    plain, model.forward = model.forward, compiled
    try:
        for n in sizes:
            ids, mask = left_padded(prompts[:n], device)
            times = []
            for _ in range(3):
                sync()
                t0 = time.perf_counter()
                with torch.inference_mode():
                    model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, do_sample=False,
                                   min_new_tokens=new_tokens, pad_token_id=0, cache_implementation="static")
                sync()
                times.append(time.perf_counter() - t0)
            print(f"  {n:>3} users: first call (compiling) {times[0]:.1f} s; "
                  f"then {n * new_tokens / min(times[1:]):.1f} "
                  f"tok/s aggregate, {min(times[1:]):.2f} s per answer")
    except Exception as exc:                     # a compile failure is reported, not fatal to the check
        print(f"  failed: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        model.forward = plain


if __name__ == "__main__":
    main()
