"""Page 7 (fine-tuning & PEFT) under AppTest, on the real tokenizer: the page draws, bad uploads get one sentence.

Races themselves run in tests/core/labs/fine_tuning_peft (tiny model) and tests/browser/test_fine_tuning_peft.py."""
from __future__ import annotations

import pytest

from tests.pages import apptest
from tests.pages.apptest import metric, ok, texts

pytestmark = pytest.mark.model
PAGE = "app_pages/07_fine_tuning_peft.py"


def test_page_draws_every_demo_without_training():
    at = ok(apptest.open_page(PAGE, timeout=300))
    body = texts(at)
    assert "graded" in body and "Try it: race three ways" in body
    assert metric(at, "full fine-tuning trains") == "32,768" and metric(at, "LoRA trains") == "4,608"
    if any(t.key == "ft_lora_real" for t in at.toggle):                # the model is not loaded yet in this process
        at.toggle(key="ft_lora_real").set_value(True).run()
    rows = next(d.value for d in at.dataframe if "module" in d.value.columns)
    # 9,216 × 30 layers
    assert list(rows["module"])[:2] == ["q_proj", "k_proj"] and list(rows["LoRA r=8"])[0] == "276,480"
    assert not [w.value for w in at.warning]


def test_rank_zero_and_rank_above_the_matrix_get_one_sentence():
    at = ok(apptest.open_page(PAGE, timeout=300))
    at.number_input(key="ft_lora_r").set_value(0).run()
    assert any("at least 1" in w.value for w in ok(at).warning)
    at.number_input(key="ft_lora_r").set_value(100).run()
    assert any("larger than the matrix" in w.value for w in ok(at).warning)


def test_the_training_example_greys_the_prompt():
    at = ok(apptest.open_page(PAGE, timeout=300))
    at.number_input(key="ft_data_index").set_value(3).run()
    body = texts(ok(at))
    assert "2 of them graded" in body
