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


def ok(at: AppTest) -> AppTest:
    """The app after a run, failing the test on any exception box."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest, column: str):
    """The dataframe that has this column (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def metric(at: AppTest, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def texts(at: AppTest) -> str:
    """Every Markdown, caption, info, warning and success body on the page, one per line."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                     + [w.value for w in at.warning] + [s.value for s in at.success])
