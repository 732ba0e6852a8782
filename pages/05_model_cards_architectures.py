"""Model cards & architectures — lesson page (content in lessons/05_model_cards_architectures.md)."""
from components import lesson

lesson.show("model-cards-architectures")
