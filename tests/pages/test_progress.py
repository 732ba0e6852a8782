"""A learner who can come back: the home page's course map follows the lessons opened, the demos tried and the
quiz answered, from the database (so a new session of the same browser sees it)."""
from __future__ import annotations

import pytest

from tests.pages import apptest
from tests.pages.apptest import ok, texts

pytestmark = pytest.mark.model
HOME = "app_pages/00_home.py"


def _progress_text(at) -> str:
    return " ".join(p.proto.text for p in at.get("progress"))


def _links(at) -> list[str]:
    return [p.proto.label for p in at.get("page_link")]


def test_the_course_map_follows_lessons_demos_and_quiz():
    at = apptest.open_page(HOME)
    assert "Open any lesson to start" in texts(at)
    at.switch_page("app_pages/02_inside_transformer.py").run()
    ok(at)
    at.text_area(key="tokenizer_text").input("A new text to split").run()      # tried the tokenizer demo
    at.switch_page(HOME).run()
    shown = _progress_text(ok(at))
    assert "1 of 12 lessons opened" in shown and "1 of " in shown.split("·")[1], shown
    assert "You are here: 2. Inside a transformer" in _links(at)
    assert any(label.startswith("Next: 3.") for label in _links(at)), _links(at)
    assert "1/" in texts(at) and "demos tried" in texts(at)


def test_opening_a_lesson_without_touching_a_demo_counts_no_demo():
    at = apptest.open_page("app_pages/02_inside_transformer.py")
    at.switch_page(HOME).run()
    shown = _progress_text(ok(at))
    assert "1 of 12 lessons opened · 0 of" in shown, shown
