"""Page 1 in a real browser: the answer streams in coloured and Stop keeps what arrived."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_page1_hallucination_streams_a_coloured_answer(lab):
    page = lab.open("generative-ai").page
    page.get_by_text("Try it: ask the model something").scroll_into_view_if_needed()
    page.get_by_role("button", name="Ask SmolLM2").click()
    page.get_by_text("Average probability").wait_for(timeout=180_000)
    lab.settle()
    spans = page.locator("span[title^='probability']")
    assert spans.count() > 3
    lab.assert_healthy()
    page.get_by_text("Try it: ask the model something").scroll_into_view_if_needed()
    lab.screenshot("hallucination-page1")


def test_page1_stop_keeps_the_answer_so_far(lab):
    page = lab.open("generative-ai").page
    page.get_by_text("Try it: ask the model something").scroll_into_view_if_needed()
    length = page.locator("[data-testid=stSlider]").filter(has_text="Longest answer").get_by_role("slider")
    length.focus()
    length.press("End")                                          # 150 tokens: several seconds of streaming
    expect(length).to_have_attribute("aria-valuetext", "150")
    lab.settle()
    page.get_by_role("button", name="Ask SmolLM2").click()
    page.locator("span[title^='probability']").nth(2).wait_for(timeout=180_000)   # tokens are arriving
    page.get_by_role("button", name="Stop the answer").click()
    page.get_by_text("Stopped before the end").wait_for(timeout=60_000)
    lab.settle()
    assert page.locator("span[title^='probability']").count() >= 3
    assert page.get_by_role("button", name="Stop the answer").count() == 0
    lab.assert_healthy()
    lab.screenshot("hallucination-stopped")
