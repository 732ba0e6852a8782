"""The question bank, answer checking, scoring and leaderboards (no models, no Streamlit)."""
import math
from pathlib import Path

import pytest

from core.lessons import load_sections
from core.workshop.quiz import (
    MAX_POINTS,
    MIN_POINTS,
    QuizError,
    answers_csv,
    distribution,
    heatmap,
    leaderboard,
    live_points,
    load_bank,
    load_file,
    parse_number,
    per_participant,
)

SECTION_IDS = [s.id for s in load_sections()]


@pytest.fixture(scope="module")
def bank():
    return load_bank(section_ids=SECTION_IDS)


def test_bank_loads_without_errors_and_covers_every_section(bank):
    assert bank.errors == ()
    assert bank.sections == SECTION_IDS
    for section in SECTION_IDS:
        assert len(bank.for_section(section)) >= 6, section
    assert {q.type for q in bank.questions} == {"single", "multiple", "numeric", "ordering"}
    for q in bank.questions:
        assert q.explanation and q.link in SECTION_IDS and q.source.startswith("lessons/quiz/")


def test_the_deck_numbers_in_the_bank(bank):
    assert bank.by_id("cq-train-7b").answer == 168          # 7e9 params x 24 bytes
    assert bank.by_id("cq-gpus-175b").answer == math.ceil(175 * 24 / 80)
    assert bank.by_id("ft-lora-count").answer == 1024 * 8 * 2
    assert bank.by_id("it-embedding-params").answer == 49_152 * 576
    assert abs(bank.by_id("ic-temperature-05").answer - math.exp(4) / (math.exp(4) + math.exp(2) + 1)) < 1e-3
    assert abs(bank.by_id("rl-loss").answer - (-math.log(1 / (1 + math.exp(-1.5))))) < 0.01


def test_issue_10_corrections_in_the_bank(bank):
    digits = bank.by_id("it-digits")
    assert digits.answer == 7 and "helps arithmetic" in digits.explanation
    assert "GPT-2" in digits.explanation and "is hard for LLMs" not in digits.explanation
    loss = bank.by_id("rl-loss")           # the answer 0.20 holds for ln only (log10 gives 0.09)
    assert "natural logarithm" in loss.prompt and "−ln" in loss.prompt
    assert not loss.is_correct(round(-math.log10(1 / (1 + math.exp(-1.5))), 2))


def test_answer_checking_for_each_type(bank):
    single, multiple = bank.by_id("gai-hallucination-definition"), bank.by_id("ic-top-p")
    numeric, ordering = bank.by_id("cq-train-7b"), bank.by_id("lo-stages")
    assert single.is_correct("Hallucination") and not single.is_correct("Overfitting")
    assert multiple.is_correct(["cloudy", "sunny"]) and not multiple.is_correct(["sunny"])
    assert not multiple.is_correct(["sunny", "cloudy", "rainy"])
    assert numeric.is_correct(168) and numeric.is_correct("168.9") and numeric.is_correct(" 167,5 ".replace(",", "."))
    assert not numeric.is_correct(170) and not numeric.is_correct("NaN") and not numeric.is_correct("inf")
    assert ordering.is_correct(list(ordering.items)) and not ordering.is_correct(list(reversed(ordering.items)))
    shuffled = ordering.shuffled_items()
    assert sorted(shuffled) == sorted(ordering.items) and tuple(shuffled) != ordering.items
    for bad in (None, 3, {"a": 1}, ["x"] * 3, "<script>", True, float("nan")):   # wrong shapes: just wrong
        for q in (single, multiple, numeric, ordering):
            assert q.is_correct(bad) is False


def test_parse_number():
    assert parse_number("1,024") == 1024 and parse_number(" 0.5 ") == 0.5
    for bad in ("", "abc", "1e999", "nan", None, True, "9" * 50):
        assert parse_number(bad) is None


def test_parse_number_reads_separators_and_suffixes():
    """Learners write numbers the way people do, not the way Python does."""
    for text, value in {"1,234": 1234, "1 234": 1234, "1\u202f234": 1234, "28,311,552": 28_311_552,
                        "28 311 552": 28_311_552, "1_000": 1000, "1,234.5": 1234.5, "0,5": 0.5, "167,5": 167.5,
                        "5k": 5000, "5 K": 5000, "28.3M": 28_300_000, "1.2B": 1_200_000_000, "1.5bn": 1.5e9,
                        "2 billion": 2e9, "140 thousand": 140_000, "80%": 0.8, "−2": -2, "1e3": 1000}.items():
        assert parse_number(text) == pytest.approx(value), text
    for bad in ("1,2,3", "1.234.567", "12,34,567", "k", "M", "inf", "0x1f", "1__000", "5 kg", "five"):
        assert parse_number(bad) is None, bad


