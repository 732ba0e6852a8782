"""Compute & quantization — lesson page (content in lessons/06_compute_quantization.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("compute-quantization", demos=demos.for_section("compute-quantization"),
            end_of_lesson=quiz_view.end_of_lesson)
