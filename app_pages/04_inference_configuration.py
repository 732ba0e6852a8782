"""Inference configuration — lesson page (content in lessons/04_inference_configuration.md)."""
from components import demos
from components.common import lesson

lesson.show("inference-configuration", demos=demos.for_section("inference-configuration"))
