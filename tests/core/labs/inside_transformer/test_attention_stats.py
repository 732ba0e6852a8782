"""Per-head statistics on hand-made attention maps, then on the real models."""
import numpy as np
import pytest

from core.labs.inside_transformer.attention_stats import (
    STATISTICS,
    head_grid,
    mean_entropy,
    strongest_head,
    to_first,
    to_previous,
    to_self,
)


def maps(*heads):
    """Stack (seq, seq) maps into (layers=1, heads, seq, seq)."""
    return np.array(heads, dtype=float)[None]


N = 4
IDENTITY = np.eye(N)
PREVIOUS = np.eye(N, k=-1)
PREVIOUS[0, 0] = 1                                       # row 0 has no previous token: it looks at itself
FIRST = np.zeros((N, N))
FIRST[:, 0] = 1
UNIFORM = np.full((N, N), 1 / N)


def test_each_pattern_scores_where_expected():
    w = maps(IDENTITY, PREVIOUS, FIRST, UNIFORM)
    assert np.allclose(to_self(w), [[1, 0.25, 0.25, 0.25]])
    assert np.allclose(to_previous(w), [[0, 1, 1 / 3, 0.25]])       # FIRST: row 1's first token is its previous
    assert np.allclose(to_first(w), [[0, 1 / 3, 1, 0.25]])   # rows 1..n-1 only
    assert np.allclose(mean_entropy(w), [[0, 0, 0, 2]])      # 4 equal choices = 2 bits


def test_entropy_of_a_causal_uniform_map():
    causal = np.tril(np.ones((N, N)))
    causal /= causal.sum(1, keepdims=True)                   # row i spreads over i + 1 tokens
    assert mean_entropy(maps(causal))[0, 0] == pytest.approx(np.mean(np.log2([1, 2, 3, 4])))


def test_shapes_inputs_untouched_and_one_token():
    rng = np.random.default_rng(1)
    w = rng.random((3, 5, 6, 6))
    w /= w.sum(-1, keepdims=True)
    before = w.copy()
    for name in STATISTICS:
        grid = head_grid(w, name)
        assert grid.shape == (3, 5) and np.all(np.isfinite(grid))
    assert np.array_equal(w, before)
    one = np.ones((2, 3, 1, 1))
    assert np.all(np.isnan(to_previous(one))) and np.all(np.isnan(to_first(one)))
    assert np.allclose(to_self(one), 1) and np.allclose(mean_entropy(one), 0)


@pytest.mark.parametrize("bad", [np.ones((2, 2, 3)), np.ones((1, 1, 2, 3)), np.full((1, 1, 2, 2), np.nan),
                                 np.ones((1, 1, 0, 0))])
def test_bad_weights_are_refused(bad):
    with pytest.raises(ValueError):
        mean_entropy(bad)


def test_unknown_statistic_and_strongest_head():
    with pytest.raises(ValueError, match="unknown statistic"):
        head_grid(maps(IDENTITY), "nope")
    grid = np.array([[0.1, np.nan], [0.9, 0.3]])
    assert strongest_head(grid) == (1, 0) and strongest_head(grid, lowest=True) == (0, 0)
    with pytest.raises(ValueError):
        strongest_head(np.full((2, 2), np.nan))


@pytest.mark.model
def test_real_models_statistics(decoder, encoder):
    text = "Alice gave Bob a book. Later, Bob gave Alice a pen and a cup of tea."
    dec = decoder.attentions(text, kind="causal-lm")
    enc = encoder.attentions(text, kind="sentence-encoder")
    for att, shape in ((dec, (30, 9)), (enc, (6, 12))):
        for name in STATISTICS:
            grid = head_grid(att.weights, name)
            assert grid.shape == shape and np.all(np.isfinite(grid))
            if name != "entropy":
                assert np.all((grid >= -1e-6) & (grid <= 1 + 1e-6))
        seq = len(att.tokens)
        assert np.all(head_grid(att.weights, "entropy") <= np.log2(seq) + 1e-4)
    # SmolLM2 has at least one clear previous-token head, and (like most decoders) heads that park on token 0.
    assert head_grid(dec.weights, "previous").max() > 0.5
    assert head_grid(dec.weights, "first").max() > 0.5
