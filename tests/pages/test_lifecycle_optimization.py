"""Page 10 (lifecycle & optimization) under AppTest, on the real bundled decoder."""
from __future__ import annotations

import pytest

from tests.pages import apptest
from tests.pages.apptest import metric, ok

pytestmark = pytest.mark.model
PAGE = "app_pages/10_lifecycle_optimization.py"


def test_the_map_links_every_stage_and_pruning_waits_for_the_switch():
    at = ok(apptest.open_page(PAGE, timeout=300))
    assert not at.metric                                           # nothing is copied before the learner asks
    assert any("Switch on to copy the model" in c.value for c in at.caption)


def test_pruning_curve_and_structured_pruning():
    at = ok(apptest.open_page(PAGE, timeout=600))
    at.toggle(key="prune_on").set_value(True).run()
    ok(at)
    assert metric(at, "Zeros (measured)") == "30.0%"
    at.slider(key="prune_sparsity").set_value(0).run()
    assert metric(ok(at), "KL from the original") == "0.000" and metric(at, "Same top token") == "100%"
    at.slider(key="prune_sparsity").set_value(90).run()
    assert float(metric(ok(at), "Perplexity").replace(",", "")) > 100
    next(b for b in at.button if b.key == "prune_structured").click().run()
    table = ok(at).dataframe[0].value
    assert list(table["kept per layer"]) == ["1,536 channels", "1,152 channels"]
    assert table["model"][1].endswith("by how active each channel is on sample text")
    assert any("parameters fewer" in c.value for c in at.caption)
    at.radio(key="prune_unit").set_value("heads").run()            # one of each group's 3 query heads goes
    next(b for b in ok(at).button if b.key == "prune_structured").click().run()
    table = ok(at).dataframe[0].value
    assert list(table["kept per layer"]) == ["9 heads", "6 heads"]
    fewer = int(table["parameters"][0].replace(",", "")) - int(table["parameters"][1].replace(",", ""))
    assert fewer == 30 * 2 * 3 * 64 * 576                           # 30 layers × (q rows + o columns) of 3 heads
    assert float(table["KL"][1]) > 0


def test_real_kernels_table_and_frontier():
    at = ok(apptest.open_page(PAGE, timeout=600))
    assert any("No variants yet" in i.value for i in at.info)
    next(b for b in at.button if b.key == "kernels_run").click().run()
    table = ok(at).dataframe[0].value
    assert list(table["variant"]) == ["FP32", "BF16", "INT8, every linear layer", "INT8, down_proj kept in FP32"]
    assert table["KL from FP32"][0] == "0.000"
    sizes = [float(v.replace(",", "")) for v in table["stored size (MB)"]]
    assert sizes[2] < sizes[3] < sizes[0] and sizes[1] < sizes[0]
    assert any(c.value.startswith("4 point(s).") for c in at.caption)


def test_soft_labels_flatten_with_the_temperature_and_bad_temperatures_get_a_sentence():
    import re
    at = ok(apptest.open_page(PAGE, timeout=300))
    captions = [c.value for c in at.caption if c.value.startswith("Among the teacher's 64 best tokens")]
    assert len(captions) == 1
    cold, warm = map(int, re.search(r"holds (\d+)% at T = 1 and (\d+)% at T = 2", captions[0]).groups())
    assert cold > warm                                          # softened: the top token gives up probability
    for bad in (0.0, -1.0, 1e9):
        at.number_input(key="distil_temperature").set_value(bad).run()
        assert any("temperature must be between 0.5 and 20" in w.value for w in ok(at).warning)
    at.number_input(key="distil_temperature").set_value(1.0).run()
    caption = next(c.value for c in ok(at).caption if c.value.startswith("Among the teacher's"))
    top1, top_t = map(int, re.search(r"holds (\d+)% at T = 1 and (\d+)% at T = 1\b", caption).groups())
    assert top1 == top_t                                        # T = 1 changes nothing
    at.text_input(key="distil_text").input("   ").run()
    assert any("Type a few words" in w.value for w in ok(at).warning)


def test_distillation_demo_draws_without_training():
    at = ok(apptest.open_page(PAGE, timeout=300))
    assert any(b.key == "distil_start" for b in at.button)
    assert at.select_slider(key="distil_race_t").value == 1.0 and at.slider(key="distil_alpha").value == 0.9
