"""A short room soak (bench/room_soak.py): ten simulated participants speaking Streamlit's WebSocket protocol and a
presenter in headless chromium, on a server under a 1,024-file limit: every answer is stored, the server's open
files stay flat, and nothing goes wrong in its log."""
from __future__ import annotations

import asyncio
import inspect
from argparse import Namespace
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.storage.database import SQLiteDatabase
from tests.browser.harness import ROOT

pytestmark = pytest.mark.browser
POOL = inspect.signature(SQLiteDatabase).parameters["max_connections"].default


def test_ten_participants_for_a_minute(chromium_path):
    from bench.room_soak import soak

    args = Namespace(participants=10, minutes=1.0, database="sqlite", open_files=1024, sample_every=10.0, lessons=2,
                     questions=2, labeling=False, root=str(ROOT), entry="server.py")
    # Its own thread: the other browser tests' Playwright keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(asyncio.run, soak(args)).result()
    assert report["joined"] == 10, report["join_failures"]
    assert len(report["questions"]) == 2
    for seq, q in report["questions"].items():
        assert q["seen"] == q["answered"] == q["acknowledged"] == q["stored"] == 10, (seq, q)
    assert report["follow_me_s"]["n"] == 20
    # Flat, not constant: the SQLite pool opens up to 8 connections (2 files each) as load comes and goes, and sockets
    # come and go with reconnects. The leak this guards against grew by about a hundred files a minute.
    low, high = report["after warm-up (min, max)"]["files"]
    assert high - low <= 2 * POOL + 6, report["samples (t s: open files, threads, RSS MB)"]
    assert not report["server_log_errors"], report["server_log_errors"]
    assert not report["client_errors"], report["client_errors"]
