"""Model cards & architectures — lesson page (content in lessons/05_model_cards_architectures.md)."""
from components.labs.model_cards_architectures import architecture_view
from components.common import lesson
from components.labs.model_cards_architectures import model_card_view

lesson.show("model-cards-architectures", demos={
    "model-cards": model_card_view.show, "architecture-families": architecture_view.show_families,
    "parameter-counts": architecture_view.show_parameters, "objectives": architecture_view.show_objectives})
