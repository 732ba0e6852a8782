"""Evaluation & benchmarks — lesson page (content in lessons/08_evaluation_benchmarks.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("evaluation-benchmarks", demos=demos.for_section("evaluation-benchmarks"),
            end_of_lesson=quiz_view.end_of_lesson)
