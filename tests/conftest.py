"""Shared fixtures. Models are real; converted weights are cached under .cache/ so reruns are quick."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Tests never touch the network and keep their converted-model cache inside the checkout (git-ignored).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GENAI_LAB_CACHE", str(ROOT / ".cache" / "test-models"))


@pytest.fixture(scope="session")
def service():
    from core.serving.model_service import ModelService
    from core.serving.settings import Settings

    return ModelService(Settings.from_env())


@pytest.fixture(scope="session")
def decoder(service):
    service.load(kind="causal-lm")
    return service


@pytest.fixture(scope="session")
def encoder(service):
    service.load(kind="sentence-encoder")
    return service
