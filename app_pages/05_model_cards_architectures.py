"""Model cards & architectures — lesson page (content in lessons/05_model_cards_architectures.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("model-cards-architectures", demos=demos.for_section("model-cards-architectures"),
            end_of_lesson=quiz_view.end_of_lesson)
