"""Convert the registry's default models once, into GENAI_LAB_CACHE, before the replicas start:

    python -m deploy.convert          (what deploy/systemd/genai-lab-convert.service runs)

Otherwise each replica converts the bundled GGUF decoder on its first use (~20 s of CPU each). Reads the same
environment as the replicas (GENAI_LAB_CACHE, GENAI_LAB_MODELS, GENAI_LAB_DEVICE, HF_HUB_OFFLINE); a model served
by a remote server (`backend: openai`) is only asked for its model list. Exits non-zero when a model fails.
"""
from __future__ import annotations

import sys

from core.serving import openmp

openmp.configure()  # before torch loads, as the app does

from core.serving.model_service import ModelService  # noqa: E402
from core.serving.settings import Settings  # noqa: E402


def main() -> int:
    settings = Settings.from_env()
    service = ModelService(settings)
    failed = 0
    try:
        for kind in ("causal-lm", "sentence-encoder"):
            try:
                status = service.load(kind=kind)
            except Exception as exc:  # noqa: BLE001 — report every model, then fail
                print(f"{kind}: FAILED: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(f"{status.name}: {status.state.value} "
                  f"in {status.load_seconds:.1f} s ({settings.cache_dir})")
    finally:
        service.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
