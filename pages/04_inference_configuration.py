"""Inference configuration — lesson page (content in lessons/04_inference_configuration.md)."""
from components import lesson

lesson.show("inference-configuration")
