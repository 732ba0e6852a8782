"""A real `streamlit run` server and headless Debian chromium, driven by Playwright."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GENAI_LAB_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_server(log_name: str, env: dict | None = None):
    """Start `streamlit run app.py` on a free port, yield its URL, stop it. `env` adds variables (None removes one)."""
    port = _free_port()
    (ROOT / ".cache").mkdir(exist_ok=True)
    log = open(ROOT / ".cache" / log_name, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env={k: v for k, v in {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}.items() if v is not None},
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early; see .cache/{log_name}")
    else:
        proc.kill()
        raise RuntimeError(f"streamlit did not answer /_stcore/health within 60 s; see .cache/{log_name}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server_url():
    yield from streamlit_server("browser-test-server.log")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = (f"\n\n!!! BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install Debian's chromium "
                   "(`sudo apt-get install chromium`, or run `make test` as root). !!!\n")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class LabPage:
    """One browser tab on the app, with the waits that make Streamlit tests reliable."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url, self.errors = page, base_url, []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", lambda dialog: (self.errors.append(f"dialog opened: {dialog.message}"), dialog.dismiss()))

    def open(self, path: str = "") -> "LabPage":
        self.page.goto(f"{self.base_url}/{path}")
        self.page.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=60_000)
        self.page.wait_for_selector("h1", timeout=60_000)          # the script has started drawing this page
        self.page.locator("[data-testid=stSidebar]").get_by_text("Running on").wait_for(timeout=120_000)  # ...to the end
        self.settle()
        # A `pages/` folder next to app.py made Streamlit answer a fresh server's first deep link with this
        # dialog (it took the folder for an old-style page list); the pages live in app_pages/ for that reason.
        assert self.page.get_by_text("Page not found").count() == 0, f"'Page not found' on /{path}"
        return self

    def settle(self, timeout: int = 180_000) -> "LabPage":
        self.page.wait_for_timeout(300)
        self.page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout)
        self.page.wait_for_function("document.querySelectorAll('[data-testid=stSkeleton]').length === 0",
                                    timeout=timeout)
        return self

    def assert_healthy(self) -> None:
        boxes = self.page.locator("[data-testid=stException]")
        assert boxes.count() == 0, boxes.first.inner_text()
        assert not self.errors, self.errors

    def screenshot(self, name: str) -> Path:
        """The whole main column (Streamlit scrolls inside it, so grow the viewport to its height)."""
        SCREENSHOTS.mkdir(exist_ok=True)
        height = self.page.evaluate("document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight")
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": size["width"], "height": min(max(height + 80, size["height"]), 9000)})
        self.page.wait_for_timeout(300)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(size)
        return path


@pytest.fixture
def lab(browser, server_url):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield LabPage(page, server_url)
    context.close()
