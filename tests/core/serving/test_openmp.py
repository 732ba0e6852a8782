"""core/serving/openmp.py: the OpenMP wait settings reach torch only when set before torch is imported."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run(code: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, check=True, timeout=120).stdout.strip()


def test_configure_sets_the_defaults_before_torch_and_keeps_values_already_set():
    code = ("import os; from core.serving import openmp; ok = openmp.configure(); "
            "print(ok, os.environ['OMP_WAIT_POLICY'], os.environ['GOMP_SPINCOUNT'])")
    assert run(code) == "True ACTIVE 100000"
    assert run(code, OMP_WAIT_POLICY="PASSIVE") == "True PASSIVE 100000"


def test_configure_after_torch_says_it_came_too_late():
    assert run("import torch; from core.serving import openmp; print(openmp.configure())") == "False"


def test_the_app_and_the_tests_configure_before_anything_can_import_torch():
    for path in ("server.py", "app.py", "tests/conftest.py"):
        before = (ROOT / path).read_text().split("openmp.configure()")[0]
        imports = [line for line in before.splitlines() if line.startswith(("import ", "from "))]
        assert all(line.split()[1] in ("__future__", "os", "sys", "tempfile", "pathlib", "pytest", "core.serving")
                   for line in imports), (path, imports)
