"""Model cards built from the files that ship with the bundled models."""
from __future__ import annotations

import pytest

from core.labs.model_cards_architectures import model_card as mc
from core.serving.registry import load_registry
from core.serving.settings import Settings


@pytest.fixture(scope="module")
def registry():
    return load_registry(Settings.from_env().registry_path)


@pytest.fixture(scope="module")
def cards(registry):
    return {spec.kind: mc.build_card(spec) for spec in registry.models.values()
            if spec.name in (registry.default_decoder, registry.default_encoder)}


def fields(section) -> dict[str, str]:
    return {f.label: f.value for f in section.fields}


def test_every_card_has_the_five_headings(cards):
    for card in cards.values():
        assert tuple(s.heading for s in card.sections) == mc.HEADINGS
        for s in card.sections:   # each heading shows something, or says that the files are silent
            assert s.fields or s.quotes or s.not_stated


def test_decoder_card_from_the_gguf_header(cards):
    card = cards["causal-lm"]
    details = fields(card.section("Model details"))
    assert details["Organisation"] == "HuggingFaceTB"
    assert details["Licence"] == "apache-2.0"
    assert details["Quantization"] == "Q4_1"
    assert details["Parameters"] == "134,515,008"
    assert details["Layers"] == "30"
    assert details["Context window"] == "8,192 tokens"
    assert details["Vocabulary"] == "49,152 tokens"
    assert "9 query heads, 3 key/value heads" in details["Attention heads per layer"]
    assert details["Size on disk"] == "98.4 MB"
    uses = fields(card.section("Uses"))
    assert "SmolLM" in uses["Default system prompt"]
    # Nothing in the shipped files evaluates the model: the card must say so, not invent numbers.
    evaluation = card.section("Evaluation")
    assert not evaluation.fields and not evaluation.quotes and "no evaluation" in evaluation.not_stated


def test_encoder_card_from_the_readme(cards):
    card = cards["sentence-encoder"]
    details = fields(card.section("Model details"))
    assert details["Licence"] == "apache-2.0"
    assert details["Base model"] == "nreimers/MiniLM-L6-H384-uncased"
    assert details["Parameters"] == "22,713,216"
    # all-MiniLM-L6-v2 reads 256 tokens (sentence-transformers' max_seq_length), not its 512 positions
    assert details["Context window"].startswith("256 tokens")
    assert {f.label: f.source for f in card.section("Model details").fields}["Context window"] == \
        "sentence_bert_config.json"
    uses = card.section("Uses")
    assert any("sentence and short paragraph encoder" in text for _, text in uses.quotes)
    limits = fields(card.section("Bias, risks & limitations"))
    assert limits["Longest input"].startswith("256")
    training = card.section("Training details")
    assert any("1,170,060,424" in text for _, text in training.quotes)
    assert "no evaluation" in card.section("Evaluation").not_stated.lower()
    md = mc.card_markdown(card)
    assert md.count("\n## ") == 5


def test_readme_parsing():
    front, body = mc.split_front_matter("---\nlicense: mit\n---\n# Title\nintro\n## Uses\nuse it\n### Sub\nmore\n"
                                        "## Other\nx")
    assert front == {"license": "mit"}
    secs = mc.markdown_sections(body)
    assert secs["Title"] == "intro" and secs["Uses"] == "use it\n### Sub\nmore" and secs["Other"] == "x"
    assert mc.split_front_matter("no front matter") == ({}, "no front matter")
    assert mc.split_front_matter("---\n: [bad\n---\nbody")[0] == {}


def test_cards_only_for_known_models(registry):
    from dataclasses import replace

    spec = replace(registry.get(registry.default_encoder), display_name="Unknown-Model")
    with pytest.raises(ValueError, match="bundled models only"):
        mc.build_card(spec)


def test_sentence_max_seq_length_prefers_the_shipped_file(tmp_path):
    assert mc.sentence_max_seq_length(tmp_path) == (0, "")
    assert mc.sentence_max_seq_length(tmp_path, 128) == (128, "model registry: max_seq_length")
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 256, "do_lower_case": false}')
    assert mc.sentence_max_seq_length(tmp_path, 128) == (256, "sentence_bert_config.json")
