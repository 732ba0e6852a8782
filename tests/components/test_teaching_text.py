"""What the labs' computed sentences and captions claim, checked against what the code does (the held-out audit of
sections 7–11)."""
from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from components.labs.fine_tuning_peft import race_view
from components.labs.lifecycle_optimization import distillation_view, kernels_view


def _race(temperature: float):
    student = lambda name, ppl, kl: SimpleNamespace(name=name, perplexity=ppl, kl=kl)
    return SimpleNamespace(students=[student("distilled", 80.0, 1.2), student("hard labels only", 140.0, 2.5)],
                           untrained=SimpleNamespace(perplexity=393.0, kl=4.0),
                           teacher=SimpleNamespace(perplexity=45.0), settings=SimpleNamespace(temperature=temperature))


def test_at_t_1_the_distillation_says_nothing_was_softened():
    said = " ".join(distillation_view.observations(_race(1.0)))
    assert "At T = 1 nothing was softened" in said and "whole distribution" in said
    warm = " ".join(distillation_view.observations(_race(2.0)))
    assert "softened by T = 2" in warm and "nothing was softened" not in warm


def test_the_general_questions_score_says_what_it_is():
    assert "mean log-probability per token" in race_view.GENERAL_SCORE_NOTE
    assert "GENERAL_SCORE_NOTE" in inspect.getsource(race_view)


@pytest.mark.parametrize("claim", ["inside every matrix multiply", "outlier feature dimensions in 16-bit"])
def test_the_kernels_caption_describes_llm_int8_as_it_is(claim):
    assert claim in " ".join(inspect.getsource(kernels_view.show).split()).replace('" "', "")
