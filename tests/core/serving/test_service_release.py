"""A dropped or closed model service leaves nothing behind: no live generation worker, no model in memory.

Streamlit's "Clear caches" (any viewer, from the menu) drops the cached service; components/common/cache.py
closes it then. Before, the generation worker kept the old model alive: ~0.5 GB more per clear (bench/cache_clear.py).
"""
from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from core.serving.generation import GeneratedToken, GenerationQueue, GenerationResult, ServiceClosed
from core.serving.model_service import ModelService
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings

HI = [{"role": "user", "content": "Say hi."}]


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "genai-lab-generation"]


def slow_run(n: int, started: threading.Event | None = None):
    def run(cancel: threading.Event):
        for i in range(n):
            if started is not None:
                started.set()
            if cancel.is_set():
                return
            time.sleep(0.01)
            yield GeneratedToken(id=i, text=f"{i} ", prob=1.0, rank=1)
    return run


# ---- the queue alone (no model) -----------------------------------------------------------------------
def test_close_cancels_running_and_waiting_requests_and_ends_the_worker():
    q, started = GenerationQueue(), threading.Event()
    running = q.submit(slow_run(10_000, started), GenerationResult())
    waiting = q.submit(slow_run(5), GenerationResult())
    assert started.wait(10)
    worker = q.worker
    assert worker is not None and worker.is_alive()
    assert q.close(timeout=10)
    assert not worker.is_alive() and q.worker is None
    assert running.collect().stop_reason == "cancelled" and len(running.result.tokens) < 10_000
    assert waiting.collect().stop_reason == "cancelled" and not waiting.result.tokens
    with pytest.raises(ServiceClosed):
        q.submit(slow_run(1), GenerationResult())


def test_the_worker_starts_on_demand_and_ends_when_idle():
    q = GenerationQueue(idle_seconds=0.05)
    assert q.worker is None                                   # no request yet, no thread
    assert q.submit(slow_run(2), GenerationResult()).collect().text == "0 1 "
    first = q.worker
    deadline = time.monotonic() + 10
    while q.worker is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert q.worker is None
    first.join(5)
    assert not first.is_alive()
    assert q.submit(slow_run(1), GenerationResult()).collect().text == "0 "   # a new worker serves it
    assert q.close()


def test_a_served_request_keeps_nothing_alive_in_the_worker():
    class Model:                                              # stands for the model a real request closes over
        pass
    q, model = GenerationQueue(), Model()
    ref = weakref.ref(model)

    def run(cancel, model=model):
        yield GeneratedToken(id=0, text="x", prob=1.0, rank=1)
    stream = q.submit(run, GenerationResult())
    del run, model
    assert stream.collect().text == "x"
    gc.collect()
    assert ref() is None, "the idle worker (or the finished request) still holds the model"
    assert q.worker is not None and q.worker.is_alive()       # it was idle, not gone
    assert q.close()


# ---- a real service ---------------------------------------------------------------------------------------
@pytest.mark.model
def test_closed_service_has_no_live_worker_and_frees_its_models(decoder):
    svc = ModelService(Settings.from_env())          # its own instance: closing it leaves the shared one alone
    svc.load(kind="causal-lm")
    before = set(worker_threads())
    assert svc.generate(HI, SamplingSettings(temperature=0, max_new_tokens=2)).collect().tokens
    worker = svc._generation.worker
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
