"""First tokenizer response in a fresh process, with an empty and with a warm converted-model cache.

Usage: .venv/bin/python -m bench.tokenizer
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, time
t0 = time.perf_counter()
from core.serving.model_service import ModelService
from core.serving.settings import Settings
t_import = time.perf_counter() - t0
svc = ModelService(Settings.from_env())
t1 = time.perf_counter(); svc.tokenize("How is Batman?"); t_dec = time.perf_counter() - t1
t2 = time.perf_counter(); svc.tokenize("How is Batman?", kind="sentence-encoder"); t_enc = time.perf_counter() - t2
t3 = time.perf_counter(); svc.tokenize("How is Batman? " * 5000); t_long = time.perf_counter() - t3
print(json.dumps(dict(imports=t_import, decoder=t_dec, encoder=t_enc, long_75k_chars=t_long)))
"""


def run(cache: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "GENAI_LAB_CACHE": cache, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = run(cache)
        warm = run(cache)
    print("first tokenize in a fresh process (seconds)   empty cache   warm cache")
    for key in ("imports", "decoder", "encoder", "long_75k_chars"):
        print(f"  {key:<44}{cold[key]:>10.2f}{warm[key]:>13.2f}")


if __name__ == "__main__":
    main()
