"""Tests mirror the code: every core module has a test file of the same name (core/a/b.py -> tests/core/a/test_b.py)
or a stated home below, a test file that imports it; every lab has its page tests under its own name."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# Modules tested together with a sibling, in the file that holds their shared fixtures.
HOMES = {
    "core/identity.py": "tests/server/test_guards.py",
    "core/labs/compute_quantization/compute.py": "tests/core/labs/compute_quantization/test_memory_compute.py",
    "core/labs/compute_quantization/memory.py": "tests/core/labs/compute_quantization/test_memory_compute.py",
    "core/labs/evaluation_benchmarks/contamination.py":
        "tests/core/labs/evaluation_benchmarks/test_contamination_and_table.py",
    "core/labs/evaluation_benchmarks/leaderboard.py":
        "tests/core/labs/evaluation_benchmarks/test_contamination_and_table.py",
    "core/labs/fine_tuning_peft/adapters.py": "tests/core/labs/fine_tuning_peft/test_training.py",
    "core/labs/fine_tuning_peft/evaluation.py": "tests/core/labs/fine_tuning_peft/test_training.py",
    "core/labs/fine_tuning_peft/race.py": "tests/core/labs/fine_tuning_peft/test_training.py",
    "core/labs/rag_applications/answering.py": "tests/core/labs/rag_applications/test_answering_and_tools.py",
    "core/labs/rag_applications/injection.py": "tests/core/labs/rag_applications/test_answering_and_tools.py",
    "core/labs/rag_applications/tools.py": "tests/core/labs/rag_applications/test_answering_and_tools.py",
    "core/labs/rag_applications/chunking.py": "tests/core/labs/rag_applications/test_retrieval_core.py",
    "core/labs/rag_applications/index.py": "tests/core/labs/rag_applications/test_retrieval_core.py",
    "core/labs/rag_applications/retrieval.py": "tests/core/labs/rag_applications/test_retrieval_core.py",
    "core/labs/rag_applications/documents.py": "tests/core/labs/rag_applications/test_uploads.py",
    "core/labs/rag_applications/pdf_worker.py": "tests/core/labs/rag_applications/test_uploads.py",
    "core/labs/rlhf/pairs.py": "tests/core/labs/rlhf/test_pairs_and_reward.py",
    "core/labs/rlhf/reward.py": "tests/core/labs/rlhf/test_pairs_and_reward.py",
    "core/labs/rlhf/toxicity.py": "tests/core/labs/rlhf/test_pairs_and_reward.py",
    "core/serving/device.py": "tests/core/serving/test_device_and_cache.py",
    "core/serving/loaders.py": "tests/core/serving/test_device_and_cache.py",
    "core/serving/generation.py": "tests/core/serving/test_sampling_pipeline.py",
    "core/serving/heap.py": "tests/core/serving/test_batching.py",
    "core/serving/settings.py": "tests/core/serving/test_registry.py",
}


def test_every_core_module_has_its_test_file():
    missing = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        rel = path.relative_to(ROOT)
        same = ROOT / "tests" / rel.parent / f"test_{path.name}"
        home = HOMES.get(str(rel))
        if same.exists():
            continue
        if home is None:
            missing.append(f"{rel}: add {same.relative_to(ROOT)} or a stated home in HOMES")
            continue
        module = ".".join(rel.with_suffix("").parts)
        parent, _, name = module.rpartition(".")
        text = (ROOT / home).read_text(encoding="utf-8")
        if module not in text and not (parent in text and name in text):
            missing.append(f"{rel}: its stated home {home} does not import it")
    assert not missing, "\n".join(missing)


def test_stated_homes_are_still_needed():
    """A module that got its own test file leaves HOMES."""
    for rel in HOMES:
        assert (ROOT / rel).exists(), f"{rel} is gone: remove it from HOMES"
        path = ROOT / rel
        assert not (ROOT / "tests" / path.relative_to(ROOT).parent / f"test_{path.name}").exists(), rel


def test_every_lab_has_page_tests_named_after_it():
    sections = yaml.safe_load((ROOT / "lessons" / "sections.yaml").read_text(encoding="utf-8"))
    labs = {s["id"].replace("-", "_") for s in sections} & {p.name for p in (ROOT / "components" / "labs").iterdir()}
    assert labs, "no labs found"
    missing = [lab for lab in sorted(labs) if not (ROOT / "tests" / "pages" / f"test_{lab}.py").exists()]
    assert not missing, f"page tests named after the lab are missing: {missing}"
