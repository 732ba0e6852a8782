"""Lifecycle & optimization — lesson page (content in lessons/10_lifecycle_optimization.md)."""
from components.common import lesson

lesson.show("lifecycle-optimization")
