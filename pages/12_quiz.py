"""Quiz — lesson page (content in lessons/12_quiz.md)."""
from components import lesson

lesson.show("quiz")
