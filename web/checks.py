"""Settings checked at start-up, each reported as one log line saying what to change."""
from __future__ import annotations

import logging
import os
import resource

import streamlit as st

from core.workshop.workshop import presenter_key_problem, presenter_key_setting

RECOMMENDED_OPEN_FILES = 4096


def startup_report() -> list[tuple[int, str]]:
    lines = []
    key = presenter_key_setting(os.environ, st.secrets)
    problem = presenter_key_problem(key) if key is not None else None
    if key is None:
        lines.append((logging.INFO, "No presenter key is set: the Presenter and Instructor pages stay locked."))
    elif problem:
        lines.append((logging.ERROR, f"The presenter key is refused: {problem} The Presenter and Instructor pages "
                                     "stay locked until GENAI_LAB_PRESENTER_KEY (or presenter_key in "
                                     ".streamlit/secrets.toml) holds a key of your own, then a restart."))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < RECOMMENDED_OPEN_FILES:
        lines.append((logging.INFO, f"Open-file limit {soft}; {RECOMMENDED_OPEN_FILES} or more leaves room to spare "
                                    "for a workshop (LimitNOFILE= in a systemd unit, `ulimit -n` in a shell)."))
    return lines
