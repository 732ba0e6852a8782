"""Evaluation & benchmarks — lesson page (content in lessons/08_evaluation_benchmarks.md)."""
from components.common import lesson

lesson.show("evaluation-benchmarks")
