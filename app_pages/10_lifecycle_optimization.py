"""Lifecycle & optimization — lesson page (content in lessons/10_lifecycle_optimization.md)."""
from components import demos
from components.common import lesson

lesson.show("lifecycle-optimization", demos=demos.for_section("lifecycle-optimization"))
