"""The batch scheduler against the single-sequence reference loop, and its mechanics (admission, cancel, close,
idle exit, back-pressure, errors), on a tiny randomly initialised Llama (SmolLM2's architecture, a few thousand
weights) so every test runs in milliseconds. tests/core/serving/test_model_service.py checks the real model."""
from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from core.serving import inspection
from core.serving.batching import BatchScheduler, GenerationRequest, ServiceBusy
from core.serving.generation import GenerationResult, ServiceClosed, decode_stream
from core.serving.sampling import SamplingSettings

VOCAB = 96


def tiny_llama(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    return LlamaForCausalLM(config).eval()


def decode(ids: list[int]) -> str:
    return "".join(chr(ord("a") + i % 26) if i % 7 else " " for i in ids)


def wait_until(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def scheduler_for(model, lock=None, **kw) -> BatchScheduler:
    lock = lock or threading.RLock()
    return BatchScheduler(lambda: (model, lock), **kw)


def reference(model, prompt, settings, stop_ids=frozenset()) -> list[int]:
    items = decode_stream(model, decode, torch.tensor([prompt]), settings, set(stop_ids), threading.Event(),
                          threading.RLock())
    return [t.id for t in items if hasattr(t, "id")]


def submit(sched, prompt, settings, stop_ids=frozenset()):
    return sched.submit(GenerationRequest(tuple(prompt), settings, frozenset(stop_ids)),
                        GenerationResult(max_new_tokens=settings.max_new_tokens), decode)


SETTINGS = [SamplingSettings(temperature=0, max_new_tokens=12),
            SamplingSettings(temperature=0.9, top_k=20, max_new_tokens=15, seed=1),
            SamplingSettings(temperature=1.3, top_p=0.8, repetition_penalty=1.3, max_new_tokens=9, seed=7),
            SamplingSettings(temperature=0.7, frequency_penalty=1.0, presence_penalty=0.5, max_new_tokens=20, seed=3),
            SamplingSettings(temperature=0, repetition_penalty=1.5, max_new_tokens=6)]
PROMPTS = [[5, 9, 13], list(range(1, 30)), [42], [7, 7, 7, 7, 8, 9, 10, 11, 12, 13, 14], list(range(60, 80))]


def test_batched_tokens_equal_the_reference_loop_for_every_setting():
    model = tiny_llama()
    expected = [reference(model, p, s) for p, s in zip(PROMPTS, SETTINGS)]
    sched = scheduler_for(model)
    streams = [submit(sched, p, s) for p, s in zip(PROMPTS, SETTINGS)]      # all at once: one batch
    got = [[t.id for t in stream.collect().tokens] for stream in streams]
    assert got == expected
    assert sched.largest_batch >= 2, "the requests did not share forward passes"
    assert sched.steps < sum(len(e) for e in expected), "one forward pass per token per user: no batching"
    assert sched.close()


def test_requests_arriving_mid_batch_join_it_and_still_match():
    model = tiny_llama(1)
    lock = threading.RLock()
    expected = [reference(model, p, s) for p, s in zip(PROMPTS, SETTINGS)]
    sched = scheduler_for(model, lock)
    first = submit(sched, PROMPTS[1], SamplingSettings(temperature=0, max_new_tokens=120))
    it = iter(first)
    next(it)                                       # the first request is running
    late = [submit(sched, p, s) for p, s in zip(PROMPTS, SETTINGS)]
    got = [[t.id for t in stream.collect().tokens] for stream in late]
    assert got == expected
    rest = list(it)
    assert len(first.result.tokens) == 1 + len(rest)
    assert first.result.tokens and sched.largest_batch >= 2
    assert sched.close()


def test_stop_ids_and_stop_sequences_end_each_row_on_its_own():
    model = tiny_llama(2)
    greedy = SamplingSettings(temperature=0, max_new_tokens=30)
    free = reference(model, PROMPTS[0], greedy)
    stop_id = free[3]                              # the 4th token becomes a stop id for one request only
    text = decode(free)
    cut = text[5:7]                                # a stop sequence from the free text
    sched = scheduler_for(model)
    a = submit(sched, PROMPTS[0], greedy, {stop_id})
    b = submit(sched, PROMPTS[0], SamplingSettings(temperature=0, max_new_tokens=30, stop_sequences=(cut,)))
    c = submit(sched, PROMPTS[0], greedy)
    ra, rb, rc = a.collect(), b.collect(), c.collect()
    first_stop = free.index(stop_id)
    assert [t.id for t in ra.tokens] == free[:first_stop] and ra.stop_reason == "eos"
    assert rb.stop_reason == "stop_sequence" and rb.text == text[:text.find(cut)]
    assert [t.id for t in rc.tokens] == free and rc.stop_reason == "max_new_tokens"
    assert sched.close()


def test_a_reader_that_leaves_is_dropped_and_the_others_carry_on():
    model = tiny_llama(3)
    settings = SamplingSettings(temperature=0, max_new_tokens=40)
    expected = reference(model, PROMPTS[3], settings)
    sched = scheduler_for(model)
    leaver = submit(sched, PROMPTS[1], SamplingSettings(temperature=0, max_new_tokens=200))
    stayer = submit(sched, PROMPTS[3], settings)
    for i, _ in enumerate(leaver):
        if i == 2:
            break                                   # closing the stream cancels the request
    assert leaver.result.stop_reason == "cancelled" and len(leaver.result.tokens) == 3
    assert [t.id for t in stayer.collect().tokens] == expected
    assert wait_until(lambda: sched.running == 0)
    assert sched.close()


def test_back_pressure_position_and_busy_message():
    model, lock = tiny_llama(4), threading.RLock()
    sched = scheduler_for(model, lock, max_batch=1, max_waiting=3)
    with lock:                                      # hold the model: nothing can advance
        streams = [submit(sched, [1, 2, 3], SamplingSettings(temperature=0, max_new_tokens=5))]
        assert wait_until(lambda: sched.waiting == 0)            # the worker took the first one (and waits on the lock)
        streams += [submit(sched, [1, 2, 3], SamplingSettings(temperature=0, max_new_tokens=5)) for _ in range(3)]
        assert [s.ahead for s in streams[1:]] == [0, 1, 2]
        with pytest.raises(ServiceBusy, match="busy"):
            submit(sched, [1, 2], SamplingSettings(max_new_tokens=2))
    assert all(len(s.collect().tokens) == 5 for s in streams)
    assert all(s.ahead == 0 for s in streams)
    assert sched.close()


def test_one_generation_per_owner_a_second_request_replaces_the_first():
    model, lock = tiny_llama(4), threading.RLock()
    sched = scheduler_for(model, lock, max_batch=1)
    settings = SamplingSettings(temperature=0, max_new_tokens=6)
    expected = reference(model, [1, 2, 3], settings)

    def ask(prompt, owner, replace=True):
        return sched.submit(GenerationRequest(tuple(prompt), settings, frozenset()),
                            GenerationResult(max_new_tokens=settings.max_new_tokens), decode, owner=owner,
                            replace=replace)

    with lock:                                      # hold the model: the first request runs, the others wait
        ada_first = ask([5, 6, 7], "ada")
        assert wait_until(lambda: sched.waiting == 0)
        bo = ask([1, 2, 3], "bo")
        ada_second = ask([9, 8, 7], "ada")          # Ada clicks again while her first answer runs
        ada_also = ask([1, 2, 3], "ada", replace=False)   # and the same click's second sample joins it
        assert [s.ahead for s in (bo, ada_second, ada_also)] == [0, 1, 2]
    assert ada_first.collect().stop_reason == "cancelled"
    assert [t.id for t in bo.collect().tokens] == expected          # other sessions are untouched
    assert len(ada_second.collect().tokens) == 6
    assert [t.id for t in ada_also.collect().tokens] == expected
    with lock:                                      # nothing can advance: Cy's first request cannot finish first
        replaced = ask([1, 2, 3], "cy")
        newer = ask([1, 2, 3], "cy")
    assert replaced.collect().stop_reason == "cancelled"
    assert [t.id for t in newer.collect().tokens] == expected
    del ada_first, bo, ada_second, ada_also, replaced, newer
    gc.collect()
    ask([1, 2], "dee").collect()                    # each submit forgets owners whose requests are all freed
    assert set(sched._owned) <= {"dee"}
    assert sched.close()


def test_stop_from_another_thread_ends_the_stream_and_marks_it_cancelled():
    model, lock = tiny_llama(4), threading.RLock()
    sched = scheduler_for(model, lock, max_batch=1)
    settings = SamplingSettings(temperature=0, max_new_tokens=200)
    with lock:                                      # still queued: the reader has recorded nothing yet
        queued = submit(sched, [1, 2, 3], settings)
        queued.stop(wait_s=0.05)
        assert queued.result.stop_reason == "cancelled"
    assert len(queued.collect().tokens) < 200 and queued.result.stop_reason == "cancelled"
    running = submit(sched, [1, 2, 3], settings)
    got = []
    reader = threading.Thread(target=lambda: got.extend(running))
    reader.start()
    assert wait_until(lambda: len(got) >= 2)
    running.stop()                                  # the Stop button's callback, on another thread
    assert running.result.stop_reason == "cancelled"
    reader.join(30)
    assert not reader.is_alive() and len(running.result.tokens) < 200
    assert sched.close()


def test_close_cancels_running_and_waiting_requests_and_ends_the_worker():
    model, lock = tiny_llama(5), threading.RLock()
    sched = scheduler_for(model, lock, max_batch=1)
    running = submit(sched, [1, 2], SamplingSettings(temperature=0, max_new_tokens=200))
    next(iter(running))
    waiting = submit(sched, [3, 4], SamplingSettings(temperature=0, max_new_tokens=5))
    worker = sched.worker
    assert worker is not None and worker.is_alive()
    assert sched.close(timeout=10)
    assert not worker.is_alive() and sched.worker is None
    assert running.collect().stop_reason == "cancelled" and len(running.result.tokens) < 200
    assert waiting.collect().stop_reason == "cancelled" and not waiting.result.tokens
    with pytest.raises(ServiceClosed):
        submit(sched, [1], SamplingSettings(max_new_tokens=1))


def test_the_worker_starts_on_demand_ends_when_idle_and_keeps_no_model():
    model = tiny_llama(6)
    ref = weakref.ref(model)
    holder = {"model": model}
    lock = threading.RLock()
    sched = BatchScheduler(lambda: (holder["model"], lock) if holder["model"] is not None else None,
                           idle_seconds=0.05)
    del model
    assert sched.worker is None
    assert len(submit(sched, [1, 2], SamplingSettings(temperature=0, max_new_tokens=3)).collect().tokens) == 3
    assert wait_until(lambda: sched.worker is None, 10)
    assert len(submit(sched, [1], SamplingSettings(temperature=0, max_new_tokens=2)).collect().tokens) == 2
    holder["model"] = None                           # the service dropped its model
    gc.collect()
    assert ref() is None, "the scheduler (or its idle worker) still holds the model"
    closed = submit(sched, [1], SamplingSettings(max_new_tokens=2))
    with pytest.raises(ServiceClosed):
        closed.collect()
    assert sched.close()


def test_errors_reach_every_reader_and_the_worker_survives():
    model = tiny_llama(7)
    calls = {"n": 0}

    class Flaky(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, **kw):
            calls["n"] += 1
            if calls["n"] == 4:
                raise RuntimeError("model exploded")
            return self.inner(**kw)
    sched = scheduler_for(Flaky())
    streams = [submit(sched, [1, 2, 3], SamplingSettings(temperature=0, max_new_tokens=30)) for _ in range(2)]
    for s in streams:
        with pytest.raises(RuntimeError, match="exploded"):
            s.collect()
        assert s.result.stop_reason.startswith("error")
    assert len(submit(sched, [4], SamplingSettings(temperature=0, max_new_tokens=3)).collect().tokens) == 3
    assert sched.close()


def test_many_requests_at_once_are_all_answered():
    model = tiny_llama(8)
    sched = scheduler_for(model, max_batch=8)
    streams = [submit(sched, [i % VOCAB, (i * 7) % VOCAB], SamplingSettings(temperature=0.8, seed=i, max_new_tokens=8))
               for i in range(60)]
    results = [s.collect() for s in streams]
    assert all(len(r.tokens) + 0 >= 1 and r.stop_reason in ("max_new_tokens", "eos") for r in results)
    assert sched.largest_batch == 8
    assert wait_until(lambda: sched.running == 0 and sched.waiting == 0)
    assert sched.close()


def test_plain_greedy_rows_are_chosen_in_one_tensor_operation_with_the_pipelines_answer(monkeypatch):
    """The batched greedy choice (argmax + the model's probability, on the model's device) gives exactly what the
    full sampling pipeline gives for temperature 0: the same token, probability 1, rank 1, the same model_prob."""
    from core.serving.generation import SequenceDecoder, greedy_choices

    torch.manual_seed(3)
    logits = torch.randn(5, VOCAB) * 4
    ids, probs = greedy_choices(logits)
    assert ids == logits.argmax(-1).tolist()
    assert probs == pytest.approx(torch.softmax(logits, -1).max(-1).values.tolist(), rel=1e-5)

    def items(plain: bool, row: torch.Tensor):
        monkeypatch.setattr(SequenceDecoder, "plain_greedy", property(lambda self: plain))
        seq = SequenceDecoder(decode, [1, 2], SamplingSettings(temperature=0, max_new_tokens=4), ())
        return seq.step(row)
    for row in logits:
        fast, slow = items(True, row), items(False, row)
        assert [(t.id, t.prob, t.rank, t.text) for t in fast] == [(t.id, t.prob, t.rank, t.text) for t in slow]
        assert fast[0].model_prob == pytest.approx(slow[0].model_prob, rel=1e-5)
    monkeypatch.undo()
    assert SequenceDecoder(decode, [1], SamplingSettings(temperature=0), ()).plain_greedy
    for not_plain in (SamplingSettings(temperature=0, repetition_penalty=1.2), SamplingSettings(temperature=0.5),
                      SamplingSettings(temperature=0, presence_penalty=0.5)):
        assert not SequenceDecoder(decode, [1], not_plain, ()).plain_greedy


def test_a_room_pressing_generate_together_is_read_in_one_pass(monkeypatch):
    """An idle worker that gets a request waits a moment for the others arriving with it (GATHER_GAP_S; widened
    here so a slow test machine cannot split them) and reads all their prompts in one forward pass."""
    import core.serving.batching as batching

    monkeypatch.setattr(batching, "GATHER_GAP_S", 1.0)
    monkeypatch.setattr(batching, "GATHER_MAX_S", 5.0)
    model = tiny_llama(9)
    sched = scheduler_for(model)
    settings = SamplingSettings(temperature=0, max_new_tokens=5)
    streams = [submit(sched, [i + 1, i + 2, i + 3][: 1 + i % 3], settings) for i in range(6)]
    got = [[t.id for t in s.collect().tokens] for s in streams]
    assert sched.prefills == 1 and sched.largest_batch == 6
    assert got == [reference(model, [i + 1, i + 2, i + 3][: 1 + i % 3], settings) for i in range(6)]
    assert sched.close()


# ---- the bundled decoder ------------------------------------------------------------------------------------
QUESTIONS = ["What is the capital of France?", "Name three colours of the rainbow.", "Write a haiku about rain.",
             "Why is the sky blue? Answer in one sentence."]


def test_the_bundled_decoder_answers_a_room_in_batches_with_the_reference_tokens(decoder):
    """Four users at once through the service == four runs of the reference loop one after another."""
    settings = [SamplingSettings(temperature=0, max_new_tokens=24),
                SamplingSettings(temperature=0.8, top_p=0.9, max_new_tokens=24, seed=5),
                SamplingSettings(temperature=0, repetition_penalty=1.3, max_new_tokens=24),
                SamplingSettings(temperature=0.7, top_k=40, frequency_penalty=0.5, max_new_tokens=24, seed=11)]
    messages = [[{"role": "user", "content": q}] for q in QUESTIONS]
    stop = decoder.stop_token_ids()
    with decoder.borrowed_decoder() as net:
        expected = [reference(net, decoder.chat_ids(m), s, stop) for m, s in zip(messages, settings)]
    streams = [decoder.generate(m, s) for m, s in zip(messages, settings)]
    got = [[t.id for t in stream.collect().tokens] for stream in streams]
    assert got == expected
    assert "Paris" in inspection.decode_ids(decoder, got[0])


def test_max_batch_setting():
    from core.serving.settings import Settings

    assert Settings.from_env({}).max_batch == 32
    assert Settings.from_env({"GENAI_LAB_MAX_BATCH": "4"}).max_batch == 4
    for bad in ("0", "-2", "many", "2000"):
        with pytest.raises(ValueError, match="GENAI_LAB_MAX_BATCH"):
            Settings.from_env({"GENAI_LAB_MAX_BATCH": bad})


def test_releasing_freed_memory_is_safe_to_call():
    from core.serving.heap import release_freed_memory

    assert release_freed_memory() in (True, False)
