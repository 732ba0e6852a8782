"""RLHF — lesson page (content in lessons/09_rlhf.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("rlhf", demos=demos.for_section("rlhf"), end_of_lesson=quiz_view.end_of_lesson)
