"""Fine-tuning & PEFT — lesson page (content in lessons/07_fine_tuning_peft.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("fine-tuning-peft", demos=demos.for_section("fine-tuning-peft"), end_of_lesson=quiz_view.end_of_lesson)
