"""Page 10 in a real browser: the lifecycle map links to the labs; pruning a copy draws the quality curve, and its
points appear on the frontier. Screenshots go to screenshots/. (The structured pruning table and the precisions
are covered by tests/pages/test_lifecycle_optimization.py.)"""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import demo_box, shoot

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_map_links_and_pruning_curve(lab):
    lab.open("lifecycle-optimization")
    lifecycle = demo_box(lab, "The lifecycle, with the lab for each step")
    expect(lifecycle.locator("a.lc-step")).to_have_count(10, timeout=60_000)
    expect(lifecycle.locator("a.lc-step[href='./rag-applications']")).to_have_count(1)
    shoot(lab, "The lifecycle, with the lab for each step", "lifecycle-map")
    prune = demo_box(lab, "Try it: prune SmolLM2 and watch quality fall")
    prune.get_by_text("Prune a copy of the model").click()
    expect(lab.page.locator(".gtitle").filter(has_text="quality against sparsity")).to_have_count(1, timeout=300_000)
    lab.settle()
    lab.assert_healthy()
    shoot(lab, "Try it: prune SmolLM2 and watch quality fall", "lifecycle-pruning")
    frontier = demo_box(lab, "Every variant on one frontier")
    expect(lab.page.locator(".gtitle").filter(has_text="optimization frontier")).to_have_count(1, timeout=120_000)
    expect(frontier.get_by_text("8 point(s).", exact=False)).to_have_count(1)
    shoot(lab, "Every variant on one frontier", "lifecycle-frontier")
    lifecycle.locator("a.lc-step[href='./rag-applications']").click()
    expect(lab.page).to_have_url(re.compile(r"/rag-applications$"), timeout=60_000)
    expect(lab.page.get_by_role("heading", name="RAG", exact=False).first).to_be_visible(timeout=60_000)
    lab.assert_healthy()


DISTIL = "Try it: distil a student from SmolLM2"


def test_a_short_distillation_draws_both_students_and_their_frontier_points(lab):
    lab.open("lifecycle-optimization")
    expect(lab.page.locator(".gtitle").filter(has_text="most likely next tokens")).to_have_count(1, timeout=120_000)
    shoot(lab, "Try it: soft labels", "lifecycle-soft-labels")
    box = demo_box(lab, DISTIL)
    steps = box.get_by_role("slider", name="Training steps")
    steps.focus()
    lab.page.keyboard.press("Home")
    expect(steps).to_have_attribute("aria-valuetext", "5")
    lab.settle()
    box.get_by_role("button", name="Distil a student").click()
    expect(lab.page.locator(".gtitle").filter(has_text="soft labels against hard labels")).to_have_count(
        1, timeout=300_000)
    expect(box.get_by_text("Showing your run — done", exact=False)).to_have_count(1, timeout=300_000)
    # the finished run redraws the whole page once, so the frontier below shows the students: wait for it
    frontier = demo_box(lab, "Every variant on one frontier")
    expect(frontier.get_by_text("5 point(s).", exact=False)).to_have_count(1, timeout=120_000)   # original + 4 students
    lab.settle()
    expect(lab.page.locator(".legendtext").filter(has_text="distillation")).to_have_count(1, timeout=60_000)
    expect(lab.page.locator(".legendtext").filter(has_text="hard labels only")).to_have_count(1, timeout=60_000)
    lab.assert_healthy()
    shoot(lab, DISTIL, "lifecycle-distillation")
    shoot(lab, "Every variant on one frontier", "lifecycle-frontier-distilled")
