"""Page 9 (RLHF) under AppTest, on the real models: the reward model trains and scores, bad text gets one sentence,
best-of-n picks the highest reward. Labeling runs in tests/browser/test_rlhf.py."""
from __future__ import annotations

import pytest

from tests.pages import apptest
from tests.pages.apptest import button, metric, ok, table, texts

pytestmark = pytest.mark.model
PAGE = "app_pages/09_rlhf.py"


def test_reward_model_trains_scores_and_refuses_bad_text():
    at = ok(apptest.open_page(PAGE, timeout=300))
    assert "Switch on to let SmolLM2 write 3 answers" in texts(at)       # nothing sampled before the learner asks
    button(at, "rlhf_reward_train").click().run()
    ok(at)
    assert metric(at, "training pairs") == "180"
    assert int(metric(at, "held-out accuracy").rstrip("%")) >= 70
    probes = table(at, "reward")
    assert len(probes) == 4 and probes["reward"][1] < probes["reward"][0]            # rude scores below helpful
    assert metric(at, "reward").startswith(("+", "-"))
    at.text_area(key="rlhf_reward_reply").input("   ").run()
    assert any("Type a text" in w.value for w in ok(at).warning)


def test_best_of_n_ranks_the_sampled_answers_by_reward():
    at = ok(apptest.open_page(PAGE, timeout=300))
    at.slider(key="rlhf_bon_n").set_value(2).run()
    button(at, "rlhf_bon_run").click().run()
    ranked = table(ok(at), "answer")
    assert list(ranked["rank"]) == [1, 2] and ranked["reward"][0] >= ranked["reward"][1]


def test_toxicity_classifier_scores_text_and_refuses_empty_text():
    at = ok(apptest.open_page(PAGE, timeout=300))
    at.toggle(key="rlhf_tox_on").set_value(True).run()
    ok(at)
    assert int(metric(at, "held-out accuracy").rstrip("%")) >= 80
    at.text_input(key="rlhf_tox_text").input("Shut up, you useless idiot.").run()
    assert int(metric(ok(at), "P(toxic)").rstrip("%")) > 50
    assert "preferred replies average" in texts(at)
    at.text_input(key="rlhf_tox_text").input("").run()
    assert any("Type a text" in w.value for w in ok(at).warning)
