"""Server start -> first page rendered in headless chromium (prints seconds; no asserts).

Usage: .venv/bin/python -m bench.startup [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(browser) -> tuple[float, float, float]:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.05)
        t_health = time.perf_counter() - t0
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/inside-transformer")
        page.wait_for_selector("h1:has-text('Inside a transformer')", timeout=120_000)
        t_text = time.perf_counter() - t0
        page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=120_000)
        page.wait_for_selector(".tok-wrap", timeout=120_000)
        t_demo = time.perf_counter() - t0
        page.close()
        return t_health, t_text, t_demo
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        print("run  server-healthy  lesson-text-visible  tokenizer-demo-drawn   (seconds from process start)")
        for i in range(args.runs):
            h, t, d = one_run(browser)
            print(f"{i + 1:>3}  {h:14.2f}  {t:19.2f}  {d:20.2f}")
        browser.close()


if __name__ == "__main__":
    main()