def test_numeric_answers_in_the_questions_unit_with_tolerance(bank):
    params = bank.by_id("it-embedding-params")                 # 28,311,552: three significant digits suffice
    assert params.tolerance > 0 and "± 50,000 parameters" in params.precision_text()
    for right in ("28,311,552", "28 311 552", "28311552", "28.3M", "28.3 million", "28.31M parameters"):
        assert params.is_correct(right), right
    for wrong in ("28M", "28.4M", "28.3", "28.3B"):
        assert not params.is_correct(wrong), wrong
    lora = bank.by_id("ft-lora-count")                         # 16,384
    assert lora.is_correct("16,384") and lora.is_correct("16.384k") and lora.is_correct("16.4k")
    assert not lora.is_correct("16k") and not lora.is_correct("16,500")
    size = bank.by_id("gai-smollm-size")
    for right in ("135", "135M", "135 million", "0.135B", "134.5"):   # the unit is already "million"
        assert size.is_correct(right), right
    tokens = bank.by_id("cq-chinchilla")                       # unit "billion tokens"
    for right in ("140", "140B", "140 billion", "140B tokens", "140 billion tokens"):
        assert tokens.is_correct(right), right
    assert bank.by_id("cq-train-7b").is_correct("168 GB") and bank.by_id("cq-train-7b").is_correct("168gb")
    assert bank.by_id("ic-temperature-05").is_correct("86.7%")
    window = bank.by_id("qz-context-window")                  # 8,192 tokens, which people call "8k"
    assert window.is_correct("8k") and window.is_correct("8,192") and not window.is_correct("4k")
    exact = bank.by_id("it-digits")                            # a count read off the demo: exact
    assert exact.tolerance == 0 and exact.precision_text() == ""
    assert exact.is_correct("7") and exact.is_correct("7 tokens") and not exact.is_correct("7.5")


def test_response_text_repeats_the_learners_answer(bank):
    assert bank.by_id("it-embedding-params").response_text(28.3e6) == "28,300,000 parameters"
    assert bank.by_id("cq-train-7b").response_text("168") == "168 GB"
    assert bank.by_id("ic-top-p").response_text(["sunny", "cloudy"]) == "sunny, cloudy"
    order = bank.by_id("lo-stages")
    assert order.response_text(list(order.items)) == " → ".join(order.items)
    assert bank.by_id("gai-hallucination-definition").response_text("Overfitting") == "Overfitting"


def test_no_prompt_depends_on_the_page_it_is_shown_on(bank):
    """Page 12 and the live quiz show questions from every lesson, so "on this page" is wrong there.
    A question answered with a demo names the lesson that has it."""
    sections = {s.id: s for s in load_sections()}
    for q in bank.questions:
        text = q.prompt.casefold()
        for phrase in ("this page", "demo above", "demo below", "above this", "below this", "on the left",
                       "on the right"):
            assert phrase not in text, (q.id, phrase)
        if q.demo:
            lesson = sections[q.link]
            assert f"lesson {lesson.number}, {lesson.title}".casefold() in text, q.id


def test_live_points_reward_right_and_fast():
    assert live_points(True, 0, 20) == MAX_POINTS
    assert live_points(True, 20, 20) == MIN_POINTS
    assert live_points(True, 10, 20) == 750
    assert live_points(True, 5, 20) > live_points(True, 15, 20)
    assert live_points(False, 1, 20) == 0
    assert live_points(True, 25, 20) == 0            # late
    assert live_points(True, float("nan"), 20) == 0 and live_points(True, -1, 20) == 0


def test_leaderboard_orders_by_points_then_time_and_shares_ranks():
    answers = [dict(nickname="Bo", points=900, correct=True, elapsed=4.0),
               dict(nickname="Al", points=900, correct=True, elapsed=4.0),
               dict(nickname="Cy", points=950, correct=True, elapsed=2.0),
               dict(nickname="Di", points=0, correct=False, elapsed=1.0)]
    board = leaderboard(answers, participants=["Ed"])
    assert [s.nickname for s in board] == ["Cy", "Al", "Bo", "Di", "Ed"]
    assert [s.rank for s in board] == [1, 2, 2, 4, 4]
    assert board[0].correct == 1 and board[3].answered == 1 and board[4].answered == 0


def test_distribution_counts(bank):
    q = bank.by_id("ic-top-p")
    assert distribution(q, [["sunny", "cloudy"], ["sunny"], "junk"]) == dict(
        sunny=2, cloudy=1, rainy=0, cold=0, windy=0, purple=0)
    order = bank.by_id("lo-stages")
    assert distribution(order, [list(order.items), ["x"]]) == {"right order": 1, "another order": 1}


