"""Page 4 in a real browser: the sampling chart follows its sliders, an answer streams and stops, a shared link
reopens the same seeded experiment. Screenshots go to screenshots/."""
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.model]

FINAL_BARS = """() => { const p = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
                        return p && p.data && p.data.length > 1 ? JSON.stringify(p.data[1].x) : null; }"""


def open_page(lab, path: str):
    return lab.open(path)


def enter(lab, role: str, name: str, value: str, key: str = "Enter") -> None:
    """Type into a field and commit it (Enter; Control+Enter for a text area), then wait for the rerun."""
    field = lab.page.get_by_role(role, name=name)
    field.fill(value)
    field.press(key)
    lab.settle()


def final_bars(lab) -> str:
    lab.page.wait_for_function(f"({FINAL_BARS})() !== null", timeout=180_000)
    return lab.page.evaluate(FINAL_BARS)


def test_temperature_slider_redraws_the_next_token_chart(lab):
    open_page(lab, "inference-configuration")
    before = final_bars(lab)
    slider = lab.page.locator("[data-testid=stSlider]").filter(has_text="Temperature").first.get_by_role("slider")
    slider.focus()
    for _ in range(4):                        # 0.7 -> 0.5 in steps of 0.05
        slider.press("ArrowLeft")
    expect(slider).to_have_attribute("aria-valuetext", "0.50", timeout=30_000)
    lab.page.wait_for_function(f"(before) => ({FINAL_BARS})() !== before", arg=before, timeout=60_000)
    lab.settle()
    after = final_bars(lab)
    assert after != before
    # A lower temperature gives the favourite token a bigger share.
    assert eval(after)[0] > eval(before)[0]
    lab.page.get_by_role("button", name="Greedy").click()
    lab.settle()
    expect(lab.page.get_by_text("Path (1 token)")).to_have_count(1)
    lab.assert_healthy()
    lab.page.get_by_text("Try it: watch the next-token distribution").scroll_into_view_if_needed()
    lab.screenshot("sampling-lab")


def test_generation_streams_coloured_tokens_and_marks_a_stop(lab):
    open_page(lab, "inference-configuration")
    final_bars(lab)
    box = lab.page.get_by_role("textbox", name="Stop sequences")
    box.fill(".")
    box.press("Control+Enter")
    lab.settle()
    lab.page.get_by_role("button", name="Generate", exact=True).click()
    lab.page.locator(".lab-out .lab-tok").first.wait_for(timeout=180_000)
    lab.settle()
    expect(lab.page.locator("[data-testid=stMetricLabel]").filter(has_text="New tokens")).to_have_count(1)
    expect(lab.page.get_by_role("button", name="Stop generating")).to_have_count(0)    # only while it streams
    lab.assert_healthy()
    lab.page.get_by_text("Try it: generate with your settings").scroll_into_view_if_needed()
    lab.screenshot("generation-lab")


def test_stop_ends_a_long_answer_and_keeps_what_arrived(lab):
    open_page(lab, "inference-configuration")
    final_bars(lab)
    enter(lab, "textbox", "Prompt (sent as a chat message)", "Count from 1 to 500, separated by commas.",
          "Control+Enter")
    enter(lab, "spinbutton", "Max new tokens", "1000")
    lab.page.get_by_role("button", name="Generate", exact=True).click()
    lab.page.locator(".lab-out .lab-tok").first.wait_for(timeout=180_000)
    lab.page.get_by_role("button", name="Stop generating").click()
    expect(lab.page.get_by_text("Stopped before the end")).to_have_count(1, timeout=120_000)
    lab.settle()
    new_tokens = lab.page.locator("[data-testid=stMetric]").filter(has_text="New tokens").locator(
        "[data-testid=stMetricValue]")
    assert 0 < int(new_tokens.inner_text().replace(",", "")) < 1000
    lab.assert_healthy()


def test_a_shared_link_opens_the_same_experiment_and_draws_the_same_seeded_answer(lab):
    open_page(lab, "inference-configuration")
    final_bars(lab)
    enter(lab, "textbox", "Prompt (sent as a chat message)", "Name a fruit and say why you like it.", "Control+Enter")
    enter(lab, "spinbutton", "Seed (-1 = random)", "7")
    enter(lab, "spinbutton", "Max new tokens", "12")
    lab.page.get_by_role("button", name="Link to this experiment").last.click()
    code = lab.page.locator("[data-testid=stPopoverBody] [data-testid=stCode]")
    expect(code).to_contain_text("sampling.seed=7", timeout=30_000)
    link = code.inner_text().strip()
    assert link.startswith(lab.base_url) and "sampling.max_new=12" in link and "sampling.temperature=" in link
    lab.page.keyboard.press("Escape")

    def answer(tab) -> str:
        tab.page.get_by_role("button", name="Generate", exact=True).click()
        tab.page.locator(".lab-out .lab-tok").first.wait_for(timeout=180_000)
        tab.settle()
        expect(tab.page.get_by_role("button", name="Stop generating")).to_have_count(0, timeout=120_000)
        return tab.page.locator(".lab-out").first.inner_text()

    mine = answer(lab)
    classmate = type(lab).new(lab.page.context.browser, lab.base_url)
    try:
        classmate.page.goto(link)
        classmate.page.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]")
        classmate.page.locator("[data-testid=stSidebar]").get_by_text("Running on").wait_for(timeout=120_000)
        classmate.settle()
        expect(classmate.page.get_by_role("textbox", name="Prompt (sent as a chat message)")).to_have_value(
            "Name a fruit and say why you like it.")
        expect(classmate.page.get_by_role("spinbutton", name="Seed (-1 = random)")).to_have_value("7")
        expect(classmate.page.get_by_role("spinbutton", name="Max new tokens")).to_have_value("12")
        assert answer(classmate) == mine
        classmate.assert_healthy()
    finally:
        classmate.close()
    lab.assert_healthy()
