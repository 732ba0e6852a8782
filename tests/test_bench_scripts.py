"""The bench scripts are run by hand, not by the suite: check at least that what they import from the project
exists, so a regroup cannot leave one broken (bench/sampling.py imported `core.prompting` after it moved)."""
from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("core", "components", "tests", "bench")


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_project_imports_of_bench_scripts_exist(script):
    tree = ast.parse((ROOT / "bench" / script).read_text(encoding="utf-8"))
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] in PROJECT:
            if importlib.util.find_spec(node.module) is None:
                missing.append(node.module)
                continue
            module = importlib.import_module(node.module)
            missing += [f"{node.module}.{a.name}" for a in node.names if not hasattr(module, a.name)
                        and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
        elif isinstance(node, ast.Import):
            missing += [a.name for a in node.names if a.name.split(".")[0] in PROJECT
                        and importlib.util.find_spec(a.name) is None]
    assert not missing, f"bench/{script} imports what does not exist: {missing}"


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_bench_scripts_run_as_modules_without_path_patching(script):
    """`python -m bench.NAME` from the repository root finds the project; bench/__init__.py sets the process up."""
    text = (ROOT / "bench" / script).read_text(encoding="utf-8")
    assert "sys.path" not in text and "noqa: E402" not in text, script
    assert f"bench/{script}" not in text or "-m bench." in text, f"{script}: say `python -m bench.{script[:-3]}`"
