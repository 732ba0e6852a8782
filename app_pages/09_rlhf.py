"""RLHF — lesson page (content in lessons/09_rlhf.md)."""
from components import demos
from components.common import lesson

lesson.show("rlhf", demos=demos.for_section("rlhf"))
