"""One way to fail in front of a learner: the traceback goes to the server log, the page shows one clear sentence.

    with errors.shown("The model could not answer"):
        ...work that may raise...

Streamlit's own control flow (st.rerun, st.stop) derives from BaseException and passes through untouched.
"""
from __future__ import annotations

import contextlib
import logging

import streamlit as st

log = logging.getLogger("genai_lab")


def message(what: str, exc: BaseException) -> str:
    """'What failed: why' in one sentence; the exception's own text when it has one, else its type."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = detail if len(detail) <= 300 else detail[:300] + "…"
    return f"{what.rstrip('.')}: {detail}"


def show(what: str, exc: BaseException, level: str = "error") -> None:
    """Log `exc` with its traceback on the server and show one sentence (st.error, or st.warning)."""
    log.error("%s", what, exc_info=exc)
    getattr(st, level)(message(what, exc))


@contextlib.contextmanager
def shown(what: str, level: str = "error"):
    """Inside: any Exception becomes `show(what, exc)` instead of a traceback."""
    try:
        yield
    except Exception as exc:
        show(what, exc, level)
