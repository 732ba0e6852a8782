"""The app in a real browser: every page opens cleanly, the tokenizer demo works, models load with progress."""
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = yaml.safe_load((ROOT / "lessons" / "sections.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path, title", [("", "GenAI Lab")] + [(s["id"], s["title"]) for s in SECTIONS],
                         ids=["home"] + [s["id"] for s in SECTIONS])
def test_every_page_opens_without_errors(lab, path, title):
    lab.open(path)
    assert title in lab.page.locator("h1").first.inner_text()
    expect(lab.page.locator("[data-testid=stSidebar]").get_by_text("Running on")).to_have_count(1)  # the device
    lab.assert_healthy()
    lab.screenshot(f"page-{path or 'home'}")
    # The "On this page" links of a long lesson land on its headings (core.lessons.anchor = Streamlit's ids).
    links = lab.page.locator("p").filter(has_text="On this page:").locator("a")
    targets = [href[1:] for href in links.evaluate_all("as => as.map(a => a.getAttribute('href'))")]
    missing = [t for t in targets if not lab.page.evaluate("id => !!document.getElementById(id)", t)]
    assert not missing, missing
    if targets:
        links.last.click()
        expect(lab.page.locator(f"[id='{targets[-1]}']")).to_be_in_viewport()


def test_sidebar_navigation_reaches_a_lesson(lab):
    lab.open()
    lab.page.get_by_role("link", name="6. Compute & quantization").first.click()
    lab.page.wait_for_url("**/compute-quantization")
    lab.settle()
    assert "Compute" in lab.page.locator("h1").first.inner_text()
    lab.assert_healthy()


def chips(lab, side: int):
    return lab.page.locator(".tok-wrap").nth(side).locator(".tok")


def type_text(lab, text: str) -> None:
    """Submit new text and wait until the chips show it (not merely until the script is idle)."""
    lab.page.wait_for_selector(".tok-wrap")
    before = lab.page.locator(".tok-wrap").first.inner_text()
    box = lab.page.get_by_role("textbox", name="Your text")
    box.fill(text)
    box.press("Control+Enter")
    lab.page.wait_for_function(
        "(before) => { const w = document.querySelector('.tok-wrap'); return w && w.innerText !== before; }",
        arg=before, timeout=120_000)
    lab.settle()


def test_tokenizer_demo_splits_text_with_both_tokenizers(lab):
    lab.open("inside-transformer")
    type_text(lab, "Unbelievable tokens!")
    lab.page.wait_for_function("document.querySelectorAll('.tok-wrap').length === 2")
    smol = [c.inner_text() for c in chips(lab, 0).all()]
    mini = [c.inner_text() for c in chips(lab, 1).all()]
    assert "".join(smol).replace("·", " ") == "Unbelievable tokens!"
    assert mini[0] == "[CLS]" and mini[-1] == "[SEP]"
    assert chips(lab, 1).first.get_attribute("class").count("tok-special") == 1
    assert "id " in chips(lab, 0).first.get_attribute("title")      # the id shows on hover
    lab.assert_healthy()
    lab.page.get_by_text("Try it: how do two").scroll_into_view_if_needed()
    lab.screenshot("tokenizer-demo")


def test_tokenizer_demo_shows_markup_as_text_and_never_runs_it(lab):
    lab.open("inside-transformer")
    type_text(lab, "<script>alert('x')</script><img src=x onerror=alert(1)> <b>bold</b>")
    lab.page.wait_for_function("document.querySelectorAll('.tok-wrap').length === 2")
    assert "<script>" in lab.page.locator(".tok-wrap").first.inner_text().replace("·", " ").replace(" ", "") \
        or "script" in lab.page.locator(".tok-wrap").first.inner_text()
    assert lab.page.locator(".tok-wrap img, .tok-wrap b, .tok-wrap script").count() == 0
    lab.assert_healthy()   # includes: no alert dialog opened


def test_tokenizer_demo_handles_odd_unicode_and_long_text(lab):
    lab.open("inside-transformer")
    type_text(lab, "👨‍👩‍👧 東京 مرحبا\u200b!")
    # The zero-width joiner (E2 80 8D) inside the family emoji is split into byte pieces.
    assert "<E2><80>" in lab.page.locator(".tok-wrap").first.inner_text()
    type_text(lab, "lorem ipsum " * 800)
    expect(lab.page.get_by_text("do not fit in the 256-token window")).to_have_count(1)
    expect(chips(lab, 0)).to_have_count(400)
    expect(lab.page.get_by_text("Drawing the first 400").first).to_be_visible()
    lab.assert_healthy()
    lab.screenshot("tokenizer-long-text")


def test_load_models_button_shows_progress_and_ends_ready(lab):
    lab.open()
    button = lab.page.get_by_role("button", name="Load models now")
    if button.count():
        button.click()
        lab.settle(timeout=300_000)
    sidebar = lab.page.locator("[data-testid=stSidebar]")
    expect(sidebar.get_by_text("ready ·")).to_have_count(2, timeout=300_000)
    expect(sidebar).to_contain_text("134.5 M parameters")
    expect(sidebar.get_by_role("button", name="Load models now")).to_have_count(0)
    lab.assert_healthy()
    lab.screenshot("models-loaded")


def test_welcome_cards_are_links_and_say_which_lessons_have_live_demos(lab):
    lab.open()
    expect(lab.page.get_by_text("live demos").first).to_be_visible(timeout=60_000)
    card = lab.page.locator("[class*='st-key-home_card_evaluation-benchmarks']")
    expect(card.get_by_text("live demos")).to_have_count(1)
    expect(lab.page.locator("[class*='st-key-home_card_rlhf']").get_by_text("live demos")).to_have_count(1)
    expect(lab.page.get_by_text("reading only")).to_have_count(0)          # every lesson has a live demo now
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    lab.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 12)   # the card, not its title
    lab.page.locator("h1", has_text="8. Evaluation").wait_for(timeout=60_000)
    lab.assert_healthy()
