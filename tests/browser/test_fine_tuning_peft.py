"""Page 7 in a real browser: a tiny race (2 steps of 1 example) draws three live loss curves, then the task and
forgetting charts and the side-by-side replies. Screenshots go to screenshots/."""
import json
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.harness import demo_box, shoot

pytestmark = [pytest.mark.browser, pytest.mark.model]

RACE = "Try it: race three ways to fine-tune SmolLM2"


def test_a_tiny_race_draws_three_curves_and_the_forgetting_chart(lab):
    lab.open("fine-tuning-peft")
    shoot(lab, "Try it: one training example, as the model sees it", "fine-tuning-data")
    race = demo_box(lab, RACE)
    steps = race.get_by_role("slider", name="Training steps")
    steps.focus()
    lab.page.keyboard.press("Home")
    expect(steps).to_have_attribute("aria-valuetext", "2")
    batch = race.get_by_role("slider", name="Examples per step (batch)")
    batch.focus()
    lab.page.keyboard.press("Home")
    expect(batch).to_have_attribute("aria-valuetext", "1")
    race.get_by_role("button", name="Start the race").click()
    legend = lab.page.locator(".legendtext")
    for method in ("Full fine-tuning", "LoRA", "Prompt tuning"):
        expect(legend.filter(has_text=f"{method}: training")).to_have_count(1, timeout=300_000)
    expect(lab.page.locator(".gtitle").filter(has_text="Forgetting")).to_have_count(1, timeout=300_000)
    expect(lab.page.locator(".gtitle").filter(has_text="The task: held-out reviews")).to_have_count(1)
    expect(race.get_by_text("Showing your race", exact=False)).to_have_count(1)
    lab.settle()
    lab.assert_healthy()
    shoot(lab, RACE, "fine-tuning-race")
    # The trained LoRA adapter comes away as a file peft can load.
    with lab.page.expect_download() as download:
        race.get_by_role("button", name="Download the LoRA adapter", exact=False).click()
    path = download.value.path()
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["adapter_config.json", "adapter_model.safetensors"]
        assert json.loads(z.read("adapter_config.json"))["peft_type"] == "LORA"

    # A new learner opening page 7 after that race finished: the race's results, then every later demo, with no
    # error box (the task chart once shared its key with the task radio and broke the page for everyone).
    newcomer = type(lab).new(lab.page.context.browser, lab.base_url)
    try:
        newcomer.open("fine-tuning-peft")
        expect(newcomer.page.locator(".gtitle").filter(has_text="Forgetting")).to_have_count(1, timeout=60_000)
        for heading in ("Try it: count what LoRA trains", "Try it: adapters as files, swapped on one model"):
            expect(newcomer.page.get_by_text(heading)).to_have_count(1)
        expect(newcomer.page.locator("[data-testid=stSidebar]").get_by_text("Running on")).to_have_count(1)
        newcomer.settle()
        newcomer.assert_healthy()
    finally:
        newcomer.close()
