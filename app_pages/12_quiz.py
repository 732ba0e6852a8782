"""Quiz — lesson page (content in lessons/12_quiz.md) with the self-paced quiz and progress chart."""
from components import demos
from components.common import lesson

lesson.show("quiz", demos=demos.for_section("quiz"))
