"""Contamination overlap and the lesson's benchmark table as data."""
from __future__ import annotations

import pytest

from core.labs.evaluation_benchmarks import contamination as cont
from core.labs.evaluation_benchmarks import leaderboard


def test_overlap_marks_the_shared_ngrams_on_both_sides():
    q = "Which planet is known as the Red Planet?"
    d = "Everyone knows Mars is known as the Red Planet by astronomers."
    o = cont.overlap(q, d, n=4)
    # question words: which planet is known as the red planet -> shared 4-grams: "is known as the",
    # "known as the red", "as the red planet"
    assert o.question_ngrams == 5 and o.shared_ngrams == 3 and o.share == pytest.approx(0.6)
    assert [o.question_words[i].text for i in o.question_marks] == ["is", "known", "as", "the", "red", "planet"]
    assert [d[o.document_words[i].start:o.document_words[i].end] for i in o.document_marks] == \
        ["is", "known", "as", "the", "Red", "Planet"]
    assert o.longest_run == 6


@pytest.mark.parametrize("q, d, n", [("", "text", 3), ("short", "", 3), ("two words", "two words", 5),
                                     ("!!! ???", "...", 1), ("東京 は 日本", "東京 は 日本 の 首都", 2)])
def test_edge_cases_give_a_number_not_an_error(q, d, n):
    o = cont.overlap(q, d, n)
    assert 0.0 <= o.share <= 1.0 and o.shared_ngrams <= o.question_ngrams


def test_non_latin_words_count():
    assert cont.overlap("東京 は 日本", "東京 は 日本 の 首都", 2).share == 1.0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        cont.overlap("a b", "a b", 0)
    with pytest.raises(ValueError):
        cont.overlap("a", "x" * (cont.MAX_CHARS + 1), 2)
    with pytest.raises(TypeError):
        cont.words(None)


def test_the_lesson_table_parses_with_the_corrected_gsm8k_row():
    table = leaderboard.load()
    assert table.models == ("Gemini Ultra", "Gemini Pro", "GPT-4", "GPT-3.5", "PaLM 2-L", "Claude 2")
    rows = {r.benchmark: r for r in table.rows}
    assert len(rows) == 9 and {"MMLU", "GSM8K", "HellaSwag", "WMT23"} <= set(rows)
    gsm = [c.value for c in rows["GSM8K"].cells]
    assert gsm == [94.4, 86.5, 92.0, 57.1, 80.0, 88.0]
    mmlu = rows["MMLU"].cells
    assert mmlu[0].value == 90.04 and mmlu[0].percent and mmlu[0].setup == "CoT@32*"
    assert mmlu[2].setup == "CoT@32 (via API**)"
    assert rows["MATH"].cells[5].value is None and rows["DROP"].cells[0].percent is False
    assert rows["MMLU"].about == "57 subjects"


def test_a_table_without_the_header_is_an_error():
    with pytest.raises(ValueError):
        leaderboard.parse("no table here")
