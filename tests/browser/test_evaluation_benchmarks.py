"""Page 8 in a real browser: editing the output re-counts ROUGE and BLEU; the mini-benchmark runs a few questions
and draws its charts. Screenshots go to screenshots/."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import demo_box, shoot

pytestmark = [pytest.mark.browser, pytest.mark.model]


def rouge_cell(lab, text: str):
    return lab.page.locator("[data-testid=stDataFrame]").first.get_by_text(text)


def test_editing_the_output_recounts_rouge_and_bleu(lab):
    lab.open("evaluation-benchmarks")
    counter = demo_box(lab, "Try it: watch ROUGE and BLEU count")
    expect(counter.get_by_text("BLEU = ")).to_have_count(1, timeout=120_000)
    expect(counter.locator(".ev-hit").first).to_be_visible()
    lab.settle()
    before = counter.get_by_text("BLEU = ").inner_text()
    box = lab.page.get_by_role("textbox", name="Output to score")
    box.fill("It is cold outside")
    box.press("Control+Enter")
    expect(counter.get_by_text("BLEU = 1.0000 × 1.0000")).to_have_count(1, timeout=60_000)
    lab.settle()
    assert counter.get_by_text("BLEU = ").inner_text() != before
    lab.assert_healthy()
    shoot(lab, "Try it: watch ROUGE and BLEU count", "evaluation-metrics")
    expect(lab.page.locator(".gtitle").filter(has_text="Each metric's score for each pair")).to_have_count(
        1, timeout=120_000)
    lab.settle()
    shoot(lab, "Try it: five pairs that fool the metrics", "evaluation-failures")
    lab.assert_healthy()


def test_the_mini_benchmark_runs_and_draws_its_charts(lab):
    lab.open("evaluation-benchmarks")
    bench = demo_box(lab, "Try it: score SmolLM2 on a mini-benchmark")
    expect(bench.get_by_text("Highest log-likelihood")).to_have_count(1, timeout=180_000)
    lab.settle()
    slider = bench.locator("[data-testid=stSlider]").filter(has_text="Questions to run").get_by_role("slider")
    slider.focus()
    slider.press("Home")                                   # the minimum: 4 questions keep the test short
    expect(slider).to_have_attribute("aria-valuetext", "4", timeout=30_000)
    lab.settle()
    bench.get_by_role("button", name="Run the benchmark").click()
    expect(lab.page.locator(".gtitle").filter(has_text="Accuracy of each run")).to_have_count(1, timeout=180_000)
    expect(lab.page.locator(".gtitle").filter(has_text="Reliability diagram")).to_have_count(1, timeout=60_000)
    lab.settle()
    lab.assert_healthy()
    shoot(lab, "Try it: score SmolLM2 on a mini-benchmark", "evaluation-benchmark")
    shoot(lab, "Try it: is the model's confidence honest?", "evaluation-calibration")
    expect(lab.page.locator(".gtitle").filter(has_text="Reported scores")).to_have_count(1, timeout=60_000)
    shoot(lab, "The table as a picture", "evaluation-leaderboard")
    shoot(lab, "Try it: was the question in the training text?", "evaluation-contamination")


def test_a_cancelled_run_keeps_the_questions_it_finished(lab):
    lab.open("evaluation-benchmarks")
    bench = demo_box(lab, "Try it: score SmolLM2 on a mini-benchmark")
    expect(bench.get_by_text("Highest log-likelihood")).to_have_count(1, timeout=180_000)
    lab.settle()
    bench.get_by_text("Choice text (cloze style)").click()
    lab.settle()
    k = bench.locator("[data-testid=stSlider]").filter(has_text="k-shot").get_by_role("slider")
    k.focus()
    k.press("ArrowRight")                       # 1-shot: a setting no other test has cached
    expect(k).to_have_attribute("aria-valuetext", "1", timeout=30_000)
    lab.settle()
    bench.get_by_role("button", name="Run the benchmark").click()
    expect(bench.get_by_text(re.compile(r"question \d+ of 80"))).to_have_count(1, timeout=120_000)
    bench.get_by_role("button", name="Cancel the run").click()
    expect(bench.get_by_text("Cancelled:")).to_have_count(1, timeout=60_000)
    lab.settle()
    assert "of 80 questions were scored" in bench.get_by_text("Cancelled:").inner_text()
    lab.assert_healthy()
