"""Page 6 in a real browser: the calculator chart follows the parameter count; float bits; live quantization."""
import pytest

from tests.browser.harness import SCREENSHOTS

pytestmark = pytest.mark.browser


def open_compute_page(lab):
    """Reach page 6 through the sidebar, as a learner does."""
    lab.open()
    lab.page.locator("[data-testid=stSidebar]").get_by_text("Compute & quantization").click()
    lab.page.get_by_role("heading", name="CUDA and the dreaded error").wait_for(timeout=60_000)
    lab.settle()


def chart_titles(lab) -> list[str]:
    return [t.text_content() for t in lab.page.locator(".gtitle").all()]


def wait_for_title(lab, text: str) -> None:
    lab.page.wait_for_function(
        "(t) => [...document.querySelectorAll('.gtitle')].some(e => e.textContent.includes(t))", arg=text,
        timeout=60_000)
    lab.settle()


def test_calculator_chart_follows_the_parameter_count(lab):
    open_compute_page(lab)
    wait_for_title(lab, "Memory for 1B parameters")
    box = lab.page.get_by_role("textbox", name="Parameters", exact=True).first
    box.fill("175B")
    box.press("Enter")
    wait_for_title(lab, "Memory for 175B parameters")
    assert any("175B" in t for t in chart_titles(lab))
    lab.page.get_by_text("full training (Adam)").first.click()
    wait_for_title(lab, "175B parameters — full training")
    labels = lab.page.locator("[data-testid=stMetricValue]").all_inner_texts()
    assert "4,200 GB" in labels and "53" in labels
    lab.assert_healthy()
    lab.page.get_by_text("Try it: will it fit").scroll_into_view_if_needed()
    lab.screenshot("compute-page")


def test_bad_parameter_count_is_a_message_not_an_error(lab):
    open_compute_page(lab)
    box = lab.page.get_by_role("textbox", name="Parameters", exact=True).first
    box.fill("1e15")
    box.press("Enter")
    lab.page.get_by_text("100 trillion").first.wait_for(timeout=60_000)
    lab.settle()
    lab.assert_healthy()
    # The page is taller than a full-page screenshot: photograph the lower demos one by one.
    SCREENSHOTS.mkdir(exist_ok=True)
    for heading, name in (("Try it: splitting training", "compute-multi-gpu"),
                          ("Try it: the compute-optimal model", "compute-chinchilla")):
        box = lab.page.get_by_text(heading).locator(
            "xpath=ancestor::div[@data-testid='stLayoutWrapper'][1]")
        box.scroll_into_view_if_needed()
        lab.page.wait_for_timeout(500)
        box.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_float_explorer_shows_bits(lab):
    open_compute_page(lab)
    box = lab.page.get_by_role("textbox", name="Your number")
    box.fill("70000")
    box.press("Enter")
    lab.page.get_by_text("overflow").first.wait_for(timeout=60_000)
    lab.settle()
    lab.assert_healthy()


@pytest.mark.model
def test_live_quantization_in_the_browser(lab):
    open_compute_page(lab)
    for scheme in ("FP16", "BF16", "INT4"):          # INT8 alone keeps the test short on a CPU
        lab.page.get_by_role("button", name=f"Remove {scheme}").click()
        lab.settle()
    lab.page.get_by_role("button", name="Quantize and compare").click()
    lab.page.get_by_text("Greedy answers to").wait_for(timeout=300_000)
    lab.settle(timeout=300_000)
    lab.assert_healthy()
    lab.page.get_by_text("Try it: quantize the model").scroll_into_view_if_needed()
    lab.screenshot("compute-page-quantized")
