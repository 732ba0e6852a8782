"""Page 3 in a real browser: a few-shot prompt runs and a bench subset runs. Screenshots go to screenshots/."""
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_few_shot_prompt_runs_and_a_bench_subset_runs(lab):
    lab.open("prompt-engineering")
    lab.page.get_by_text("few-shot (3)").click()
    lab.settle()
    sent = lab.page.locator("[data-testid=stCode]").filter(has_text="<|im_start|>user")
    expect(sent).to_contain_text("Review: Great sound for the price")
    lab.page.get_by_role("button", name="Run this prompt").click()
    lab.page.get_by_text(" s · prompt ").first.wait_for(timeout=180_000)
    lab.settle()
    lab.assert_healthy()
    lab.page.get_by_text("Try it: build a prompt").scroll_into_view_if_needed()
    lab.screenshot("prompt-builder")

    slider = lab.page.locator("[data-testid=stSlider]").filter(has_text="Items to run").first.get_by_role("slider")
    slider.focus()
    slider.press("Home")                      # one item per style keeps the run short
    expect(slider).to_have_attribute("aria-valuetext", "1", timeout=30_000)
    lab.settle()
    lab.page.get_by_role("button", name="Run the bench").click()
    lab.page.get_by_text("Answers graded").wait_for(timeout=300_000)
    lab.settle()
    # Found by its title: the page also draws the prompt builder's label-odds chart.
    expect(lab.page.locator(".gtitle").filter(has_text="Accuracy per prompting style")).to_have_count(1)
    expect(lab.page.get_by_text("as a share of the labels only")).to_have_count(1)
    lab.assert_healthy()
    lab.page.get_by_text("Try it: measure what examples").scroll_into_view_if_needed()
    lab.screenshot("prompt-bench")
