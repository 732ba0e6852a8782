"""Inference configuration — lesson page (content in lessons/04_inference_configuration.md)."""
from components.common import lesson
from components.labs.inference_configuration import sampling_lab_view

lesson.show("inference-configuration", demos={"model-size": sampling_lab_view.show_model_size,
                                              "sampling-lab": sampling_lab_view.show_lab,
                                              "generation-lab": sampling_lab_view.show_generation})
