"""A dropped or closed model service leaves nothing behind: no live generation worker, no model in memory.

Streamlit's "Clear caches" (any viewer, from the menu) drops the cached service; components/common/cache.py
closes it then. Before, the generation worker kept the old model alive: ~0.5 GB more per clear (bench/cache_clear.py).
"""
from __future__ import annotations

import gc
import threading
import weakref

import pytest

from core.serving.generation import ServiceClosed
from core.serving.model_service import ModelService
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings

HI = [{"role": "user", "content": "Say hi."}]


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "genai-lab-generation"]


# The scheduler alone (start on demand, idle exit, close, no model kept) is tested in test_batching.py.
# ---- a real service ---------------------------------------------------------------------------------------
@pytest.mark.model
def test_closed_service_has_no_live_worker_and_frees_its_models(decoder):
    svc = ModelService(Settings.from_env())          # its own instance: closing it leaves the shared one alone
    svc.load(kind="causal-lm")
    before = set(worker_threads())
    assert svc.generate(HI, SamplingSettings(temperature=0, max_new_tokens=2)).collect().tokens
    worker = svc._scheduler(svc._slot(None, "causal-lm")).worker
    assert worker is not None and worker.is_alive() and worker in set(worker_threads()) - before
    model = weakref.ref(svc._slot(None, "causal-lm").model)
    assert svc.close()
    assert not worker.is_alive() and worker not in worker_threads()
    gc.collect()
    assert model() is None, "a closed service still keeps its model in memory"
    assert svc.closed and not svc.is_ready()
    with pytest.raises(ServiceClosed):
        svc.generate(HI, SamplingSettings(max_new_tokens=2))
    with pytest.raises(ServiceClosed):
        svc.load(kind="causal-lm")
    assert decoder.generate(HI, SamplingSettings(temperature=0, max_new_tokens=2)).collect().tokens   # shared one fine


@pytest.mark.model
def test_a_dropped_service_is_collected_even_without_close(decoder):
    svc = ModelService(Settings.from_env())
    svc.load(kind="causal-lm")
    assert svc.generate(HI, SamplingSettings(temperature=0, max_new_tokens=2)).collect().tokens
    service, model = weakref.ref(svc), weakref.ref(svc._slot(None, "causal-lm").model)
    del svc
    gc.collect()
    assert service() is None and model() is None, "the generation worker keeps a dropped service alive"
