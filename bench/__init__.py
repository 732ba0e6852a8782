"""Scripts that print numbers (never asserted in tests). Run each from the repository root as a module:
`.venv/bin/python -m bench.serving --repeat 3`. This package runs first, so every script gets the same start as the
app: OpenMP's thread settings before torch is imported, and the bundled models only (no network)."""
import os

from core.serving import openmp

openmp.configure()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
