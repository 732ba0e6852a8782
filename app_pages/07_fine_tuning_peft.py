"""Fine-tuning & PEFT — lesson page (content in lessons/07_fine_tuning_peft.md)."""
from components import demos
from components.common import lesson

lesson.show("fine-tuning-peft", demos=demos.for_section("fine-tuning-peft"))
