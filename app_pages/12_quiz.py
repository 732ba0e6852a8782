"""Quiz — lesson page (content in lessons/12_quiz.md) with the self-paced quiz and progress chart."""
from components.common import lesson
from components.workshop import quiz_view

lesson.show("quiz", demos={"quiz": quiz_view.show})
