"""The sampling lab's step-by-step trace, its chart rows, and the stop sequences and length a learner types."""
import pytest
import torch

from core.labs.inference_configuration.knobs import (
    cap_max_new_tokens,
    parse_stop_sequences,
    repeated_token_share,
    trace,
)
from core.serving.sampling import SamplingSettings, sampling_distribution

VOCAB = 1000


@pytest.fixture
def logits():
    return torch.randn(VOCAB, generator=torch.Generator().manual_seed(0)) * 3


def test_trace_reports_each_step(logits):
    s = SamplingSettings(temperature=1.0, top_k=20, top_p=0.5, repetition_penalty=1.5)
    t = trace(logits, s, seen=[int(logits.argmax())], generated=[])
    assert [step.name for step in t.steps] == ["model output", "repetition penalty", "frequency & presence penalties",
                                               "temperature", "top-k", "top-p"]
    assert t.steps[1].changed == (int(logits.argmax()),) and not t.steps[1].removed
    assert len(t.steps[4].removed) == VOCAB - 20 and t.steps[4].kept == 20
    assert t.final.kept == 20 - len(t.steps[5].removed) >= 1
    assert torch.allclose(t.final.probs, sampling_distribution(logits, s, [int(logits.argmax())], []))
    assert t.removed_by(int(torch.argsort(logits)[0])) == "top-k"
    assert t.base.probs.sum().item() == pytest.approx(1.0, abs=1e-5)

def test_parse_stop_sequences_handles_escapes_blanks_and_too_many():
    seqs, notes = parse_stop_sequences("\\n\\n\n\nReview:\nReview:\n")
    assert seqs == ("\n\n", "Review:") and not notes
    seqs, notes = parse_stop_sequences("a\nb\nc\nd\ne\n" + "x" * 100)
    assert len(seqs) == 4 and len(notes) == 2
    assert parse_stop_sequences("") == ((), [])

def test_cap_max_new_tokens():
    assert cap_max_new_tokens(50, 100, 8192) == (50, "")
    value, note = cap_max_new_tokens(1_000_000, 100, 8192)
    assert value == 1024 and "capped" in note
    value, note = cap_max_new_tokens(500, 8000, 8192)
    assert value == 191 and "context window" in note
    assert cap_max_new_tokens("lots", 10, 100)[0] == 64 and cap_max_new_tokens(0, 10, 100)[0] == 1

def test_repeated_token_share():
    assert repeated_token_share([1, 2, 3]) == 0 and repeated_token_share([5, 5, 5, 5]) == 0.75
    assert repeated_token_share([]) == 0
