"""Page 1 (what generative AI is: the hallucination demo) under AppTest."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components.labs.generative_ai.hallucination_view import answer_html, band
from tests.openai_servers import SERVED, FakeServer, answer, chunk, closed_port, entry
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


# ---- a model on a model server (tests/openai_servers.py; no model loads in this process) --------------------------
def ask_the_server(at: AppTest) -> AppTest:
    at.selectbox(key="hallucination_decoder").set_value(SERVED).run()
    at.text_input(key="hallucination_question").input("What is the capital of France?")
    button(at, "hallucination_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page1_colours_a_server_answer_by_the_log_probabilities_it_sends(server_registry):
    """vLLM sends each token's log-probability: the answer is coloured as the bundled model's is."""
    fake = FakeServer()
    try:
        fake.script = answer(chunk("Paris", [entry("Paris", -0.05, [("Paris", -0.05), ("Lyon", -3.0)])]),
                             chunk(" maybe", [entry(" maybe", -2.5, [(".", -0.3), (" maybe", -2.5)])]),
                             chunk(finish="stop"))
        server_registry(fake.base_url)
        at = ask_the_server(open_page(PAGE1))
    finally:
        fake.close()
    assert button(at, "hallucination_ask").label == "Ask Served SmolLM2"
    result = at.session_state["hallucination_result"]
    assert result["probabilities"] and [(t, r) for t, _, r in result["tokens"]] == [("Paris", 1), (" maybe", 2)]
    assert [round(p, 3) for _, p, _ in result["tokens"]] == [0.951, 0.082]
    assert fake.requests[-1][1]["logprobs"] is True
    assert "Average probability" in [m.label for m in at.metric]
    assert "sends no token probabilities" not in apptest.texts(at)


def test_page1_shows_a_server_answer_without_probabilities_as_plain_text(server_registry):
    """`transformers serve` sends text only: the answer, and one sentence saying why it has no colours."""
    fake = FakeServer()
    try:
        fake.script = answer(chunk("Paris"), chunk(" is the capital."), chunk(finish="stop"))
        server_registry(fake.base_url)
        at = ask_the_server(open_page(PAGE1))
    finally:
        fake.close()
    result = at.session_state["hallucination_result"]
    assert "".join(t for t, _, _ in result["tokens"]) == "Paris is the capital." and not result["probabilities"]
    assert "sends no token probabilities" in apptest.texts(at) and "Average probability" not in \
        [m.label for m in at.metric]


def test_page1_says_in_one_sentence_that_the_server_is_down(server_registry):
    server_registry(f"http://127.0.0.1:{closed_port()}/v1")
    at = ask_the_server(open_page(PAGE1))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "Cannot reach the model server" in errors[0] and "is the server running" in errors[0]
    assert "hallucination_result" not in at.session_state
