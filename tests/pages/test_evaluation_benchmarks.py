"""Page 8 (evaluation & benchmarks) under AppTest, on the real bundled models."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import apptest
from tests.pages.apptest import button, metric, ok, table, texts

pytestmark = pytest.mark.model
PAGE = "app_pages/08_evaluation_benchmarks.py"


def open_page() -> AppTest:
    return apptest.open_page(PAGE, timeout=300)


def test_the_worked_example_is_counted_on_screen_and_follows_the_output():
    at = ok(open_page())
    rouge = table(at, "rouge-score's F1").set_index("metric")
    assert rouge.loc["ROUGE-1", "precision = matches ÷ output"] == "4/5 = 0.800"
    assert rouge.loc["ROUGE-1", "recall = matches ÷ reference"] == "4/4 = 1.000"
    assert rouge.loc["ROUGE-2", "recall = matches ÷ reference"] == "2/3 = 0.667"
    assert rouge.loc["ROUGE-2", "F1"] == rouge.loc["ROUGE-2", "rouge-score's F1"] == "0.571"
    at.text_area(key="metric_counter_cand").input("It is cold outside").run()
    rouge = table(ok(at), "rouge-score's F1").set_index("metric")
    assert (rouge["F1"] == "1.000").all()
    bleu = table(at, "matches (clipped)")
    assert list(bleu["matches (clipped)"]) == [4, 3, 2, 1]


def test_the_short_bleu_example_shows_its_brevity_penalty():
    at = ok(open_page())
    at.selectbox(key="metric_counter_preset").set_value("BLEU: short output").run()
    assert "e^(1 − 6/4) = 0.6065" in texts(ok(at))
    assert "BLEU = 0.6065 × 1.0000 = 0.6065" in texts(at)
    assert "Geometric mean of the four precisions: 1.0000" in texts(at)
    at.text_area(key="metric_counter_cand").input("It is").run()      # no 3- or 4-grams: effective order 2
    assert "Geometric mean of the two precisions (an output this short has no longer n-grams" in texts(ok(at))


def test_failure_cases_have_every_metric_and_the_paraphrase_beats_ngrams_on_embeddings():
    at = ok(open_page())
    rows = table(at, "MiniLM cosine").set_index("case")
    assert len(rows) == 5
    para = rows.loc["Correct paraphrase, low score"]
    assert para["MiniLM cosine"] > para["ROUGE-1"] and para["MiniLM cosine"] > para["BLEU"]
    assert rows.loc["Meaning flipped: “not cold”", "ROUGE-1"] == pytest.approx(0.889, abs=1e-3)


@pytest.mark.parametrize("refs, cand, message", [
    ("", "anything", "Type at least one reference"),
    ("It is cold", "   ", "Type an output"),
    ("It is cold", "x" * 100_001, "limited to 100,000"),
    ("!!!", "???", None),
    ("東京は日本の首都です", "東京は日本の首都だ", None),
    ("<b>bold</b> **not bold**", "<script>alert(1)</script> **x**", None),
])
def test_bad_input_is_a_message_or_a_score(refs, cand, message):
    at = ok(open_page())
    at.text_area(key="metric_counter_refs").input(refs)
    at.text_area(key="metric_counter_cand").input(cand).run()
    ok(at)
    if message:
        assert message in texts(at)
    else:
        assert len(table(at, "rouge-score's F1")) == 3


def test_benchmark_runs_a_few_questions_and_reports_accuracy_calibration():
    at = ok(open_page())
    at.slider(key="mini_benchmark_n").set_value(6).run()
    button(at, "mini_benchmark_run").click().run()
    ok(at)
    acc = metric(at, "Accuracy (acc)")
    assert acc.endswith("%") and 0 <= float(acc.rstrip("%")) <= 100
    subjects = table(at, "95% interval")
    assert subjects["questions"].sum() == 6
    assert metric(at, "Expected calibration error")                 # the calibration demo reuses the run
    choices = table(at, "per character (acc_norm)")
    assert len(choices) == 4


def test_contamination_finds_the_question_in_its_example_document():
    at = ok(open_page())
    assert metric(at, "Share") == "100%"
    at.text_area(key="contamination_doc").input("Nothing to see here, just a note about lunch.").run()
    assert metric(ok(at), "Share") == "0%"


def test_summaries_are_generated_graded_and_sorted_worst_first():
    at = ok(open_page())
    button(at, "summary_task_run").click().run()
    ok(at)
    mean = float(metric(at, "Mean ROUGE-L F1"))
    assert 0.0 < mean < 1.0
    rows = table(at, "model's summary")
    assert len(rows) == 30 and list(rows["ROUGE-L"]) == sorted(rows["ROUGE-L"])
    assert (rows["model's summary"].str.len() > 0).all()


def test_robustness_runs_three_versions_of_the_same_questions():
    at = ok(open_page())
    at.slider(key="robustness_n").set_value(5).run()
    button(at, "robustness_run").click().run()
    text = texts(ok(at))
    assert "Shuffling the choices changed right ↔ wrong on" in text and "of 5 questions" in text
    assert "with a typo:" in text


def test_stemming_and_tokenizer_choices_change_the_score_on_screen():
    at = ok(open_page())
    at.text_area(key="metric_counter_refs").input("The cats are running.")
    at.text_area(key="metric_counter_cand").input("the cat runs").run()
    choices = table(ok(at), "choice")
    rouge1 = choices[choices["metric"] == "ROUGE-1 F1"].set_index("choice")["score"]
    assert rouge1["stemming on"] > rouge1["stemming off"]
    assert "a paper must say which it used" in texts(at)


def test_summaries_come_from_a_model_server_and_a_server_that_is_down_is_one_sentence(server_registry):
    """The stdlib fake server answers every dialogue (all submitted at once); the mini-benchmark keeps SmolLM2 and
    says so. Then the same page with the server gone: one sentence, no traceback."""
    from tests.openai_servers import SERVED, FakeServer, answer, chunk, closed_port

    fake = FakeServer()
    try:
        fake.script = answer(chunk("Two friends agree to meet for lunch."), chunk(finish="stop"))
        server_registry(fake.base_url)
        at = open_page()
        at.selectbox(key="summary_task_decoder").set_value(SERVED).run()
        assert "The mini-benchmark needs the model's weights in this app; it shows SmolLM2" in texts(ok(at))
        button(at, "summary_task_run").click().run()
    finally:
        fake.close()
    rows = table(ok(at), "model's summary")
    assert len(rows) > 1 and (rows["model's summary"] == "Two friends agree to meet for lunch.").all()
    assert "Served SmolLM2" in texts(at) and len([r for r in fake.requests if r[1]]) == len(rows)
    server_registry(f"http://127.0.0.1:{closed_port()}/v1")
    at = open_page()
    at.selectbox(key="summary_task_decoder").set_value(SERVED)
    at.radio(key="summary_task_shots").set_value(1).run()        # replies nobody has yet (zero-shot ones are kept)
    button(at, "summary_task_run").click().run()
    errors = [e.value for e in ok(at).error]
    assert len(errors) == 1 and "Cannot reach the model server" in errors[0], errors
    assert not any("model's summary" in d.value.columns for d in at.dataframe)
