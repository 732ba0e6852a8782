"""Fixtures for page tests that put a model server in the registry (tests/openai_servers.py; the server itself,
`served_smollm2`, is in tests/conftest.py)."""
from __future__ import annotations

import pytest

from tests.openai_servers import registry_with_server


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
