"""Evaluation & benchmarks — lesson page (content in lessons/08_evaluation_benchmarks.md)."""
from components import demos
from components.common import lesson

lesson.show("evaluation-benchmarks", demos=demos.for_section("evaluation-benchmarks"))
