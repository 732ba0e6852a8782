"""Our sampling processors against transformers' own logits processors, plus edge cases and stop sequences."""
import queue
import threading

import pytest
import torch
from transformers.generation.logits_process import (
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from core.serving.generation import DONE, GenerationResult, GenerationStream, decode_stream
from core.serving.sampling import (
    FrequencyPresencePenalty,
    RepetitionPenalty,
    SamplingSettings,
    StopSequences,
    Temperature,
    TopK,
    TopP,
    process_logits,
    sampling_distribution,
)

VOCAB = 1000


@pytest.fixture
def logits():
    return torch.randn(VOCAB, generator=torch.Generator().manual_seed(0)) * 3


def hf(processor, logits, input_ids=(0,)):
    return processor(torch.tensor([list(input_ids)]), logits.unsqueeze(0).clone())[0]


def same(a, b):
    """Equal to 1e-6, with removed tokens (-inf) in the same places."""
    assert torch.equal(torch.isinf(a), torch.isinf(b))
    finite = torch.isfinite(a)
    assert torch.allclose(a[finite], b[finite], atol=1e-6, rtol=0)


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0, 1.7, 5.0])
def test_temperature_matches_transformers(logits, t):
    same(Temperature(t)(logits), hf(TemperatureLogitsWarper(t), logits))


@pytest.mark.parametrize("k", [1, 2, 10, 500, VOCAB - 1])
def test_top_k_matches_transformers(logits, k):
    same(TopK(k)(logits), hf(TopKLogitsWarper(k), logits))


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.9, 0.99])
def test_top_p_matches_transformers(logits, p):
    for scale in (0.3, 1.0, 4.0):   # flat and peaked distributions
        same(TopP(p)(logits * scale), hf(TopPLogitsWarper(p), logits * scale))


@pytest.mark.parametrize("penalty", [0.5, 1.0, 1.3, 2.0])
def test_repetition_penalty_matches_transformers(logits, penalty):
    seen = [3, 7, 7, 42, 999, 3]
    ours = RepetitionPenalty(penalty)(logits, seen, [])
    same(ours, hf(RepetitionPenaltyLogitsProcessor(penalty), logits, seen))


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    """What the lab's help text says: both directions make a seen token less likely (penalty > 1)."""
    out = RepetitionPenalty(2.0)(torch.tensor([4.0, -4.0, 1.0]), [0, 1], [])
    assert out.tolist() == [2.0, -8.0, 1.0]


def test_whole_pipeline_matches_transformers_chain(logits):
    s = SamplingSettings(temperature=0.8, top_k=50, top_p=0.9, repetition_penalty=1.2)
    seen = [1, 2, 3, 5, 8, 13]
    x = torch.tensor([seen])
    expected = logits.unsqueeze(0).clone()
    for p in (RepetitionPenaltyLogitsProcessor(1.2), TemperatureLogitsWarper(0.8), TopKLogitsWarper(50),
              TopPLogitsWarper(0.9)):
        expected = p(x, expected)
    same(process_logits(logits, s, seen, []), expected[0])


def test_processors_do_not_change_their_input(logits):
    before = logits.clone()
    s = SamplingSettings(temperature=0.5, top_k=5, top_p=0.5, repetition_penalty=1.5, frequency_penalty=1,
                         presence_penalty=1)
    process_logits(logits, s, [1, 2, 3], [2, 3, 3])
    assert torch.equal(logits, before)


# ---- edge cases ----------------------------------------------------------------------
def test_temperature_towards_zero_is_greedy(logits):
    greedy = sampling_distribution(logits, SamplingSettings(temperature=0))
    assert greedy[logits.argmax()] == 1.0 and greedy.sum() == 1.0
    nearly = sampling_distribution(logits, SamplingSettings(temperature=0.01))
    assert nearly.argmax() == logits.argmax() and nearly.max() > 0.999


def test_top_p_one_is_a_no_op_and_zero_keeps_the_top_token(logits):
    assert torch.equal(TopP(1.0)(logits), logits)
    only = TopP(0.0)(logits)
    assert torch.isfinite(only).sum() == 1 and torch.isfinite(only[logits.argmax()])
    same(only, hf(TopPLogitsWarper(0.0), logits))


def test_top_k_larger_than_vocabulary_is_a_no_op(logits):
    assert torch.equal(TopK(VOCAB * 10)(logits), logits) and torch.equal(TopK(0)(logits), logits)


def test_all_tokens_penalized_still_gives_a_distribution(logits):
    every = list(range(VOCAB))
    probs = sampling_distribution(logits, SamplingSettings(temperature=1, repetition_penalty=3.0, frequency_penalty=2,
                                                           presence_penalty=2), every, every)
    assert torch.isclose(probs.sum(), torch.tensor(1.0)) and torch.isfinite(probs).all()
    # Penalising every token by the same flat amount changes nothing (softmax ignores a shift).
    flat = sampling_distribution(logits, SamplingSettings(temperature=1, presence_penalty=2), (), every)
    assert torch.allclose(flat, torch.softmax(logits, -1), atol=1e-6)


def test_frequency_and_presence_penalties_follow_openai(logits):
    out = FrequencyPresencePenalty(0.5, 0.6)(logits, [], [7, 7, 7, 9])
    assert torch.isclose(out[7], logits[7] - 3 * 0.5 - 0.6) and torch.isclose(out[9], logits[9] - 0.5 - 0.6)
    untouched = torch.ones(VOCAB, dtype=torch.bool)
    untouched[[7, 9]] = False
    assert torch.equal(out[untouched], logits[untouched])
    # Only generated tokens count: the prompt alone changes nothing.
    assert torch.equal(FrequencyPresencePenalty(1, 1)(logits, [7, 9], []), logits)


