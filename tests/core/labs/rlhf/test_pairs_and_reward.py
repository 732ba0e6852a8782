"""Page 9: rankings become pairs (ties and fails as documented), the Bradley–Terry loss, and a reward model that
learns from pairs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.labs.rlhf import pairs, reward
from core.labs.rlhf.pairs import FAIL, RankingError

ITEMS = ["A", "B", "C"]


def test_the_decks_example_b_a_c_gives_three_ordered_pairs():
    got = pairs.to_pairs({"A": 2, "B": 1, "C": 3}, ITEMS)
    assert [(p.preferred, p.other) for p in got] == [("B", "A"), ("B", "C"), ("A", "C")]


def test_n_completions_give_n_n_minus_1_over_2_pairs():
    items = list("ABCDE")
    got = pairs.to_pairs({k: i + 1 for i, k in enumerate(items)}, items)
    assert len(got) == 5 * 4 // 2 and all(items.index(p.preferred) < items.index(p.other) for p in got)


def test_ties_give_no_pair_and_fails_lose_to_every_ranked_completion():
    tied = pairs.to_pairs({"A": 1, "B": 1, "C": 2}, ITEMS)
    assert {(p.preferred, p.other) for p in tied} == {("A", "C"), ("B", "C")}
    assert pairs.ties({"A": 1, "B": 1, "C": 2}, ITEMS) == 1
    failed = pairs.to_pairs({"A": 1, "B": FAIL, "C": 2}, ITEMS)
    assert [(p.preferred, p.other, p.reason) for p in failed] == [
        ("A", "C", "ranked higher"), ("A", "B", "the other failed"), ("C", "B", "the other failed")]
    assert pairs.to_pairs({"A": FAIL, "B": FAIL, "C": FAIL}, ITEMS) == []


@pytest.mark.parametrize("ranking, message", [
    ({"A": 1, "B": 2}, "C has no rank"), ({"A": 1, "B": 2, "C": 4}, "from 1 to 3"),
    ({"A": 1, "B": 2, "C": "x"}, "from 1 to 3"), ({"A": 1, "B": 2, "C": 3, "D": 1}, "D is not one"),
    ({"A": True, "B": 2, "C": 3}, "from 1 to 3"),
])
def test_bad_rankings_get_one_sentence(ranking, message):
    with pytest.raises(RankingError, match=message):
        pairs.to_pairs(ranking, ITEMS)


def test_bradley_terry_loss_matches_the_deck_and_its_gradient_raises_the_preferred():
    r_j = torch.tensor([2.0], requires_grad=True)
    r_k = torch.tensor([0.5], requires_grad=True)
    loss = reward.bradley_terry_loss(r_j, r_k)
    assert float(loss) == pytest.approx(-math.log(1 / (1 + math.exp(-1.5))), abs=1e-6)
    assert float(loss) == pytest.approx(0.20, abs=0.005)
    loss.backward()
    assert r_j.grad.item() < 0 < r_k.grad.item()          # descending raises r_j and lowers r_k
    assert float(reward.bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0]))) == pytest.approx(math.log(2))


def test_training_separates_pairs_along_a_hidden_direction():
    rng = np.random.default_rng(0)
    direction = rng.normal(size=16)
    x = rng.normal(size=(200, 16))
    y = rng.normal(size=(200, 16))
    better = (x @ direction) > (y @ direction)
    preferred, other = np.where(better[:, None], x, y), np.where(better[:, None], y, x)
    run = reward.train(preferred[:150], other[:150], preferred[150:], other[150:], epochs=200, lr=0.05)
    assert run.train_loss[-1] < run.train_loss[0] and run.test_accuracy >= 0.85
    again = reward.train(preferred[:150], other[:150], preferred[150:], other[150:], epochs=200, lr=0.05)
    assert np.array_equal(again.model.weight, run.model.weight)          # one seed, one model


@pytest.mark.parametrize("epochs, lr", [(0, 0.1), (10, 0.0), (10, -1.0), (10, float("nan")), (True, 0.1)])
def test_settings_that_cannot_train(epochs, lr):
    with pytest.raises(reward.RewardError):
        reward.check_settings(epochs, lr)


@pytest.mark.parametrize("text", ["", "   ", "x" * 100_000, None])
def test_texts_that_cannot_be_scored(text):
    with pytest.raises(reward.RewardError):
        reward.check_text(text)


def test_the_shipped_reward_model_beats_chance_on_held_out_pairs(encoder):
    shipped = reward.shipped_pairs()
    chosen = encoder.embed([reward.text_of(p.prompt, p.chosen) for p in shipped])
    rejected = encoder.embed([reward.text_of(p.prompt, p.rejected) for p in shipped])
    train = [i for i, p in enumerate(shipped) if p.split == "train"]
    test = [i for i, p in enumerate(shipped) if p.split == "test"]
    run = reward.train(chosen[train], rejected[train], chosen[test], rejected[test])
    assert run.test_accuracy > 0.7 and run.train_accuracy >= run.test_accuracy - 0.05


def test_the_toxicity_classifier_separates_the_shipped_test_sentences(encoder):
    from core.labs.rlhf import toxicity
    shipped = toxicity.sentences()
    assert len(shipped) == 160 and sum(s.toxic for s in shipped) == 80
    vectors = encoder.embed([s.text for s in shipped])
    labels = np.array([s.toxic for s in shipped], dtype=float)
    train = [i for i, s in enumerate(shipped) if s.split == "train"]
    test = [i for i, s in enumerate(shipped) if s.split == "test"]
    clf = toxicity.train(vectors[train], labels[train], vectors[test], labels[test])
    assert clf.test_accuracy >= 0.8
    polite, rude = clf.probability(encoder.embed(["Thank you, that was very kind of you.",
                                                  "Shut up, you useless idiot."]))
    assert polite < 0.5 < rude
