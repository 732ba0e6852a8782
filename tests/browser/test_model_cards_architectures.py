"""Page 5 in a real browser: heatmaps and charts draw, cards and objectives show, nothing runs until asked."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_page5_architectures_and_cards(lab):
    page = lab.open("model-cards-architectures").page
    # The parameter chart and the table are drawn without loading any model.
    page.get_by_text("Try it: where do the parameters").wait_for()
    page.get_by_text("counts, log scale", exact=True).click()
    lab.settle()
    # Load both models for the attention-mask pictures (a no-op when another test already loaded them).
    for name in ("Load all-MiniLM-L6-v2 and draw its attention", "Load SmolLM2-135M-Instruct and draw its attention"):
        button = page.get_by_role("button", name=name)
        if button.count():
            button.first.click()
            lab.settle()
    # One picture per model; each appears when its model's attention is drawn (wait for both, not the first).
    expect(page.get_by_text("Share of attention on later tokens")).to_have_count(2, timeout=120_000)
    # Family heatmaps (3), parameter chart (1): plotly draws them as SVG.
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
    # Markup in the sentence is shown as text in the tick labels, never rendered or run.
    box = page.get_by_role("textbox", name="Your sentence")
    box.fill("<b>bold</b> <img src=x onerror=alert(1)> 🍕 cat")
    box.press("Enter")
    lab.settle()
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot text')]"
                           ".some(t => t.textContent.includes('<b>'))",
                           timeout=60_000)
    assert page.locator(".js-plotly-plot img").count() == 0
    lab.assert_healthy()
    lab.screenshot("architectures-page5")
