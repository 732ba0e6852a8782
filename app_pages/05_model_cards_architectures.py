"""Model cards & architectures — lesson page (content in lessons/05_model_cards_architectures.md)."""
from components import demos
from components.common import lesson

lesson.show("model-cards-architectures", demos=demos.for_section("model-cards-architectures"))
