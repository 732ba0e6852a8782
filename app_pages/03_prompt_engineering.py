"""Prompt engineering — lesson page (content in lessons/03_prompt_engineering.md)."""
from components.common import lesson
from components.labs.prompt_engineering import prompt_bench_view
from components.labs.prompt_engineering import prompt_builder_view

lesson.show("prompt-engineering", demos={"prompt-builder": prompt_builder_view.show,
                                         "prompt-bench": prompt_bench_view.show})
