"""What the server does once, before the first browser connects (the ASGI lifespan of server.py)."""
from __future__ import annotations

import asyncio
import logging
import sys
from contextlib import asynccontextmanager

from web import accept
from web.checks import startup_report

log = logging.getLogger("genai_lab")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """The app's own log lines (logger "genai_lab": tracebacks behind every one-sentence error, refused requests,
    shed connections) go to stderr with a timestamp, next to Streamlit's (config.toml's [logger] messageFormat)."""
    if any(getattr(h, "_genai_lab", False) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler._genai_lab = True
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


@asynccontextmanager
async def lifespan(_app):
    configure_logging()
    shedder = accept.install(asyncio.get_running_loop())
    if shedder is None:
        log.warning("Could not guard the accept loop against running out of file descriptors")
    for level, line in startup_report():
        log.log(level, "%s", line)
    yield
