"""Prompt engineering — lesson page (content in lessons/03_prompt_engineering.md)."""
from components import lesson

lesson.show("prompt-engineering")
