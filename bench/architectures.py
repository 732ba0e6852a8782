"""Time and memory to build each shipped configuration on the meta device and count its parameters;
time to read the GGUF header and build the two model cards.

Usage: .venv/bin/python -m bench.architectures
"""
from __future__ import annotations

import time

import psutil


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    t0 = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from core import architectures as arch
    print(f"import torch + transformers: {time.perf_counter() - t0:.2f} s, resident {rss_mb():,.0f} MB")
    print(f"{'model':24s} {'parameters':>18s} {'published':>10s} {'diff':>7s} {'build+count':>12s} {'RSS +MB':>8s}")
    for name in arch.known_models():
        before = rss_mb()
        t = time.perf_counter()
        b = arch.parameter_breakdown(name)
        dt = time.perf_counter() - t
        pub = arch.entry(name).published
        print(f"{name:24s} {b.total:>18,} {arch.human_count(pub):>10s} {b.total / pub - 1:+7.2%} "
              f"{dt * 1000:>9.0f} ms {rss_mb() - before:>8.1f}")
    t = time.perf_counter()
    arch.meta_model("BLOOM-176B")
    print(f"BLOOM-176B again (uncached meta build): {(time.perf_counter() - t) * 1000:.0f} ms; "
          f"fp32 weights would need {arch.parameter_breakdown('BLOOM-176B').total * 4 / 1e9:,.0f} GB")
    print(f"resident at the end: {rss_mb():,.0f} MB")

    # Model cards: reading the GGUF header (our reader vs gguf's GGUFReader) and building both cards.
    from gguf import GGUFReader

    from core.labs.model_cards_architectures.model_card import build_card
    from core.serving.gguf import read_header
    from core.serving.loaders import resolve_files
    from core.serving.registry import load_registry
    from core.serving.settings import Settings

    registry = load_registry(Settings.from_env().registry_path)
    decoder = registry.get(registry.default_decoder)
    files = resolve_files(decoder)
    t = time.perf_counter()
    read_header(files.folder / files.gguf_file)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    GGUFReader(str(files.folder / files.gguf_file))
    print(f"GGUF header: {ours * 1000:.0f} ms with core.serving.gguf.read_header, "
          f"{time.perf_counter() - t:.2f} s with gguf.GGUFReader")
    for name in (registry.default_decoder, registry.default_encoder):
        t = time.perf_counter()
        build_card(registry.get(name))
        print(f"model card {name}: {(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
