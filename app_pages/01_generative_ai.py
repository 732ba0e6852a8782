"""What is generative AI? — lesson page (content in lessons/01_generative_ai.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("generative-ai", demos=demos.for_section("generative-ai"), end_of_lesson=quiz_view.end_of_lesson)
