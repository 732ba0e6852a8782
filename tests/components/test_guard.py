"""components.common.guard.usable_text: the one check of the learner's free text, run in a bare AppTest script."""
import pytest
from streamlit.testing.v1 import AppTest


def run_guard(value, **kwargs) -> AppTest:
    def script():
        import streamlit as st

        from components.common import guard

        st.session_state["out"] = guard.usable_text(st.session_state["value"], "Type something.",
                                                    **st.session_state["kw"])

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state["value"], at.session_state["kw"] = value, kwargs
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("value", ["", "   \n\t", None, 42])
def test_empty_or_not_text_gets_the_hint_and_none(value):
    at = run_guard(value, max_chars=10)
    assert at.session_state["out"] is None and [i.value for i in at.info] == ["Type something."] and not at.warning


def test_blank_text_passes_when_allowed():
    at = run_guard("   ", allow_blank=True)
    assert at.session_state["out"] == "   " and not at.info


def test_text_within_the_limit_is_returned_unchanged():
    at = run_guard("  Hello\n", max_chars=8)
    assert at.session_state["out"] == "  Hello\n" and not at.info and not at.warning


def test_long_text_is_cut_at_the_start_or_the_end_with_a_note():
    at = run_guard("a" * 5 + "b" * 10_000, max_chars=10_000, what="The prompt", keep="last")
    assert at.session_state["out"] == "b" * 10_000
    assert [w.value for w in at.warning] == ["The prompt has 10,005 characters; only the last 10,000 are used."]
    at = run_guard("abcdef", max_chars=3, used="sent")
    assert at.session_state["out"] == "abc"
    assert [w.value for w in at.warning] == ["Your text has 6 characters; only the first 3 are sent."]


def test_a_silent_cut():
    at = run_guard("abcdef", max_chars=3, warn=False)
    assert at.session_state["out"] == "abc" and not at.warning
