"""Compute & quantization — lesson page (content in lessons/06_compute_quantization.md)."""
from components.labs.compute_quantization import chinchilla_view
from components.labs.compute_quantization import float_explorer_view
from components.common import lesson
from components.labs.compute_quantization import memory_calculator_view
from components.labs.compute_quantization import quantization_view

lesson.show("compute-quantization", demos={
    "memory_calculator": memory_calculator_view.show, "float_explorer": float_explorer_view.show,
    "quantization": quantization_view.show, "measured_memory": quantization_view.show_measured,
    "multi_gpu": memory_calculator_view.show_multi_gpu, "compute_budget": chinchilla_view.show_budget,
    "chinchilla": chinchilla_view.show_chinchilla})
