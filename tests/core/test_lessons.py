import re

import pytest

from core.lessons import LessonError, LessonPart, lesson_text, load_sections, split_demos

DECK_ORDER = ["generative-ai", "inside-transformer", "prompt-engineering", "inference-configuration",
              "model-cards-architectures", "compute-quantization", "fine-tuning-peft", "evaluation-benchmarks",
              "rlhf", "lifecycle-optimization", "rag-applications", "quiz"]


def test_one_section_per_deck_section_in_order():
    sections = load_sections()
    assert [s.id for s in sections] == DECK_ORDER
    assert [s.number for s in sections] == list(range(1, 13))


@pytest.mark.parametrize("section", load_sections(), ids=lambda s: s.id)
def test_every_lesson_has_text_and_no_h1(section):
    text = lesson_text(section)
    assert len(text.split()) > (50 if section.id == "quiz" else 300)
    assert not re.search(r"^# ", text, re.MULTILINE), "the page renders the title; lessons start at ##"
    assert "$" not in text, "Streamlit renders $...$ as LaTeX"


def test_deck_tables_are_rendered_as_tables():
    text = {s.id: lesson_text(s) for s in load_sections()}
    table_rows = lambda t: [line for line in t.splitlines() if line.strip().startswith("|")]
    # Bytes per parameter to train, the precision summary and Chinchilla's table (section 6).
    compute = "\n".join(table_rows(text["compute-quantization"]))
    for fact in ("+8", "BFLOAT16", "Chinchilla", "LLaMA-65B", "350B"):
        assert fact in compute
    assert "HellaSwag" in "\n".join(table_rows(text["evaluation-benchmarks"]))
    assert "Training duration" in "\n".join(table_rows(text["lifecycle-optimization"]))


def test_split_demos_cuts_at_markers():
    parts = split_demos("intro\n<!-- demo: tokenizer -->\nmiddle\n<!--demo:other-->\n")
    assert parts == [LessonPart("markdown", "intro\n"), LessonPart("demo", "tokenizer"),
                     LessonPart("markdown", "\nmiddle\n"), LessonPart("demo", "other")]
    assert split_demos("no markers") == [LessonPart("markdown", "no markers")]


def test_inside_transformer_lesson_places_the_tokenizer_demo():
    section = next(s for s in load_sections() if s.id == "inside-transformer")
    assert LessonPart("demo", "tokenizer") in split_demos(lesson_text(section))


def test_malformed_sections_file(tmp_path):
    bad = tmp_path / "sections.yaml"
    bad.write_text("- id: a\n  title: A\n")
    with pytest.raises(LessonError, match="needs non-empty"):
        load_sections(bad)
    with pytest.raises(LessonError):
        load_sections(tmp_path / "missing.yaml")
