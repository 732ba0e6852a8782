"""AppTest for page 3 (prompt builder, bench) and page 4 (sampling lab, generation) on the real bundled model."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import apptest, stubs

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PROMPTING, INFERENCE = "app_pages/03_prompt_engineering.py", "app_pages/04_inference_configuration.py"


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=300)


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def button(at, key: str):
    return next(b for b in at.button if b.key == key)


# ---- page 3 -------------------------------------------------------------------------
def test_prompt_builder_shows_the_exact_templated_text_and_its_token_count():
    at = open_page(PROMPTING)
    assert any("<|im_start|>user" in c.value and "Sentiment:" in c.value for c in at.code)
    assert any("Exact text sent to SmolLM2" in m.value and "tokens" in m.value for m in at.markdown)
    at.radio(key="prompt_builder_shots").set_value("few-shot").run()
    few = next(c.value for c in at.code if "<|im_start|>user" in c.value)
    assert few.count("Review:") == 4          # three worked examples + the real input
    at.selectbox(key="prompt_builder_task").set_value("translation").run()
    assert any("French:" in c.value for c in ok(at).code)


@pytest.mark.parametrize("text, message", [("", "Type an input"), ("x" * 20_001, "only the first 20,000"),
                                           ("<script>alert(1)</script> 東京 👨‍👩‍👧", None)])
def test_prompt_builder_bad_input(text, message):
    at = open_page(PROMPTING)
    at.text_area(key="prompt_builder_input_sentiment").input(text).run()
    ok(at)
    if message:
        assert any(message in e.value for e in list(at.info) + list(at.warning)), message
    if len(text) > 20_000:                    # three 5,000-token forward passes would hold the model ~50 s
        assert any("label odds are skipped" in c.value for c in at.caption)


def test_prompt_builder_runs_one_shot_and_compares_three_styles():
    at = open_page(PROMPTING)
    at.radio(key="prompt_builder_shots").set_value("one-shot").run()
    button(at, "prompt_builder_compare").click().run()
    captions = [c.value for c in ok(at).caption if " · prompt " in c.value]
    assert len(captions) == 3, captions                       # zero, one and few-shot answers, side by side
    assert all(" s · prompt " in c for c in captions)


def test_bench_runs_a_small_subset_and_grades_it():
    at = open_page(PROMPTING)
    at.selectbox(key="prompt_bench_set").set_value("arithmetic").run()
    at.multiselect(key="prompt_bench_settings").set_value(["zero-shot · direct", "one-shot · direct"]).run()
    at.slider(key="prompt_bench_n").set_value(1).run()
    button(at, "prompt_bench_run").click().run()
    ok(at)
    table = at.dataframe[-1].value
    assert list(table["setting"]) == ["zero-shot · direct", "one-shot · direct"]
    assert set(table["right"]) <= {"✓", "✗"} and (table["new tokens"] > 0).all()
    assert metric(at, "Answers graded") == "2"


def test_label_bench_reports_accuracy_three_ways():
    at = open_page(PROMPTING)
    at.multiselect(key="prompt_bench_settings").set_value(["zero-shot · direct", "few-shot · direct"]).run()
    at.slider(key="prompt_bench_n").set_value(2).run()
    button(at, "prompt_bench_run").click().run()
    three = next(d.value for d in ok(at).dataframe if "calibrated" in d.value.columns)
    assert list(three["style"]) == ["zero-shot", "few-shot"]
    assert all(v.endswith("%") for v in three["most likely label"]) and "positive" in three["bias on “N/A”"][0]


# ---- page 4 -------------------------------------------------------------------------
def chart_rows(at):
    return at.session_state["sampling_rows"]


def test_sampling_lab_chart_reacts_to_every_knob():
    at = open_page(INFERENCE)
    assert chart_rows(at)[0]["final"] > chart_rows(at)[0]["base"]   # the defaults (0.7, top-p 0.9) sharpen already
    at.slider(key="sampling_temperature").set_value(1.0).run()
    at.slider(key="sampling_top_p").set_value(1.0).run()
    base = chart_rows(ok(at))
    assert abs(sum(r["base"] for r in base) - sum(r["final"] for r in base)) < 1e-6   # all knobs off: same bars
    at.slider(key="sampling_temperature").set_value(0.3).run()
    sharp = chart_rows(ok(at))
    assert sharp[0]["final"] > base[0]["final"]               # a low temperature favours the favourite
    at.slider(key="sampling_top_k").set_value(2).run()
    rows = chart_rows(ok(at))
    assert sum(r["final"] > 0 for r in rows) == 2 and rows[2]["removed_by"] == "top-k"
    assert metric(at, "Tokens still possible") == "2"
    at.slider(key="sampling_temperature").set_value(0.0).run()     # temperature 0 = greedy
    assert metric(ok(at), "Tokens still possible") == "1"
    at.slider(key="sampling_temperature").set_value(1.0).run()
    at.slider(key="sampling_top_k").set_value(0).run()
    at.slider(key="sampling_top_p").set_value(0.0).run()          # top-p 0 keeps only the top token
    assert metric(ok(at), "Tokens still possible") == "1"


def test_step_through_greedy_rewind_and_branch():
    at = open_page(INFERENCE)
    button(at, "sampling_greedy").click().run()
    button(ok(at), "sampling_greedy").click().run()
    assert len(at.session_state["sampling_path"]) == 2
    button(ok(at), "sampling_branch").click().run()
    button(ok(at), "sampling_rewind").click().run()
    assert len(at.session_state["sampling_path"]) == 1 and len(at.session_state["sampling_branches"]) == 1
    button(ok(at), "sampling_go_0").click().run()
    assert len(ok(at).session_state["sampling_path"]) == 2
    # Frequency penalties act on the path: the chart changes once a token has been used.
    at.slider(key="sampling_temperature").set_value(1.0).run()
    at.slider(key="sampling_top_p").set_value(1.0).run()
    before = [r["final"] for r in chart_rows(ok(at))]
    at.slider(key="sampling_frequency_penalty").set_value(2.0).run()
    assert [r["final"] for r in chart_rows(ok(at))] != before


def test_generation_caps_max_new_tokens_and_reports_stop_sequences():
    at = open_page(INFERENCE)
    at.number_input(key="generation_max_new").set_value(5_000_000).run()
    assert any("capped at 1,024" in w.value for w in ok(at).warning)
    at.number_input(key="generation_max_new").set_value(6).run()
    at.text_area(key="generation_stops").input("zzz-never\n\n").run()
    button(ok(at), "generation_run").click().run()
    ok(at)
    assert int(metric(at, "New tokens")) <= 6
    assert any("None of your stop sequences appeared" in c.value for c in at.caption)


def test_generation_stop_sequence_hit_and_n_samples():
    at = open_page(INFERENCE)
    at.text_area(key="sampling_prompt").input("Count from 1 to 20, separated by commas.").run()
    at.number_input(key="generation_max_new").set_value(40).run()
    at.text_area(key="generation_stops").input("5").run()
    button(ok(at), "generation_run").click().run()
    assert any("Stopped at the stop sequence" in s.value for s in ok(at).success)
    at.slider(key="generation_n").set_value(2).run()
    at.number_input(key="generation_max_new").set_value(4).run()
    button(ok(at), "generation_many").click().run()
    assert "of 2" in metric(ok(at), "Distinct answers")
    # The answers of one click share the session's turn: the second must not cancel the first (replace=False).
    ended = list(next(d for d in at.dataframe if "ended by" in d.value.columns).value["ended by"])
    assert len(ended) == 2 and "cancelled" not in ended, ended


@pytest.mark.parametrize("prompt, message", [("", "Type a prompt"), ("word " * 8500, "more than the 8,192-token window")])
def test_sampling_lab_bad_prompts(prompt, message, monkeypatch):
    stubs.flat_next_token_logits(monkeypatch)   # the message is the point, not an 8,192-token forward pass (~30 s)
    at = open_page(INFERENCE)
    at.text_area(key="sampling_prompt").input(prompt).run()
    assert any(message in e.value for e in list(ok(at).info) + list(at.warning)), message


def test_prompt_builder_shows_each_styles_odds_for_each_label():
    at = open_page(PROMPTING)
    button(at, "prompt_builder_run").click().run()          # loads the decoder if no other test has
    at.run()
    odds = [c.value for c in ok(at).caption if "as a share of the labels only" in c.value]
    assert len(odds) == 1 and "P(positive)" in odds[0] and "P(negative)" in odds[0]