def test_analytics_heatmap_participants_and_csv(bank):
    rows = [dict(nickname="=cmd|' /C calc'!A0", question_id="cq-train-7b", section="compute-quantization",
                 correct=True, points=900, elapsed=2.0, response=168, answered_at=1.0),
            dict(nickname="Bo", question_id="cq-train-7b", section="compute-quantization", correct=False,
                 points=0, elapsed=3.0, response="-2+3", answered_at=2.0)]
    data = heatmap(rows, bank)
    assert data.sections == ["compute-quantization"] and data.share[0][0] == 0.5 and data.share[0][-1] == 0.5
    assert data.share[0][1] is None and data.counts[0][0] == 2
    people = per_participant(rows)
    assert [p["share_correct"] for p in people] == [1.0, 0.0]
    csv_text = answers_csv(rows)
    assert "'=cmd" in csv_text and "'-2+3" in csv_text     # no spreadsheet formula injection


BAD_FILES = {
    "syntax": ("questions:\n  - id: a\n    prompt: [unclosed\n", 4, "flow sequence on line 3"),
    "bad-indent": ("questions:\n  - id: a\n   type: single\n", 3, "not valid YAML"),
    "no-answer": ("questions:\n  - id: q1\n    type: single\n    prompt: P?\n    options: [a, b]\n"
                  "    answer: c\n    explanation: E\n", 6, "answer must be one of the options"),
    "bad-type": ("questions:\n  - id: q1\n    type: essay\n    prompt: P?\n"
                 "    explanation: E\n", 3, "type must be one of"),
    "numeric-text": ("questions:\n  - id: q1\n    type: numeric\n    prompt: P?\n    answer: lots\n"
                     "    explanation: E\n", 5, "answer must be a number"),
    "short-order": ("questions:\n  - id: q1\n    type: ordering\n    prompt: P?\n    items: [a, b]\n"
                    "    explanation: E\n", 5, "at least 3"),
    "dup": ("questions:\n  - id: q1\n    type: numeric\n    prompt: P?\n    answer: 1\n    explanation: E\n"
            "  - id: q1\n    type: numeric\n    prompt: P?\n    answer: 1\n    explanation: E\n", 7, "duplicate"),
    "unknown-field": ("questions:\n  - id: q1\n    type: numeric\n    prompt: P?\n    answer: 1\n    explanation: E\n"
                      "    hint: !!python/object/apply:os.system ['echo hacked']\n", None, None),
    "empty": ("", 1, "questions"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_files_name_file_and_line(tmp_path, name):
    text, line, words = BAD_FILES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    with pytest.raises(QuizError) as info:
        load_file(path)
    message = str(info.value)
    assert str(path) in message
    if line is not None:
        assert f"{path}:{line}:" in message, message
    if words:
        assert words in message, message


def test_python_tags_are_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "x.yaml"
    path.write_text(f"questions:\n  - id: q1\n    type: numeric\n    prompt: !!python/object/apply:os.system "
                    f"['touch {marker}']\n    answer: 1\n    explanation: E\n")
    with pytest.raises(QuizError):
        load_file(path)
    assert not marker.exists()


def test_a_broken_file_is_reported_and_the_rest_still_load(tmp_path):
    good = Path(__file__).resolve().parents[3] / "lessons" / "quiz" / "rlhf.yaml"
    (tmp_path / "rlhf.yaml").write_text(good.read_text())
    (tmp_path / "quiz.yaml").write_text("questions: [1, 2")
    (tmp_path / "not-a-section.yaml").write_text(good.read_text())
    loaded = load_bank(tmp_path, SECTION_IDS)
    assert loaded.sections == ["rlhf"]
    assert len(loaded.errors) == 2
    assert any("quiz.yaml:1:" in e for e in loaded.errors) and any("not-a-section" in e for e in loaded.errors)


@pytest.mark.model
def test_tokenizer_questions_match_the_real_tokenizers(bank, service):
    """The "run the demo" questions: the bank's answers are what the demo shows for the same text."""
    checks = {"it-smollm-thirumalaivasan": ("Thirumalaivasan", "causal-lm"),
              "it-minilm-thirumalaivasan": ("Thirumalaivasan", "sentence-encoder"),
              "it-digits": ("1234567", "causal-lm")}
    for qid, (text, kind) in checks.items():
        q = bank.by_id(qid)
        assert f"`{text}`" in q.prompt and q.demo == "tokenizer" and q.link == "inside-transformer"
        assert service.tokenize(text, kind=kind).n_tokens == q.answer, qid
