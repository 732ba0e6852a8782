"""Open a page of the real app (app.py and its navigation) in Streamlit's AppTest.

After switch_page, AppTest runs the page script on its own, without app.py's sidebar; the browser tests
cover the whole frame."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
HOME = "app_pages/00_home.py"


def open_page(page: str = HOME, timeout: float = 180, check: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page != HOME:
        at.switch_page(page)
        at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at
