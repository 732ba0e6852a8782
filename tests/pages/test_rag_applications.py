"""Page 11 (RAG & LLM-powered apps) under AppTest, on the real bundled models."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import apptest
from tests.pages.apptest import button, metric, ok, table, texts

pytestmark = pytest.mark.model
PAGE = "app_pages/11_rag_applications.py"


def open_page() -> AppTest:
    return apptest.open_page(PAGE, timeout=300)


def test_the_page_draws_every_demo_and_chunks_the_handbook():
    at = ok(open_page())
    assert int(metric(at, "Documents")) == 13            # handbook, biography, 11 lessons
    before = int(metric(at, "Chunks in all").replace(",", ""))
    at.slider(key="rag_size").set_value(256).run()
    assert int(metric(ok(at), "Chunks in all").replace(",", "")) < before
    at.slider(key="rag_size").set_value(384).run()
    assert "longer than MiniLM reads" in texts(ok(at))


def test_retrieval_finds_the_leave_rule_and_reranks():
    at = ok(open_page())
    at.text_input(key="rag_retrieve_question").input("How many unused leave days can I carry over?").run()
    hits = table(ok(at), "cosine")
    assert hits.iloc[0]["source"] == "handbook.md §3"
    assert list(hits["rank"]) == [1, 2, 3]
    at.slider(key="rag_retrieve_k").set_value(10).run()
    at.toggle(key="rag_retrieve_rerank").set_value(True).run()
    hits = table(ok(at), "BM25")
    assert len(hits) == 10 and (hits["fused"].diff().dropna() <= 1e-9).all()


def test_bad_questions_get_a_message():
    at = ok(open_page())
    at.text_input(key="rag_retrieve_question").input("   ").run()
    assert "Type a question first." in texts(ok(at))
    at.text_input(key="rag_retrieve_question").input("why? " * 20_000).run()
    assert "the limit is 500" in texts(ok(at))


def test_answer_with_and_without_retrieval_cites_and_checks_grounding():
    at = ok(open_page())
    at.text_input(key="rag_answer_question").input(
        "If I don't use all my holiday, how many days can I keep for next year?").run()
    button(at, "rag_answer_ask").click().run()
    ok(at)
    grounding = table(at, "best cosine")
    assert len(grounding) >= 1 and set(grounding["supported"]) <= {"✓ yes", "✗ not supported"}
    assert "What the document says: 5" in texts(at)
    assert "Both answers took" in texts(at)


def test_calculator_refuses_code_and_runs_both_ways():
    at = ok(open_page())
    at.text_input(key="rag_tools_expr").input("__import__('os')").run()
    assert "function call" in texts(ok(at))
    at.text_input(key="rag_tools_expr").input("9**9**9").run()
    assert "too large" in texts(ok(at))
    at.text_input(key="rag_tools_expr").input("(27 + 5) * 38").run()
    assert "1,216" in texts(ok(at))


def test_the_calculator_race_reports_both_accuracies():
    at = ok(open_page())
    button(at, "rag_tools_run").click().run()
    rows = table(ok(at), "with tool")
    assert len(rows) == 20 and set(rows["with tool"]) <= {"✓", "✗"} and set(rows["alone"]) <= {"✓", "✗"}
    caption = next(c.value for c in at.caption if c.value.startswith("Alone: "))
    direct, pal = (rows["alone"] == "✓").sum(), (rows["with tool"] == "✓").sum()
    assert f"Alone: {direct}/20 right. With the calculator: {pal}/20." in caption


def test_the_question_is_echoed_as_literal_text():
    at = ok(open_page())
    at.text_input(key="rag_answer_question").input("**bold** :red[x] [a](http://e.com)?").run()
    button(at, "rag_answer_ask").click().run()
    asked = next(m.value for m in ok(at).markdown if m.value.startswith("**You asked:**"))
    assert "\\*\\*bold\\*\\*" in asked and ":red[x]" not in asked


def test_answers_from_a_model_server_with_and_without_retrieval(server_registry):
    """Both answers come from the picked server model (the stdlib fake), which sees the retrieved chunks in one
    prompt only; retrieval and the grounding check stay on MiniLM in this app."""
    from tests.openai_servers import SERVED, FakeServer, answer, chunk

    fake = FakeServer()
    try:
        fake.script = answer(chunk("You can carry over 5 days [handbook.md §3]."), chunk(finish="stop"))
        server_registry(fake.base_url)
        at = ok(open_page())
        at.selectbox(key="rag_answer_decoder").set_value(SERVED)
        at.text_input(key="rag_answer_question").input("How many unused leave days can I carry over?").run()
        button(at, "rag_answer_ask").click().run()
    finally:
        fake.close()
    result = ok(at).session_state["rag_answer_result"]
    assert result["answers"] == ["You can carry over 5 days [handbook.md §3]."] * 2
    assert result["model"] == "Served SmolLM2 (model server)"
    asked = [body["messages"] for _, body in fake.requests if body]
    # the two prompts go out together, so the server may see them in either order
    assert len(asked) == 2 and sorted("handbook" in str(messages) for messages in asked) == [False, True]
    assert len(table(at, "best cosine")) >= 1
