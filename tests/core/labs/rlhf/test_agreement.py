"""Page 9's agreement numbers: Fleiss' kappa on its textbook example, pairwise agreement on small cases."""
from __future__ import annotations

import math

import pytest

from core.labs.rlhf import agreement
from core.labs.rlhf.pairs import FAIL

ITEMS = ["A", "B", "C"]


def test_fleiss_kappa_on_the_textbook_table():
    # Fleiss (1971) as on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert agreement.fleiss_kappa(table) == pytest.approx(0.210, abs=0.001)


def test_perfect_agreement_and_undefined_cases():
    same = [{"A": 1, "B": 2, "C": FAIL}] * 3
    assert agreement.fleiss_kappa(agreement.distribution(same, ITEMS)) == pytest.approx(1.0)
    assert agreement.pairwise_agreement(same, ITEMS) == 1.0
    assert math.isnan(agreement.fleiss_kappa(agreement.distribution(same[:1], ITEMS)))       # one labeler
    assert math.isnan(agreement.pairwise_agreement(same[:1], ITEMS))


def test_distribution_and_pairwise_agreement_count_preferences():
    rankings = [{"A": 1, "B": 2, "C": 3}, {"A": 2, "B": 1, "C": FAIL}]
    assert agreement.distribution(rankings, ITEMS) == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]]
    # A vs B: opposite; A vs C: both prefer A; B vs C: both prefer B
    assert agreement.pairwise_agreement(rankings, ITEMS) == pytest.approx(2 / 3)
    tie = [{"A": 1, "B": 1, "C": 2}, {"A": FAIL, "B": FAIL, "C": 1}]
    assert agreement.pairwise_agreement(tie, ITEMS) == pytest.approx(1 / 3)                   # A vs B: no preference
