"""Compute & quantization — lesson page (content in lessons/06_compute_quantization.md)."""
from components import demos
from components.common import lesson

lesson.show("compute-quantization", demos=demos.for_section("compute-quantization"))
