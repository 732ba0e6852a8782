"""The generation queue's mechanics, with small token generators standing in for a model's decode loop."""
import threading
import time

import pytest

from core.serving.generation import GeneratedToken, GenerationQueue, GenerationResult


def counting_run(label, n, log, delay=0.0):
    def run(cancel: threading.Event):
        for i in range(n):
            if cancel.is_set():
                return
            time.sleep(delay)
            log.append(label)
            yield GeneratedToken(id=i, text=f"{label}{i} ", prob=1.0, rank=1)
    return run


def test_requests_stream_in_order_and_collect_text():
    q, log = GenerationQueue(), []
    result = q.submit(counting_run("a", 3, log), GenerationResult(max_new_tokens=10)).collect()
    assert result.text == "a0 a1 a2 " and result.stop_reason == "eos"
    full = q.submit(counting_run("b", 4, log), GenerationResult(max_new_tokens=4)).collect()
    assert full.stop_reason == "max_new_tokens"


def test_requests_are_served_one_at_a_time_first_come_first_served():
    q, log = GenerationQueue(), []
    streams = [q.submit(counting_run(label, 3, log, delay=0.01), GenerationResult()) for label in "xyz"]
    results = [s.collect() for s in streams]
    assert log == list("xxxyyyzzz")
    assert [r.text for r in results] == ["x0 x1 x2 ", "y0 y1 y2 ", "z0 z1 z2 "]


def test_a_reader_that_stops_cancels_its_request():
    q, log = GenerationQueue(), []
    stream = q.submit(counting_run("c", 1000, log, delay=0.001), GenerationResult())
    for i, _ in enumerate(stream):
        if i == 2:
            break
    deadline = time.monotonic() + 30          # wait for the worker to notice, however busy the machine is
    while stream.result.stop_reason != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(log) < 1000 and stream.result.stop_reason == "cancelled"
    # The worker is free again for the next request.
    assert q.submit(counting_run("d", 2, log), GenerationResult()).collect().text == "d0 d1 "


def test_errors_reach_the_reader_and_the_worker_survives():
    def broken(cancel):
        yield GeneratedToken(id=0, text="ok", prob=1.0, rank=1)
        raise RuntimeError("model exploded")
    q = GenerationQueue()
    stream = q.submit(broken, GenerationResult())
    with pytest.raises(RuntimeError, match="exploded"):
        stream.collect()
    assert stream.result.stop_reason.startswith("error")
    assert q.submit(counting_run("e", 1, []), GenerationResult()).collect().text == "e0 "
