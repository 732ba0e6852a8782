"""Page 2 in a real browser with the internet cut off: bertviz draws from the inlined libraries, the attention
heatmap follows its sliders, the head overview opens a head. Screenshots go to screenshots/."""
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.harness import SCREENSHOTS, LabPage

pytestmark = pytest.mark.browser


@pytest.fixture
def offline_lab(browser, server_url):
    """A tab that can reach only the local Streamlit server: every other request is aborted and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    blocked = []

    def route(r):
        url = r.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            return r.continue_()
        blocked.append(url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(60_000)
    lab = LabPage(page, server_url)
    lab.blocked = blocked
    yield lab
    context.close()


def frame_texts(frame) -> list[str]:
    return [t.text_content() for t in frame.locator("svg text").all()]


def open_attention(lab) -> None:
    lab.open("inside-transformer")
    lab.page.get_by_text("Try it: where does each token look?").scroll_into_view_if_needed()
    expect(lab.page.locator("[data-testid=stIFrame]")).to_have_count(2, timeout=180_000)


def test_bertviz_views_draw_offline(offline_lab):
    lab = offline_lab
    open_attention(lab)
    head = lab.page.frame_locator("[data-testid=stIFrame]").nth(0)
    expect(head.locator("svg text").first).to_be_attached(timeout=30_000)
    labels = frame_texts(head)
    for token in ("The", "·dog", "·ignored", "·tired"):       # "The dog ignored the ball because it was tired."
        assert token in labels, labels
    assert head.locator("svg line").count() > 100                # one line per token pair and head
    lab.page.locator("[data-testid=stIFrame]").nth(0).scroll_into_view_if_needed()
    lab.page.locator("[data-testid=stIFrame]").nth(0).screenshot(
        path=str(SCREENSHOTS / "bertviz-head-view-offline.png"))

    lab.page.get_by_role("tab", name="Model view").click()
    model = lab.page.frame_locator("[data-testid=stIFrame]").nth(1)
    expect(model.get_by_text("Layers")).to_have_count(1, timeout=30_000)
    assert {"Heads", "Layers", "0", "5"} <= set(frame_texts(model))
    model.locator("svg rect").nth(3).click()                    # a thumbnail opens the detail with token labels
    expect(model.get_by_text("·dog").first).to_be_attached()
    lab.page.locator("[data-testid=stIFrame]").nth(1).screenshot(
        path=str(SCREENSHOTS / "bertviz-model-view-offline.png"))

    assert not [u for u in lab.blocked if any(s in u for s in ("require", "d3", "jquery", "cdnjs"))], lab.blocked
    lab.assert_healthy()


DECODER_MAP = ("() => { const p = [...document.querySelectorAll('.js-plotly-plot')].find(p => (p.innerText || '')"
               ".includes('token that looks') && p.getBoundingClientRect().height > 0);"
               " const im = p && p.querySelector('image'); return im ? im.getAttribute('href') : null; }")


def heatmap_image(lab) -> str | None:
    """The picture plotly drew for SmolLM2's attention map (found by its axis title; it changes with the data)."""
    return lab.page.evaluate(DECODER_MAP)


def test_heatmap_follows_the_sliders_and_overview_opens_a_head(offline_lab):
    lab = offline_lab
    open_attention(lab)
    plots = lab.page.locator(".js-plotly-plot")
    # SmolLM2's attention map is found by its axis title, never by its index among the plots (see below).
    lab.page.wait_for_function(f"({DECODER_MAP})() !== null", timeout=60_000)
    before = heatmap_image(lab)
    layer = lab.page.locator("[data-testid=stSlider]").filter(has_text="Layer").first.get_by_role("slider")
    layer.focus()
    for _ in range(3):
        layer.press("ArrowRight")
    expect(layer).to_have_attribute("aria-valuetext", "3", timeout=30_000)
    lab.page.wait_for_function(f"before => {{ const now = ({DECODER_MAP})(); return now !== null && now !== before; }}",
                               arg=before, timeout=60_000)
    lab.settle()
    head = lab.page.locator("[data-testid=stSlider]").filter(has_text="Head").first.get_by_role("slider")
    head.focus()
    head.press("ArrowRight")
    expect(head).to_have_attribute("aria-valuetext", "1", timeout=30_000)
    lab.settle()
    lab.assert_healthy()

    # Clicking a cell of the layers x heads overview opens that head (plotly selection -> callback -> sliders).
    # Find the overview by what it shows, not by its position among the plots: a stale 0-px-high copy of a chart
    # from the slider's rerun can still be in the DOM for a moment after `settle`, and when it goes every later
    # plot's index shifts by one (seen in CI: the test then clicked into the wrong chart or found none).
    overview = (plots.filter(has_text="layer").filter(has_text="head")
                .filter(has=lab.page.locator(".scatterlayer .point")))
    expect(overview).to_have_count(1, timeout=60_000)
    expect(overview.locator(".scatterlayer .point")).to_have_count(30 * 9, timeout=60_000)
    # Plotly drops a click that lands while it is still redrawing the chart, and a rerun can replace the chart's
    # element under the test's feet ("not attached to the DOM", seen on a fresh clone): scroll, measure and click
    # again, as a person would, until the sliders move; each try waits on the slider, never on a fixed sleep.
    for attempt in range(4):
        try:
            overview.scroll_into_view_if_needed()
            cell = overview.locator(".scatterlayer .point").nth(7 * 9 + 2)     # layer 7, head 2 (9 heads a layer)
            box = cell.bounding_box()
            lab.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            expect(layer).to_have_attribute("aria-valuetext", "7", timeout=20_000)
            break
        except (AssertionError, PlaywrightError, TypeError):          # TypeError: no box (element just replaced)
            if attempt == 3:
                raise
            lab.settle()
    expect(head).to_have_attribute("aria-valuetext", "2", timeout=60_000)
    lab.settle()
    lab.assert_healthy()

    # The list of top heads opens one of them in the heatmap.
    lab.page.get_by_text("Find interesting heads").scroll_into_view_if_needed()
    pick = lab.page.locator("[data-testid=stSelectbox]").filter(has_text="Open one of the 10 highest heads")
    pick.click()
    option = lab.page.get_by_role("option").nth(1)
    chosen = option.inner_text()                                  # "layer L, head H: 0.123"
    option.click()
    lab.settle()
    want_layer = chosen.split(",")[0].split()[-1]
    expect(layer).to_have_attribute("aria-valuetext", want_layer, timeout=30_000)
    lab.assert_healthy()
    lab.page.set_viewport_size({"width": 1400, "height": 1300})
    for heading, name in (("One head at a time", "attention-heatmaps"),
                          ("Find interesting heads", "attention-head-overview")):
        lab.page.get_by_text(heading).evaluate("e => e.scrollIntoView({block: 'start'})")
        lab.page.wait_for_timeout(300)
        lab.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
