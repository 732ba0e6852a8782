"""Quantize the bundled decoder (FP16, BF16, INT8 per-channel, INT4 group-wise) and measure each scheme
against FP32: stored size, time to quantize, forward speed, generation speed, KL, top-1 agreement, perplexity.
Also prints the calculator's estimate next to the measured bytes, and a few calculator timings.

Usage: .venv/bin/python -m bench.quantization [--repeats 3] [--new-tokens 32]
"""
from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--group-size", type=int, default=64)
    args = ap.parse_args()

    from core.labs.compute_quantization import memory
    from core.labs.compute_quantization import quantization as qz
    from core.serving import inspection, measure
    from core.serving.model_service import ModelService
    from core.serving.settings import Settings, enforce_offline_default

    enforce_offline_default()
    svc = ModelService(Settings.from_env())
    t0 = time.perf_counter()
    status = svc.load()
    print(f"device: {svc.device_label}; decoder loaded in {time.perf_counter() - t0:.1f} s, "
          f"{status.parameters:,} parameters, {status.memory_bytes / 1e6:,.1f} MB measured at FP32")
    text_ids = svc.encode_ids(measure.FIXED_TEXT)
    prompt_ids = svc.chat_ids([{"role": "user", "content": "What is the capital of France? Answer in one sentence."}])
    stop = svc.stop_token_ids()

    def best_forward(net, lock=None):
        runs = [measure.forward_logits(net, text_ids, lock) for _ in range(args.repeats + 1)][1:]   # first = warm-up
        return min(runs, key=lambda r: r.seconds)

    with svc.borrowed_decoder() as net:
        ref = best_forward(net)
        measure.greedy_generate(net, prompt_ids, 2, stop)                     # warm-up: the first generate is slow
        ref_gen = measure.greedy_generate(net, prompt_ids, args.new_tokens, stop)
    print(f"fixed text: {len(text_ids)} tokens; INT4 group size {args.group_size}; generation: greedy, up to "
          f"{args.new_tokens} new tokens (gen tok/s = new tokens / time, after a warm-up call)\n")
    header = (f"{'scheme':<6} {'stored MB':>9} {'estimate MB':>11} {'quantize s':>10} {'fwd tok/s':>9} "
              f"{'gen tok/s':>9} {'KL nats':>9} {'top-1':>6} {'ppl':>7}")
    print(header)
    print("-" * len(header))
    print(f"{'FP32':<6} {status.memory_bytes / 1e6:>9.1f} "
          f"{memory.weights_bytes(status.parameters, 'FP32') / 1e6:>11.1f} "
          f"{'-':>10} {ref.tokens_per_second:>9.0f} {ref_gen.tokens_per_second:>9.1f} {0:>9.4f} {1:>6.1%} "
          f"{measure.compare_logits(ref.logits, ref.logits, text_ids).perplexity:>7.2f}")
    texts = {"FP32": inspection.decode_ids(svc, ref_gen.ids)}
    for scheme in qz.SCHEMES:
        t0 = time.perf_counter()
        q = qz.quantize_copy(svc.decoder_copy(), scheme, args.group_size)
        total = time.perf_counter() - t0
        fwd = best_forward(q.model, q.lock)
        measure.greedy_generate(q.model, prompt_ids, 2, stop, q.lock)
        gen = measure.greedy_generate(q.model, prompt_ids, args.new_tokens, stop, q.lock)
        agree = measure.compare_logits(ref.logits, fwd.logits, text_ids)
        est = memory.weights_bytes(q.n_params, scheme)
        print(f"{scheme:<6} {q.stored_bytes / 1e6:>9.1f} {est / 1e6:>11.1f} {total:>10.2f} "
              f"{fwd.tokens_per_second:>9.0f} "
              f"{gen.tokens_per_second:>9.1f} {agree.kl:>9.4f} {agree.top1:>6.1%} {agree.perplexity:>7.2f}")
        texts[scheme] = inspection.decode_ids(svc, gen.ids)
        del q
    print("\ngreedy answers to 'What is the capital of France?':")
    for scheme, text in texts.items():
        print(f"  {scheme:<5} {text!r}")

    t0 = time.perf_counter()
    for _ in range(10_000):
        memory.estimate(175e9, "FP32", "full training (Adam)")
    print(f"\ncalculator: estimate() {1e6 * (time.perf_counter() - t0) / 10_000:.1f} µs per call")
    from core.labs.compute_quantization import floats
    t0 = time.perf_counter()
    for _ in range(10_000):
        floats.encode(3.141592, floats.BF16)
    print(f"float explorer: encode() {1e6 * (time.perf_counter() - t0) / 10_000:.1f} µs per call")


if __name__ == "__main__":
    main()
