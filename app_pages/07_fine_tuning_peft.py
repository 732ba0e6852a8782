"""Fine-tuning & PEFT — lesson page (content in lessons/07_fine_tuning_peft.md)."""
from components.common import lesson

lesson.show("fine-tuning-peft")
