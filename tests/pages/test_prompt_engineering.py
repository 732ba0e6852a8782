"""AppTest for page 3 (prompt builder, prompt bench) on the real bundled model."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.openai_servers import SERVED
from tests.pages import apptest

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PROMPTING = "app_pages/03_prompt_engineering.py"


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=300)


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def button(at, key: str):
    return next(b for b in at.button if b.key == key)


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


def test_prompt_builder_shows_each_styles_odds_for_each_label():
    at = open_page(PROMPTING)
    button(at, "prompt_builder_run").click().run()          # loads the decoder if no other test has
    at.run()
    odds = [c.value for c in ok(at).caption if "as a share of the labels only" in c.value]
    assert len(odds) == 1 and "P(positive)" in odds[0] and "P(negative)" in odds[0]


def test_prompt_builder_answers_from_a_model_server(server_registry, served_smollm2):
    """The message (not a templated text: the server applies the template), the server's answer without colours;
    the label odds keep the model in this app and say so."""
    server_registry(*served_smollm2)
    at = open_page(PROMPTING)
    at.selectbox(key="prompt_builder_decoder").set_value(SERVED).run()
    texts = apptest.texts(ok(at))
    assert "Message sent to Served SmolLM2 (model server)" in texts
    assert "The label odds chart needs the model's weights in this app; it shows SmolLM2-135M-Instruct" in texts
    assert not any("<|im_start|>" in c.value for c in at.code)
    assert at.selectbox(key="prompt_bench_decoder").value == SERVED       # one pick for every demo
    button(at, "prompt_builder_run").click().run()
    out = ok(at).session_state["prompt_builder_single"][1]
    assert out["text"].strip() and not out["probabilities"] and out["prompt_tokens"] > 0 and not at.error
    assert "sends no token probabilities" in apptest.texts(at)
