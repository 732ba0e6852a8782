"""A learner who comes back after the server restarted: the home page's course map still says where they were."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import LabPage, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_progress_survives_a_server_restart(browser, tmp_path):
    env = {"GENAI_LAB_DB": str(tmp_path / "progress.db"), "GENAI_LAB_DATABASE_URL": None}
    with streamlit_server("browser-progress-1.log", env) as url:
        lab = LabPage.new(browser, url)
        lab.open("inside-transformer")
        box = lab.page.get_by_role("textbox", name="Your text")
        box.fill("Tokens survive restarts")
        box.press("Control+Enter")
        expect(lab.page.get_by_text("Tokens survive restarts", exact=False).first).to_be_visible()
        lab.settle()
        lab.open("")
        expect(lab.page.get_by_text("You are here: 2. Inside a transformer")).to_have_count(1, timeout=60_000)
        lab.assert_healthy()
    context = lab.page.context                 # the same browser: its id cookie is kept (cookies ignore the port)
    with streamlit_server("browser-progress-2.log", env) as url:
        again = LabPage(context.new_page(), url)
        again.page.set_default_timeout(60_000)
        again.open("")
        expect(again.page.get_by_text("You are here: 2. Inside a transformer")).to_have_count(1, timeout=60_000)
        expect(again.page.get_by_text("1 of 12 lessons opened", exact=False)).to_have_count(1)
        expect(again.page.get_by_text("1/", exact=False).first).to_be_visible()
        again.assert_healthy()
        again.screenshot("home-course-map")
    context.close()
