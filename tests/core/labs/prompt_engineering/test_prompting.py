"""Prompt building, answer extraction and the bench runner (with a stand-in for the model)."""
import pytest

from core.labs.prompt_engineering.prompting import (
    ALL_SETTINGS,
    BenchSetting,
    DataError,
    build_prompt,
    extract_label,
    extract_number,
    grade,
    load_set,
    parse_number,
    run_bench,
    tasks,
)
from core.serving.generation import GeneratedToken, GenerationResult


def test_shipped_sets_are_valid_and_answers_are_right():
    reviews, arithmetic = load_set("reviews"), load_set("arithmetic")
    assert len(reviews["items"]) == 30 and len(arithmetic["items"]) == 20
    labels = [i.answer for i in reviews["items"]]
    assert labels.count("positive") == labels.count("negative") == 15
    # Worked examples are never graded items.
    for data in (reviews, arithmetic):
        assert not {e.input for e in data["examples"]} & {i.input for i in data["items"]}
    assert all(parse_number(i.answer) is not None for i in arithmetic["items"])


def test_bad_data_files_are_reported(tmp_path):
    (tmp_path / "broken.yaml").write_text("items: [1, 2]")
    with pytest.raises(DataError, match="broken.yaml"):
        load_set("broken", tmp_path)
    (tmp_path / "arithmetic.yaml").write_text("task: arithmetic\nitems: [{input: 'x?', answer: lots}]")
    with pytest.raises(DataError, match="non-numeric"):
        load_set("arithmetic", tmp_path)
    with pytest.raises(DataError):
        load_set("missing", tmp_path)


def test_zero_one_few_shot_prompts():
    task = tasks()["sentiment"]
    zero = build_prompt(task, "Great phone.")
    few = build_prompt(task, "Great phone.", task.examples)
    assert zero.count("Review:") == 1 and zero.endswith("Review: Great phone.\nSentiment:")
    assert few.count("Review:") == 4 and "Sentiment: negative" in few
    cot = build_prompt(tasks()["arithmetic"], "2 + 2?", tasks()["arithmetic"].examples[:1], cot=True)
    assert "The answer is 19." in cot and "step by step" in cot


@pytest.mark.parametrize("text, cot, expected", [
    ("42", False, 42), ("The answer is 1,200.", True, 1200), ("5 + 7 = 12. The answer is 12", True, 12),
    ("A: 24 apples, then 3 more", False, 24), ("3 + 4 = 7, and 7 * 2 = 14", True, 14), ("seven", False, 7),
    ("-3.5 degrees", False, -3.5), ("I don't know", False, None), ("", False, None), ("The answer is **18**", True, 18),
])
def test_extract_number(text, cot, expected):
    assert extract_number(text, cot) == expected


def test_extract_label_and_grade():
    labels = ("positive", "negative")
    assert extract_label("Positive!", labels) == "positive"
    assert extract_label("It is not positive, it is negative", labels, cot=True) == "negative"
    assert extract_label("The answer is negative.", labels, cot=True) == "negative"
    assert extract_label("meh", labels) is None and extract_label(None, labels) is None
    sentiment, arithmetic = tasks()["sentiment"], tasks()["arithmetic"]
    assert grade(sentiment, "negative", "negative") == ("negative", True)
    assert grade(arithmetic, "no idea", "12") == (None, False)          # a non-numeric answer is wrong, not a crash
    assert grade(arithmetic, "12.0", "12") == ("12", True)


def test_run_bench_with_a_stand_in_model():
    task, data = tasks()["arithmetic"], load_set("arithmetic")
    answers = {i.input: i.answer for i in data["items"]}
    seen = []

    def generate(messages, settings):
        prompt = messages[0]["content"]
        seen.append(settings)
        question = prompt.rsplit("Q: ", 1)[1].split("\nA:")[0]
        text = f"The answer is {answers[question]}." if "step by step" in prompt else "no idea"
        return GenerationResult(tokens=[GeneratedToken(1, text, 1.0, 1)], prompt_tokens=10)

    progress = []
    summaries = run_bench(generate, task, data, [BenchSetting("zero-shot"), BenchSetting("few-shot", cot=True)], 3,
                          lambda done, total, label: progress.append((done, total)))
    assert [s.accuracy for s in summaries] == [0.0, 1.0]
    assert summaries[0].answered == 0 and progress[-1] == (6, 6)
    assert all(s.temperature == 0 for s in seen)                           # greedy: repeatable, cacheable
    assert len(ALL_SETTINGS) == 6
    with pytest.raises(ValueError):
        BenchSetting("two-shot")


def test_label_probabilities_sum_each_labels_first_tokens():
    import numpy as np

    from core.labs.prompt_engineering.prompting import label_probabilities, label_variants

    assert label_variants("positive") == [" Positive", " positive", "Positive", "positive"]
    logits = np.log(np.array([0.5, 0.2, 0.1, 0.1, 0.1]))
    odds = label_probabilities(logits, {"positive": {0, 1}, "negative": {2, 4}})
    assert odds["positive"] == pytest.approx(0.7) and odds["negative"] == pytest.approx(0.2)
    assert label_probabilities(logits, {"a": {0, 3}, "b": {3}}) == pytest.approx({"a": 0.5, "b": 0.0})


def test_calibration_divides_out_the_content_free_bias():
    from core.labs.prompt_engineering.prompting import odds_predictions

    odds = [{"positive": 0.6, "negative": 0.3}, {"positive": 0.5, "negative": 0.1}]
    free = {"positive": 0.6, "negative": 0.2}                # the model leans positive on "N/A"
    raw, calibrated = odds_predictions(odds, free)
    assert raw == ["positive", "positive"]
    assert calibrated == ["negative", "positive"]            # 0.3/0.2 = 1.5 > 0.6/0.6 = 1.0; 0.5/0.6 > 0.1/0.2
    assert odds_predictions([{"a": 0.2, "b": 0.1}], {"a": 0.0, "b": 0.5})[1] == ["a"]   # no bias known for a
