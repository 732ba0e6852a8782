"""Shared fixtures. Models are real; converted weights are cached under .cache/ so reruns are quick."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.serving import openmp  # noqa: E402

openmp.configure()  # before torch is imported, as app.py does

# Tests never touch the network and keep their converted-model cache inside the checkout (git-ignored).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GENAI_LAB_CACHE", str(ROOT / ".cache" / "test-models"))
# …but not their database: rooms, answers and a room's published training runs start empty on every run (a run
# published by yesterday's test in room ABCDE must not be what today's participant follows).
if not os.environ.get("GENAI_LAB_DATABASE_URL") and not os.environ.get("GENAI_LAB_DB"):
    os.environ["GENAI_LAB_DB"] = str(Path(tempfile.mkdtemp(prefix="genai-lab-tests-")) / "genai-lab.sqlite3")


@pytest.fixture
def service():
    """The app's own cached service (components.common.cache.model_service): AppTest runs pages in this process
    and shares st.cache_resource, so the tests and the pages load each model once per test process.

    Function-scoped on purpose: a test that clears the cache (tests/pages/test_pages.py) closes the service it
    held, and the next test gets the new one."""
    from components.common.cache import model_service

    return model_service()


@pytest.fixture
def decoder(service):
    service.load(kind="causal-lm")
    return service


@pytest.fixture
def encoder(service):
    service.load(kind="sentence-encoder")
    return service


# ---- tiers: `make check` runs what needs no model, no browser and no database server ---------------------
def pytest_collection_modifyitems(config, items):
    """Mark tests by the fixtures they use, so a new test lands in the right tier without remembering to."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"service", "decoder", "encoder", "served_smollm2"}:
            item.add_marker(pytest.mark.model)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (fixtures & {"postgres_url", "postgres_server_url"}
                or any(isinstance(v, str) and v == "postgres" for v in params.values())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _fast_tier_loads_no_model(monkeypatch):
    """Under `make check` (GENAI_LAB_FAST_TIER=1) loading model weights fails loudly: mark such a test `model`."""
    if not os.environ.get("GENAI_LAB_FAST_TIER"):
        return

    def refuse(*args, **kwargs):
        raise RuntimeError("`make check` loads no model: this test needs one, mark it with @pytest.mark.model")

    import core.serving.loaders as loaders
    import core.serving.model_service as model_service

    monkeypatch.setattr(loaders, "load_model", refuse)
    monkeypatch.setattr(model_service, "load_model", refuse)


# ---- a real OpenAI-compatible server (tests/openai_servers.py) ---------------------------------------------------
@pytest.fixture(scope="session")
def served_smollm2(tmp_path_factory):
    """(base URL, model name) of a real `transformers serve` serving the bundled SmolLM2 on the CPU, started once
    for the whole test run (~10 s), shared by the backend's tests and the pages' tests; it stands in for vLLM,
    except that it sends no probabilities."""
    from tests.openai_servers import serve_available, served_folder, transformers_serve

    if not serve_available():
        message = "`transformers serve` needs fastapi and openai (requirements-dev.txt): run `make install-dev`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = served_folder(tmp_path_factory.mktemp("served"))
    try:
        with transformers_serve(folder, folder.parent / "serve.log") as base_url:
            yield base_url, str(folder)
    except RuntimeError as exc:
        pytest.fail(str(exc))
