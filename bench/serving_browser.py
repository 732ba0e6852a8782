"""A room pressing Generate on page 4 at once, in real browsers (the browser variant of bench/serving.py).

One streamlit server; first one session alone presses Generate (after a warm-up answer in another tab that loads
the model; every measured tab is fresh, so no earlier answer is on its screen), then
N sessions (separate browser contexts, default 8) open page 4 and press Generate within a second of each other.
Each tab records in the page itself (a MutationObserver, so the script's own slowness does not count) when its first
token and its finished answer appeared. Printed: time to first token and to the finished answer for the session
alone, then for the N (median and slowest, from each tab's own click), and the slowest against the lone session.
Nothing is asserted.

Usage: .venv/bin/python -m bench.serving_browser [--sessions 8]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tests.browser.harness import LabPage, launch, streamlit_server

ROOT = Path(__file__).resolve().parents[1]

RECORDER = """() => {
  window.__genai = {};
  const seen = () => {
    const t = window.__genai;
    if (!t.first && document.querySelector('.lab-out .lab-tok')) t.first = Date.now();
    if (!t.done && [...document.querySelectorAll('[data-testid=stMetricLabel]')]
        .some(e => e.textContent.includes('New tokens'))) t.done = Date.now();
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def ready(lab: LabPage) -> None:
    lab.open("inference-configuration")
    lab.page.get_by_role("button", name="Generate", exact=True).wait_for(timeout=300_000)
    lab.settle(300_000)


def press(lab: LabPage) -> float:
    lab.page.evaluate(RECORDER)
    clicked = lab.page.evaluate("() => Date.now()")
    lab.page.get_by_role("button", name="Generate", exact=True).click()
    return clicked


def finished(lab: LabPage, clicked: float, timeout_s: float) -> tuple[float, float]:
    lab.page.wait_for_function("() => window.__genai && window.__genai.done", timeout=timeout_s * 1000)
    t = lab.page.evaluate("() => window.__genai")
    return (t.get("first", t["done"]) - clicked) / 1000, (t["done"] - clicked) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds each answer may take")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    with streamlit_server("bench-serving-browser.log") as url, sync_playwright() as p:
        browser = launch(p)
        warm = LabPage.new(browser, url, timeout_ms=300_000)
        ready(warm)
        finished(warm, press(warm), args.timeout)                    # warm-up: loads the model
        warm.close()
        alone = LabPage.new(browser, url, timeout_ms=300_000)        # a fresh tab: no earlier answer on screen
        ready(alone)
        first, done = finished(alone, press(alone), args.timeout)
        print(f"one session alone: first token {first:.1f} s, answer done {done:.1f} s", flush=True)
        alone.close()
        labs = [LabPage.new(browser, url, timeout_ms=300_000) for _ in range(args.sessions)]
        for lab in labs:
            ready(lab)
        start = time.monotonic()
        clicks = [press(lab) for lab in labs]
        spread = time.monotonic() - start
        results = [finished(lab, c, args.timeout) for lab, c in zip(labs, clicks)]
        firsts, dones = [r[0] for r in results], [r[1] for r in results]
        errors = sum(len(lab.errors) for lab in labs)
        boxes = sum(lab.page.locator("[data-testid=stException]").count() for lab in labs)
        print(f"{args.sessions} sessions pressed Generate within {spread:.1f} s: first token median "
              f"{statistics.median(firsts):.1f} s, slowest {max(firsts):.1f} s; answer done median "
              f"{statistics.median(dones):.1f} s, slowest {max(dones):.1f} s ({max(dones) / done:.1f}× the lone "
              f"session); page errors {errors}, exception boxes {boxes}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
