"""Page 5 (architectures, objectives, model cards) under AppTest."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import apptest

ROOT = Path(__file__).resolve().parents[2]
PAGE5 = "app_pages/05_model_cards_architectures.py"
BAD_TEXT = ["", "   ", "<script>alert(1)</script><img src=x onerror=alert(2)>", "🍕👨‍👩‍👧 東京 مرحبا", "word " * 3000]


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=180)


def table_with(at: AppTest, column: str):
    """The dataframe that has this column (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_page5_renders_table_cards_and_buttons_without_loading_models():
    at = open_page(PAGE5)
    table = table_with(at, "bundled")
    assert list(table["model"])[:3] == ["BERT-base", "RoBERTa-base", "GPT-2"]
    assert len(table) == 9 and int(table.loc[table["model"] == "GPT-2", "parameters"].iloc[0]) == 124_439_808
    headings = [m.value for m in at.markdown if m.value.startswith("##### ")]
    assert headings.count("##### 5. Evaluation") == 2            # one card per bundled model
    assert any("state no evaluation results" in c.value for c in at.caption)
    keys = {b.key for b in at.button}
    waiting = [c.value for c in at.caption if "not loaded yet" in c.value]
    # Each model that no earlier test loaded has its button (one may be loaded already and the other not).
    for kind, label in (("causal-lm", "SmolLM2"), ("sentence-encoder", "MiniLM")):
        if any(c.startswith(label) for c in waiting):
            assert f"arch_families_{kind}_load" in keys, (kind, waiting)


def test_page5_span_corruption_and_masking_react_to_input():
    at = open_page(PAGE5)
    at.text_input(key="arch_objectives_span_text").input("one two three four five six seven eight nine ten").run()
    codes = [c.value for c in at.code]
    assert any("<extra_id_0>" in c for c in codes) and not at.exception
    at.text_input(key="arch_objectives_mlm_text").input("Paris is lovely").run()
    rows = table_with(at, "original token")
    assert len(rows) == 1 and rows["original token"].iloc[0] in ("paris", "is", "lovely")
    assert any("no masked-LM head" in i.value for i in at.info)


@pytest.mark.parametrize("text", BAD_TEXT)
def test_page5_bad_input(text):
    at = open_page(PAGE5)
    for key in ("arch_families_text", "arch_objectives_prefix", "arch_objectives_mlm_text",
                "arch_objectives_span_text"):
        at.text_input(key=key).input(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if not text.strip():
        assert len(at.info) >= 4
    if len(text) > 2000:
        assert any("only the first 2,000" in w.value for w in at.warning)


@pytest.mark.model
def test_page5_live_models():
    at = open_page(PAGE5)
    if any(b.key == "arch_objectives_clm_load" for b in at.button):
        button(at, "arch_objectives_clm_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Computed by SmolLM2 from your 5 token(s)" in c.value for c in at.caption)
    for kind in ("causal-lm", "sentence-encoder"):
        if any(b.key == f"arch_families_{kind}_load" for b in at.button):
            button(at, f"arch_families_{kind}_load").click().run()
    shares = [c.value for c in at.caption if "Share of attention on *later* tokens" in c.value]
    assert len(shares) == 2 and "**0.0%**" in shares[1]          # the decoder never looks ahead
    assert "**0.0%**" not in shares[0]                              # the encoder does
    at.text_input(key="arch_families_text").input("<b>Hi</b> 🍕 " * 40).run()
    assert not at.exception and any("first 24 of" in c.value for c in at.caption)
