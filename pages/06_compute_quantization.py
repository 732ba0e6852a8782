"""Compute & quantization — lesson page (content in lessons/06_compute_quantization.md)."""
from components import lesson

lesson.show("compute-quantization")
