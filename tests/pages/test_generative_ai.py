"""Page 1 (what generative AI is: the hallucination demo) under AppTest."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components.labs.generative_ai.hallucination_view import answer_html, band
from tests.pages import apptest
from tests.pages.apptest import button

PAGE1 = "app_pages/01_generative_ai.py"


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=180)


def test_page1_question_presets_and_empty_question():
    at = open_page(PAGE1)
    assert at.text_input(key="hallucination_question").value == "How is Batman?"
    at.selectbox(key="hallucination_preset").select("A made-up book").run()
    assert "Glass Orchard" in at.text_input(key="hallucination_question").value
    at.text_input(key="hallucination_question").input("   ").run()
    button(at, "hallucination_ask").click().run()
    assert not at.exception and any("Type a question first" in i.value for i in at.info)


@pytest.mark.model
@pytest.mark.parametrize("question", ["How is Batman?", "<script>alert('x')</script> 🍕?", "why " * 400])
def test_page1_hallucination_answers_with_probabilities(question):
    at = open_page(PAGE1)
    at.text_input(key="hallucination_question").input(question)
    at.select_slider(key="hallucination_temperature").set_value(0.0)
    at.slider(key="hallucination_length").set_value(16)
    button(at, "hallucination_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["hallucination_result"]
    assert all(0.0 < p <= 1.0 and r >= 1 for _, p, r in result["tokens"])
    if not result["tokens"]:        # the model may end at once on a nonsense question: the page says so
        assert any("without a single visible token" in i.value for i in at.info)
        return
    assert result["question"] == question[:1000]
    if len(question) > 1000:
        assert any("only the first 1,000" in w.value for w in at.warning)
    assert result["tokens"] or len(question) > 1000
    labels = [m.label for m in at.metric]
    assert "Average probability" in labels
    # Greedy decoding: every token was the model's top choice.
    assert all(r == 1 for _, _, r in result["tokens"])


def test_page1_a_stopped_answer_is_kept_and_labelled():
    """A run that ended mid-answer (Stop, or any widget that reran the page) leaves its tokens in the session;
    the next run shows them as a stopped answer instead of losing them. (The browser test presses Stop for real.)"""
    at = open_page(PAGE1)
    at.session_state["hallucination_partial"] = {"question": "How is Batman?", "tokens": [("Batman", 0.4, 2),
                                                 (" is", 0.9, 1)], "stop": "cancelled", "temperature": 0.7,
                                                 "seed": 0, "length": 64}
    at.run()
    assert not at.exception
    assert at.session_state["hallucination_result"]["tokens"][0][0] == "Batman"
    assert "hallucination_partial" not in at.session_state
    assert any("Stopped before the end" in c.value for c in at.caption)


def test_answer_html_escapes_and_colours():

    out = answer_html([("<script>x</script>", 0.95, 1), ("\nnext", 0.1, 7)])
    assert "<script>" not in out and "&lt;script&gt;" in out and "<br>next" in out
    assert band(0.95)[0] in out and band(0.1)[0] in out
    assert band(0.8)[1].startswith("80") and band(0.0)[1].startswith("under")
