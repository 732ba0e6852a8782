"""Page 11 in a real browser: upload a file, retrieve from it, answer with and without retrieval and see the
citation of the uploaded file; the other demos draw. Screenshots go to screenshots/."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import demo_box, shoot

pytestmark = [pytest.mark.browser, pytest.mark.model]

NOTE = b"""# Office notes

## 1. The station cat

The station cat is called Pepperoni Tuesday. She sleeps in the boat shed and is fed at 17:15 by the harbour master.
"""


def test_upload_retrieve_and_answer_with_a_citation(lab):
    lab.open("rag-applications")
    kb = demo_box(lab, "Try it: build a knowledge base and cut it into chunks")
    expect(kb.locator(".rag-chunk").first).to_be_visible(timeout=180_000)
    lab.settle()
    kb.locator("input[type=file]").set_input_files(
        files=[{"name": "office-notes.md", "mimeType": "text/markdown", "buffer": NOTE}])
    expect(kb.get_by_text("office-notes.md — ")).to_have_count(1, timeout=60_000)
    lab.settle()
    lab.assert_healthy()
    shoot(lab, "Try it: build a knowledge base and cut it into chunks", "rag-knowledge-base")

    answer = demo_box(lab, "Try it: answer with and without retrieval")
    box = answer.get_by_role("textbox", name="Your question")
    box.fill("What is the station cat called?")
    box.press("Enter")
    lab.settle()
    answer.get_by_role("button", name="Ask with and without retrieval").click()
    expect(answer.locator("#rag-chunk-0, .rag-source").first).to_be_visible(timeout=240_000)
    sources = answer.locator(".rag-source")
    expect(sources.filter(has_text="[office-notes.md §1]")).to_have_count(1, timeout=60_000)
    expect(answer.locator("[data-testid=stDataFrame]")).to_have_count(1, timeout=60_000)   # grounding table
    lab.settle()
    lab.assert_healthy()
    shoot(lab, "Try it: answer with and without retrieval", "rag-answer")


def test_the_other_demos_draw(lab):
    lab.open("rag-applications")
    retrieve = demo_box(lab, "Try it: retrieve")
    expect(lab.page.locator(".gtitle").filter(has_text="closest chunks")).to_have_count(1, timeout=180_000)
    expect(retrieve.locator(".rag-mark").first).to_be_visible()
    lab.settle()
    shoot(lab, "Try it: retrieve", "rag-retrieve")
    metrics = demo_box(lab, "Try it: measure retrieval")
    metrics.get_by_role("button", name="Measure four chunk sizes").click()
    expect(lab.page.locator(".gtitle").filter(has_text="Recall@k")).to_have_count(1, timeout=240_000)
    lab.settle()
    shoot(lab, "Try it: measure retrieval", "rag-metrics")
    vec = demo_box(lab, "Try it: why vector databases exist")
    vec.get_by_text("Build the two indexes").click()
    expect(lab.page.locator(".gtitle").filter(has_text="Approximate search")).to_have_count(1, timeout=300_000)
    lab.settle()
    shoot(lab, "Try it: why vector databases exist", "rag-vector-index")
    shoot(lab, "This app as a foundation model stack", "rag-stack")
    lab.assert_healthy()


def test_bad_uploads_get_messages_and_the_loop_demos_run(lab):
    lab.open("rag-applications")
    kb = demo_box(lab, "Try it: build a knowledge base and cut it into chunks")
    expect(kb.locator(".rag-chunk").first).to_be_visible(timeout=180_000)
    lab.settle()
    kb.locator("input[type=file]").set_input_files(files=[
        {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""},
        {"name": "binary.txt", "mimeType": "text/plain", "buffer": bytes(range(256)) * 8},
        {"name": "notes.md", "mimeType": "text/markdown", "buffer": NOTE},
        {"name": "copy.md", "mimeType": "text/markdown", "buffer": NOTE}])
    alerts = kb.locator("[data-testid=stAlert]")
    expect(alerts.filter(has_text="binary.txt")).to_have_count(1, timeout=60_000)
    expect(alerts.filter(has_text="copy.md")).to_have_count(1)
    expect(kb.get_by_text("notes.md — ")).to_have_count(1)
    lab.settle()
    lab.assert_healthy()

    react = demo_box(lab, "Try it: a ReAct loop (reason, act, observe)")
    react.get_by_role("button", name="Run the loop").click()
    expect(react.locator(".rt-end")).to_have_count(1, timeout=240_000)
    expect(react.locator(".rt-model").first).to_contain_text("Thought:")
    lab.settle()
    shoot(lab, "Try it: a ReAct loop (reason, act, observe)", "rag-react")
    inj = demo_box(lab, "Try it: prompt injection through a retrieved document")
    inj.get_by_role("button", name="Ask three ways").click()
    expect(inj.get_by_text(re.compile(r"(keeps|lost) the handbook's answer"))).to_have_count(3, timeout=240_000)
    expect(inj.get_by_text("Dropped by the filter")).to_have_count(1)
    lab.settle()
    shoot(lab, "Try it: prompt injection through a retrieved document", "rag-injection")
    shoot(lab, "Try it: give the model a calculator", "rag-calculator")
    lab.assert_healthy()
