"""One user alone on the CPU: which decode path is fastest for SmolLM2, and does it still give the same answer?

The stretch target: one user ≥ 2x `model.generate` through a faster decode path. Every variant writes the
same greedy chat answer (--new-tokens tokens, no early stop) for the same question; printed per variant: tokens/s
(median of --runs), its ratio to `model.generate`, how many of the answer's tokens equal the float32 reference's
(in order, up to the first difference), and one-off costs (compiling, building).

  generate fp32      transformers' `model.generate` on the float32 model (the reference)
  service            the app's model service (core/serving/batching.py), one user
  int8 dynamic       PyTorch's int8 kernels on every linear layer (page 10's variant; `kernels.build`)
  static + compile   `generate` with a static KV cache and `torch.compile` of the forward pass (inductor, C++)
  llama.cpp          llama-cpp-python on the bundled 4-bit GGUF itself (the file the app de-quantizes to float32);
                     measured only when `llama_cpp` can be imported (not a project dependency: it builds from source)

Usage: [PYTHONPATH=/path/with/llama_cpp] .venv/bin/python -m bench.fast_decode [--new-tokens 64] [--runs 3]
       [--skip compile]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from core.labs.lifecycle_optimization import kernels
from core.serving.batching import GenerationRequest
from core.serving.device import usable_cores
from core.serving.generation import GenerationResult
from core.serving.model_service import ModelService
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings

QUESTION = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]


def same_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="variants to leave out: int8 compile llama")
    args = parser.parse_args()
    n = args.new_tokens

    svc = ModelService(Settings.from_env())
    svc.load(kind="causal-lm")
    prompt_ids = svc.chat_ids(QUESTION)
    ids = torch.tensor([prompt_ids])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; prompt {len(prompt_ids)} tokens, "
          f"{n} greedy tokens per answer, median of {args.runs} runs\n")
    rows: list[tuple[str, float, int, str]] = []

    def timed(label: str, run, note: str = "") -> list[int]:
        tokens, speeds = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            tokens = run()
            speeds.append(len(tokens) / (time.perf_counter() - t))
        rows.append((label, statistics.median(speeds), same_prefix(tokens, reference) if reference else len(tokens),
                     note))
        print(f"  {label}: {statistics.median(speeds):.1f} tok/s", flush=True)
        return tokens

    def hf_generate(net, **kw):
        def run() -> list[int]:
            with torch.inference_mode():
                out = net.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                                   do_sample=False, pad_token_id=0, **kw)
            return out[0, ids.shape[1]:].tolist()
        return run

    reference: list[int] = []
    with svc.borrowed_decoder() as net:
        net.generation_config.max_length = None
        hf_generate(net)()                                               # warm-up
        reference = timed("generate fp32", hf_generate(net))

    # The service stops at the end-of-answer token; with no stop ids the answer runs to its full length here.
    def service() -> list[int]:
        stream = svc._scheduler(svc._slot(None, "causal-lm")).submit(
            GenerationRequest(tuple(prompt_ids), SamplingSettings(temperature=0, max_new_tokens=n)),
            GenerationResult(max_new_tokens=n), lambda ids: "")
        return [t.id for t in stream.collect().tokens]
    service()
    timed("service", service)

    if "int8" not in args.skip:
        net8 = kernels.build(svc.decoder_copy(), "INT8, every linear layer")
        net8.generation_config.max_length = None
        hf_generate(net8)()
        timed("int8 dynamic", hf_generate(net8), "PyTorch int8 kernels, answer changes")
        del net8

    if "compile" not in args.skip:
        netc = svc.decoder_copy()
        netc.generation_config.max_length = None
        netc.forward = torch.compile(netc.forward, mode="default", dynamic=False)
        run = hf_generate(netc, cache_implementation="static")
        t = time.perf_counter()
        try:
            run()
            compile_s = time.perf_counter() - t
            timed("static + compile", run, f"compiling took {compile_s:.0f} s")
        except Exception as exc:                                          # report and carry on with the others
            print(f"  static + compile failed: {type(exc).__name__}: {str(exc)[:200]}")
        del netc

    if "llama" not in args.skip:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            print(f"  llama.cpp: not importable ({exc}); pip install llama-cpp-python builds it from source")
        else:
            files = svc._files(svc._slot(None, "causal-lm"))
            t = time.perf_counter()
            llm = Llama(model_path=str(files.folder / files.gguf_file), n_ctx=2048, n_threads=usable_cores(),
                        n_batch=512, verbose=False)
            load_s = time.perf_counter() - t

            def llama_run() -> list[int]:
                llm.reset()
                out: list[int] = []
                for token in llm.generate(prompt_ids, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
                    out.append(int(token))
                    if len(out) >= n:
                        break
                return out
            llama_run()
            timed("llama.cpp", llama_run, f"same GGUF, loaded in {load_s:.1f} s")

    base = rows[0][1]
    print(f"\n{'variant':<18} {'tok/s':>7} {'x generate':>10} {'same tokens':>12}  note")
    for label, speed, same, note in rows:
        print(f"{label:<18} {speed:>7.1f} {speed / base:>10.2f} {same:>8}/{n:<3}  {note}")
    svc.close()


if __name__ == "__main__":
    main()
