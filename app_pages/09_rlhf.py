"""RLHF — lesson page (content in lessons/09_rlhf.md)."""
from components.common import lesson

lesson.show("rlhf")
