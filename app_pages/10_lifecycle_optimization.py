"""Lifecycle & optimization — lesson page (content in lessons/10_lifecycle_optimization.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("lifecycle-optimization", demos=demos.for_section("lifecycle-optimization"),
            end_of_lesson=quiz_view.end_of_lesson)