@pytest.mark.parametrize("bad", [dict(temperature=float("nan")), dict(temperature=-0.1), dict(top_k=2.5),
                                 dict(top_p=float("inf")), dict(repetition_penalty=0), dict(frequency_penalty=3),
                                 dict(presence_penalty=-2.5), dict(stop_sequences=("",)), dict(seed=-1),
                                 dict(stop_sequences=("a", "b", "c", "d", "e")), dict(max_new_tokens=True)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        SamplingSettings(**bad)


# ---- stop sequences ------------------------------------------------------------------
def test_stop_sequences_find_and_pending():
    stops = StopSequences(["\n\n", "Review:"])
    assert stops.find("positive\n\nReview: x") == (8, "\n\n")
    assert stops.find("no hit here") is None
    assert stops.pending("positive\nRev") == 3 and stops.pending("positive\n") == 1 and stops.pending("ok") == 0


# ---- the decode loop with a fake model: stop sequences hold back text correctly ---------------
class ScriptedModel:
    """Returns logits that make token `script[i]` the clear favourite at step i."""

    def __init__(self, script, vocab=16):
        self.script, self.vocab, self.step = list(script), vocab, 0

    def __call__(self, input_ids, cache=None, use_cache=True):
        logits = torch.zeros(1, input_ids.shape[1], self.vocab)
        logits[0, -1, self.script[min(self.step, len(self.script) - 1)]] = 20.0
        self.step += 1
        return type("Out", (), {"logits": logits, "cache": None})()


PIECES = {1: "pos", 2: "itive", 3: "\n", 4: "Rev", 5: "iew", 6: ":", 7: " bad", 8: "!", 0: ""}


class Fed:
    """A finished request as a stream reads it: its items, then DONE."""

    def __init__(self, items):
        self.out, self.cancel = queue.Queue(), threading.Event()
        for item in list(items) + [DONE]:
            self.out.put(item)


def run_scripted(script, stops=(), max_new=10, stop_ids=frozenset({0})):
    settings = SamplingSettings(temperature=0, max_new_tokens=max_new, stop_sequences=tuple(stops))
    decode = lambda ids: "".join(PIECES[i] for i in ids)
    items = decode_stream(ScriptedModel(script), decode, torch.tensor([[9, 9]]), settings, set(stop_ids),
                          threading.Event(), threading.RLock())
    stream = GenerationStream(Fed(items), GenerationResult(max_new_tokens=max_new))
    seen = [t.text for t in stream]
    return stream.result, seen


def test_stop_sequence_spanning_tokens_is_cut_and_reported():
    result, seen = run_scripted([1, 2, 3, 4, 5, 6, 7, 0], stops=["Review:"])
    assert result.text == "positive\n" and "".join(seen) == result.text
    assert result.stop_reason == "stop_sequence" and result.stop_sequence == "Review:"
    assert result.stop_text == "Review:" and len(result.tokens) == 6


def test_a_prefix_that_never_completes_is_released_at_the_end():
    result, _ = run_scripted([1, 2, 3, 4, 8, 0], stops=["Review:"])
    assert result.text == "positive\nRev!" and result.stop_reason == "eos"


def test_stop_sequence_absent_from_output_changes_nothing():
    with_stop, _ = run_scripted([1, 2, 7, 8], stops=["zzz"], max_new=4)
    without, _ = run_scripted([1, 2, 7, 8], max_new=4)
    assert with_stop.text == without.text == "positive bad!" and with_stop.stop_reason == "max_new_tokens"


def test_generated_tokens_report_model_probability():
    result, _ = run_scripted([1, 2, 0])
    assert all(t.prob == 1.0 and 0.99 < t.model_prob <= 1.0 and t.rank == 1 for t in result.tokens)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.99])
def test_top_p_over_a_real_sized_vocabulary_sorts_only_the_head_and_gives_the_full_sorts_answer(p, monkeypatch):
    """49,152 tokens (SmolLM2's vocabulary): when the top 256 or 4,096 tokens already reach p, only they are sorted;
    the kept tokens are exactly those of a sort of the whole vocabulary. A peaked distribution also agrees with
    transformers' TopPLogitsWarper (over thousands of tokens the two differ by a token or two at the boundary,
    where float32 sums of thousands of probabilities land within rounding of p)."""
    big = torch.randn(49152, generator=torch.Generator().manual_seed(1))
    fast = {scale: TopP(p)(big * scale) for scale in (0.2, 1.0, 3.0, 8.0)}
    monkeypatch.setattr(TopP, "HEADS", ())
    for scale, out in fast.items():
        assert torch.equal(out, TopP(p)(big * scale))
    same(fast[8.0], hf(TopPLogitsWarper(p), big * 8.0))
    assert 0 < torch.isfinite(fast[8.0]).sum() < 256          # this one took the shortest path


def test_drawing_a_token_follows_the_probabilities_and_never_draws_a_removed_one():
    from collections import Counter

    from core.serving.sampling import choose_token

    probs = torch.zeros(49152)
    probs[[5, 700, 31000, 49151]] = torch.tensor([0.5, 0.3, 0.15, 0.05])
    generator = torch.Generator().manual_seed(3)
    counts = Counter(choose_token(probs, generator) for _ in range(20000))
    assert set(counts) == {5, 700, 31000, 49151}
    for token, expected in ((5, 0.5), (700, 0.3), (31000, 0.15), (49151, 0.05)):
        assert abs(counts[token] / 20000 - expected) < 0.015
    one = torch.zeros(10)
    one[0] = 1.0
    assert {choose_token(one, generator) for _ in range(200)} == {0}
