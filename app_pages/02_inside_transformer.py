"""Inside a transformer — lesson page (content in lessons/02_inside_transformer.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("inside-transformer", demos=demos.for_section("inside-transformer"), end_of_lesson=quiz_view.end_of_lesson)
