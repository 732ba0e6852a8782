"""Prompt engineering — lesson page (content in lessons/03_prompt_engineering.md)."""
from components import demos
from components.common import lesson

lesson.show("prompt-engineering", demos=demos.for_section("prompt-engineering"))
