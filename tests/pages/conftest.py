"""Fixtures for page tests that put a model server in the registry (tests/openai_servers.py)."""
from __future__ import annotations

import os

import pytest

from tests.openai_servers import registry_with_server, serve_available, served_folder, transformers_serve


@pytest.fixture
def server_registry(monkeypatch, tmp_path):
    """use(base_url, model, **extra): the app's service restarts with the registry plus a server model (SERVED);
    the next test gets the usual service again."""
    from components.common import cache as app_cache

    def use(base_url: str, model: str = "fake-model", **extra) -> None:
        monkeypatch.setenv("GENAI_LAB_MODELS", str(registry_with_server(tmp_path, base_url, model, **extra)))
        app_cache.model_service.clear()
    yield use
    app_cache.model_service.clear()


@pytest.fixture(scope="session")
def served_smollm2(tmp_path_factory):
    """(base URL, model name) of a real `transformers serve` serving the bundled SmolLM2 on the CPU, started once
    for the whole test run (~10 s); it stands in for vLLM, except that it sends no probabilities."""
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
