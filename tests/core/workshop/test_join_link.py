"""The join link participants open: never localhost when something better is known."""
from __future__ import annotations

import pytest

from core.workshop.join_link import is_loopback, join_link, network_address


def test_the_setting_wins():
    link = join_link("K7MPQ", "https://lab.example.org/genai/", "http://localhost:8501/presenter-console", 8501,
                     "192.168.1.20")
    assert link.url == "https://lab.example.org/genai/live-quiz?room=K7MPQ" and link.source == "setting"
    assert not link.warning


def test_a_bad_setting_is_reported_and_skipped():
    link = join_link("K7MPQ", "lab.example.org", "http://localhost:8501/", 8501, "192.168.1.20")
    assert link.url == "http://192.168.1.20:8501/live-quiz?room=K7MPQ"
    assert "not an http(s) address" in link.warning


def test_the_browser_address_when_it_is_not_loopback():
    link = join_link("K7MPQ", None, "http://10.0.0.5:8611/presenter-console?x=1", 8501, "192.168.1.20")
    assert link.url == "http://10.0.0.5:8611/live-quiz?room=K7MPQ" and link.source == "browser"


def test_localhost_in_the_browser_becomes_the_network_address_on_the_same_port():
    link = join_link("K7MPQ", "", "http://localhost:8611/presenter-console", 8501, "192.168.1.20")
    assert link.url == "http://192.168.1.20:8611/live-quiz?room=K7MPQ" and link.source == "network"
    assert "same network" in link.warning


def test_only_localhost_known_says_so():
    link = join_link("K7MPQ", None, "http://127.0.0.1:8501/", 8501, None)
    assert link.url == "http://localhost:8501/live-quiz?room=K7MPQ" and link.source == "localhost"
    assert "GENAI_LAB_PUBLIC_URL" in link.warning


@pytest.mark.parametrize("host, loop", [("localhost", True), ("127.0.0.1", True), ("::1", True), ("[::1]", True),
                                        ("app.localhost", True), ("192.168.1.2", False), ("example.org", False)])
def test_loopback(host, loop):
    assert is_loopback(host) is loop


def test_network_address_is_none_or_not_loopback():
    address = network_address()
    assert address is None or not is_loopback(address)
