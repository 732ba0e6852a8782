"""Drive the real app: a `streamlit run` server and headless Debian chromium through Playwright.

Used by the browser tests (tests/browser/conftest.py) and by bench scripts (bench/live_round.py); no pytest here.
Waits are on conditions the app exposes (connection state, script state, skeletons), never on tuned sleeps.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GENAI_LAB_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 # many tabs in one headless browser: background tabs must keep their timers and sockets running
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]
# Console messages that are not the app's: the browser fetching a favicon or font that the offline machine lacks.
IGNORED_CONSOLE = ("Failed to load resource",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open_file_limit(n: int):
    def apply() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return apply


@contextlib.contextmanager
def streamlit_server(log_name: str, env: dict | None = None, start_timeout: float = 60.0,
                     open_files: int | None = None, proc_out: list | None = None, root: Path = ROOT,
                     entry: str = "server.py"):
    """Start `streamlit run server.py` (the app with its server guards) on a free port, yield its URL, stop it.
    `env` adds variables (None removes one); `open_files` runs it under that open-file limit (`ulimit -n`);
    `proc_out`, when given, receives the server's Popen (for its pid); `root` and `entry` serve another checkout
    (bench/room_soak.py measures the code before a fix that way)."""
    port = free_port()
    (root / ".cache").mkdir(exist_ok=True)
    log_path = root / ".cache" / log_name
    environment = {k: v for k, v in {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}.items() if v is not None}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(root / entry), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_open_file_limit(open_files) if open_files else None)
    if proc_out is not None:
        proc_out.append(proc)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see {log_path}")
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer /_stcore/health within {start_timeout:.0f} s; "
                                   f"see {log_path}")
            time.sleep(0.2)   # polling interval for the health check, not a wait for the app
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def launch(playwright):
    """Headless Debian chromium with the flags this offline machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class LabPage:
    """One browser tab on the app, with the waits that make Streamlit tests reliable.

    Every uncaught page error, every console error (React's "Bad delta path" only reaches the console) and every
    dialog is recorded in `errors`; `assert_healthy` fails on them and on any exception box."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url, self.errors = page, base_url, []
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", self._console)
        page.on("dialog", lambda dialog: (self.errors.append(f"dialog opened: {dialog.message}"), dialog.dismiss()))

    def _console(self, message) -> None:
        if message.type == "error" and not any(text in message.text for text in IGNORED_CONSOLE):
            self.errors.append(f"console error: {message.text[:300]}")

    @classmethod
    def new(cls, browser, base_url: str, width: int = 1400, height: int = 900, timeout_ms: int = 60_000,
            color_scheme: str = "light") -> "LabPage":
        """A tab in its own browser context (its own cookies, so its own Streamlit session); `color_scheme` is the
        operating system's preference the browser reports ("dark" opens the app in its dark theme)."""
        page = browser.new_context(viewport={"width": width, "height": height}, color_scheme=color_scheme).new_page()
        page.set_default_timeout(timeout_ms)
        return cls(page, base_url)

    def close(self) -> None:
        self.page.context.close()

    def open(self, path: str = "") -> "LabPage":
        self.page.goto(f"{self.base_url}/{path}")
        self.page.wait_for_selector("[data-testid=stApp][data-test-connection-state=CONNECTED]", timeout=60_000)
        self.page.wait_for_selector("h1", timeout=60_000)          # the script has started drawing this page
        # ...to the end
        self.page.locator("[data-testid=stSidebar]").get_by_text("Running on").wait_for(timeout=120_000)
        self.settle()
        # A `pages/` folder next to app.py made Streamlit answer a fresh server's first deep link with this
        # dialog (it took the folder for an old-style page list); the pages live in app_pages/ for that reason.
        assert self.page.get_by_text("Page not found").count() == 0, f"'Page not found' on /{path}"
        return self

    def settle(self, timeout: int = 180_000) -> "LabPage":
        """Wait until the script is idle and no skeleton is left (a run that is about to start counts as idle:
        wait for the change you expect first, then settle)."""
        self.page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout)
        self.page.wait_for_function("document.querySelectorAll('[data-testid=stSkeleton]').length === 0",
                                    timeout=timeout)
        return self

    def is_blank(self) -> bool:
        """True when the tab shows no app at all (React dropped the tree: a white page)."""
        return bool(self.page.evaluate(
            "() => { const main = document.querySelector('[data-testid=stMain]');"
            " return !main || main.innerText.trim().length === 0; }"))

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
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(size)
        return path


def demo_box(lab, heading: str):
    """The bordered box of the demo whose text includes `heading`."""
    return lab.page.get_by_text(heading).locator("xpath=ancestor::div[@data-testid='stLayoutWrapper'][1]")


def shoot(lab, heading: str, name: str) -> None:
    """A screenshot of one demo's box; the window is made tall enough to hold it (parts outside the window are
    not painted)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    box = demo_box(lab, heading)
    height = int(box.evaluate("e => e.getBoundingClientRect().height"))
    lab.page.set_viewport_size({"width": 1400, "height": max(900, min(height + 200, 6000))})
    box.scroll_into_view_if_needed()
    lab.settle()
    box.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
