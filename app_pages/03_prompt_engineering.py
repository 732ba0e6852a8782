"""Prompt engineering — lesson page (content in lessons/03_prompt_engineering.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("prompt-engineering", demos=demos.for_section("prompt-engineering"), end_of_lesson=quiz_view.end_of_lesson)
