"""Page 9 in a real browser: sample three completions, rank them with a tie and a fail, see the pairs, save the
ranking under a name and train the reward model on the shipped pairs plus these. Screenshots go to screenshots/."""
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.harness import demo_box, shoot

pytestmark = [pytest.mark.browser, pytest.mark.model]

LABEL = "Try it: label SmolLM2's answers like a labeler"
REWARD = "Try it: train a reward model on preference pairs"


def test_label_rank_pairs_and_train(lab):
    lab.open("rlhf")
    box = demo_box(lab, LABEL)
    box.get_by_text("Sample 3 completions").click()
    groups = box.get_by_role("radiogroup")
    expect(groups).to_have_count(3, timeout=180_000)                   # one rank per completion, once sampled
    for group, choice in zip(groups.all(), ("1", "1", "F")):
        group.get_by_text(choice, exact=True).click()
    expect(box.get_by_text("yours gives 2 (1 tie gives no preference)", exact=False)).to_have_count(1,
                                                                                                    timeout=60_000)
    name = f"Ada {uuid.uuid4().hex[:6]}"                      # the test database outlives a run: a fresh labeler
    field = box.get_by_role("textbox", name="Your name next to your labels (optional)")
    field.fill(name)
    field.press("Enter")
    save = box.get_by_role("button", name="Save my ranking")
    expect(save).to_be_enabled(timeout=60_000)
    lab.settle()                                                     # the name reached the server
    save.click()
    expect(box.get_by_text(f"Saved for {name}: 2 pair(s)", exact=False)).to_have_count(1, timeout=60_000)
    expect(box.get_by_text("Everyone's rankings of these answers", exact=False)).to_have_count(1)
    shoot(lab, LABEL, "rlhf-labeling")
    reward = demo_box(lab, REWARD)
    reward.get_by_role("button", name="Train the reward model").click()
    expect(lab.page.locator(".gtitle").filter(has_text="Bradley–Terry loss")).to_have_count(1, timeout=180_000)
    expect(lab.page.locator(".gtitle").filter(has_text="Held-out pairs")).to_have_count(1)
    expect(reward.get_by_text("182", exact=True)).to_have_count(1)                       # 180 shipped + 2 of ours
    lab.settle()
    lab.assert_healthy()
    shoot(lab, REWARD, "rlhf-reward-model")


POLICY = "Try it: RLHF's policy update, with the KL penalty on a slider"


def _lowest(lab, box, name: str, value: str) -> None:
    slider = box.get_by_role("slider", name=name)
    slider.focus()
    lab.page.keyboard.press("Home")
    expect(slider).to_have_attribute("aria-valuetext", value)


def test_a_short_policy_update_draws_reward_kl_and_the_held_out_answers(lab):
    lab.open("rlhf")
    box = demo_box(lab, POLICY)
    _lowest(lab, box, "Steps", "4")
    box.get_by_text("More settings: answers per prompt").click()
    _lowest(lab, box, "Answers per prompt (k)", "2")
    _lowest(lab, box, "Answer length (tokens)", "8")
    lab.settle()
    box.get_by_role("button", name="Start the policy update").click()
    titles = lab.page.locator(".gtitle")
    expect(titles.filter(has_text="what the reward model says, and how far the policy drifted")).to_have_count(
        1, timeout=300_000)
    expect(titles.filter(has_text="held-out prompts the policy never trained on")).to_have_count(1, timeout=300_000)
    expect(box.get_by_text("Showing your run (β = 0.2) — done", exact=False)).to_have_count(1)
    expect(box.get_by_text("4 of 4 steps", exact=False)).to_have_count(1)
    lab.settle()
    lab.assert_healthy()
    shoot(lab, POLICY, "rlhf-policy")
