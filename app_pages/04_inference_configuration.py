"""Inference configuration — lesson page (content in lessons/04_inference_configuration.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("inference-configuration", demos=demos.for_section("inference-configuration"),
            end_of_lesson=quiz_view.end_of_lesson)
