"""Browser-test fixtures: one `streamlit run` server and one chromium for the whole session
(tests/browser/harness.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.harness import CHROMIUM, LabPage, launch, streamlit_server


@pytest.fixture(scope="session")
def server_url():
    with streamlit_server("browser-test-server.log") as url:
        yield url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium, or a skip saying how to install it (a failure in CI)."""
    if not Path(CHROMIUM).exists():
        message = (f"\n\n!!! BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install Debian's chromium "
                   "(`sudo apt-get install chromium`, or run `make test` as root). !!!\n")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def lab(browser, server_url):
    tab = LabPage.new(browser, server_url)
    yield tab
    tab.close()
