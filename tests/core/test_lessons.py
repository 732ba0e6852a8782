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


# ---- statements that would mislead a careful instructor -------------------------------------------

def _lesson(section_id: str) -> str:
    return lesson_text(next(s for s in load_sections() if s.id == section_id))


def test_gsm8k_row_shows_the_source_values_not_the_decks_shifted_cells():
    row = next(line for line in _lesson("evaluation-benchmarks").splitlines() if line.startswith("| **GSM8K**"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # benchmark | Gemini Ultra | Gemini Pro | GPT-4 | GPT-3.5 | PaLM 2-L | Claude 2
    assert [c.split("%")[0] for c in cells[1:]] == ["94.4", "86.5", "92.0", "57.1", "80.0", "88.0"]
    assert "shifted" in _lesson("evaluation-benchmarks")


def test_int8_is_twos_complement_not_sign_plus_seven_bits():
    text = _lesson("compute-quantization")
    assert "two's complement" in text and "sign bit plus 7 value bits store" not in text
    assert "−128 to 127" in text


def test_one_petaflop_s_day_in_a100s_matches_the_calculator():
    from core.labs.compute_quantization.compute import chips_for_one_pfs_day
    from core.labs.compute_quantization.memory import GPU_BY_NAME

    a100 = chips_for_one_pfs_day(GPU_BY_NAME["NVIDIA A100 80 GB"].peak_tflops)
    text = _lesson("compute-quantization")
    assert f"≈ {a100:.1f} A100s" in text and "so 4 whole GPUs" in text
    assert "you would need about 3." not in text


def test_minilm_lineage_is_told_right():
    from core.architectures import entry

    text = _lesson("lifecycle-optimization")
    for fact in ("UniLMv2", "every second layer", "MiniLM-L12", "1 billion sentence pairs", "contrastive"):
        assert fact in text
    assert "UniLMv2" in entry("all-MiniLM-L6-v2").objective


def test_reward_model_loss_uses_the_natural_log():
    assert "natural logarithm" in _lesson("rlhf")


def test_outline_lists_second_level_headings_with_streamlit_anchors():
    from core.lessons import anchor, outline

    text = ("# Title\n## Model cards: a model's leaflet\ntext\n```\n## not a heading\n```\n"
            "### sub\n## Storing pi = 3.14 ##\n")
    assert outline(text) == [("Model cards: a model's leaflet", "model-cards-a-models-leaflet"),
                             ("Storing pi = 3.14", "storing-pi-3-14")]
    assert anchor("Retrieval-augmented generation (RAG)") == "retrieval-augmented-generation-rag"
    assert anchor("LoRA: Low-Rank Adaptation") == "lo-ra-low-rank-adaptation"          # as Streamlit writes it
    assert anchor("Multiple GPUs for large models") == "multiple-gpus-for-large-models"


def test_learner_facing_text_does_not_speak_of_slides_the_learner_never_saw():
    """A self-paced learner has no deck: lessons and quiz files say what is true, not what "the deck" says. A
    lesson may name its sources (and where course slides got something wrong) in a final "Sources and corrections"
    section, the last of the page."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "lessons"
    found = []
    for path in sorted(root.glob("*.md")) + sorted(root.glob("quiz/*.yaml")):
        text = path.read_text(encoding="utf-8")
        text = re.split(r"^## Sources and corrections\s*$", text, flags=re.MULTILINE)[0]
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#") or path.suffix == ".md"]
        found += [f"{path.name}: {ln.strip()[:80]}" for ln in lines if SLIDE_WORDS.search(ln)]
    assert not found, found


SLIDE_WORDS = re.compile(r"\bdecks?\b|\bdeck's\b|\bslides?\b", re.IGNORECASE)


def test_strings_the_app_shows_do_not_speak_of_slides_either():
    """The same rule for the code's strings (captions, chart titles, table headers, messages); docstrings and
    comments are for developers and may name the deck the lessons come from."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for path in [root / "app.py", *sorted((root / "components").rglob("*.py")), *sorted((root / "core").rglob("*.py")),
                 *sorted((root / "app_pages").rglob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        found += [f"{path.relative_to(root)}:{node.lineno}: {node.value[:80]!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and SLIDE_WORDS.search(node.value)]
    assert not found, found


def test_the_held_out_audit_of_sections_7_to_11_stays_fixed():
    fine_tuning, evaluation = _lesson("fine-tuning-peft"), _lesson("evaluation-benchmarks")
    rlhf, lifecycle = _lesson("rlhf"), _lesson("lifecycle-optimization")
    # SmolLM2-Instruct's preference data was rated by GPT-4 (UltraFeedback), not by human labellers
    assert "UltraFeedback" in fine_tuning and "tuned it further on human preferences" not in fine_tuning
    assert "usually graded only on the completion" in fine_tuning
    # HELM lets the model write the letter; only lm-evaluation-harness scores log-likelihoods by default
    assert "(EleutherAI's lm-evaluation-harness, HELM) usually do not let the model write" not in evaluation
    assert "HELM does exactly that" in evaluation and "without the space in front of it" in evaluation
    assert "effective order" in evaluation
    # the reward model trained on rankings gives one scalar score, not a classifier's logit
    assert "scalar score" in rlhf and "Think of it as a binary classifier" not in rlhf
    assert "positive-class logit is the reward" not in rlhf
    # LLM.int8() keeps outlier feature dimensions in 16-bit inside every multiply; FP32 only on a CPU
    assert "feature dimensions that carry outliers are multiplied in 16-bit" in lifecycle
    assert "On a CPU the app expands it back to FP32" in lifecycle
