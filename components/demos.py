"""The live demos each lesson places with its `<!-- demo: NAME -->` markers: section id → {name: draw function}.

One table for the lesson pages (app_pages/) and for the workshop's follow view, which draws the presenter's lesson
inside the Live page (components/workshop/participant_view.py). Each entry imports only its own lab's widgets, when
asked for. tests/test_layering.py checks the table against the markers in lessons/*.md.
"""
from __future__ import annotations

from collections.abc import Callable

Demos = dict[str, Callable[[], None]]


def _generative_ai() -> Demos:
    from components.labs.generative_ai import hallucination_view
    return {"hallucination": hallucination_view.show}


def _inside_transformer() -> Demos:
    from components.labs.inside_transformer import attention_view, embeddings_view, tokenizer_view
    return {"tokenizer": tokenizer_view.show, "embeddings": embeddings_view.show, "attention": attention_view.show}


def _prompt_engineering() -> Demos:
    from components.labs.prompt_engineering import prompt_bench_view, prompt_builder_view
    return {"prompt-builder": prompt_builder_view.show, "prompt-bench": prompt_bench_view.show}


def _inference_configuration() -> Demos:
    from components.labs.inference_configuration import sampling_lab_view
    return {"model-size": sampling_lab_view.show_model_size, "sampling-lab": sampling_lab_view.show_lab,
            "generation-lab": sampling_lab_view.show_generation}


def _model_cards_architectures() -> Demos:
    from components.labs.model_cards_architectures import architecture_view, model_card_view
    return {"model-cards": model_card_view.show, "architecture-families": architecture_view.show_families,
            "parameter-counts": architecture_view.show_parameters, "objectives": architecture_view.show_objectives}


def _compute_quantization() -> Demos:
    from components.labs.compute_quantization import (
        chinchilla_view,
        float_explorer_view,
        memory_calculator_view,
        quantization_view,
    )
    return {"memory_calculator": memory_calculator_view.show, "float_explorer": float_explorer_view.show,
            "quantization": quantization_view.show, "measured_memory": quantization_view.show_measured,
            "multi_gpu": memory_calculator_view.show_multi_gpu, "compute_budget": chinchilla_view.show_budget,
            "chinchilla": chinchilla_view.show_chinchilla}


def _fine_tuning_peft() -> Demos:
    from components.labs.fine_tuning_peft import dataset_view, lora_view, race_view
    return {"training-data": dataset_view.show, "race": race_view.show, "lora-counts": lora_view.show_counts,
            "adapters": lora_view.show_adapters}


def _evaluation_benchmarks() -> Demos:
    from components.labs.evaluation_benchmarks import (
        benchmark_view,
        contamination_view,
        leaderboard_view,
        metrics_view,
        summary_task_view,
    )
    return {"metric-counter": metrics_view.show, "metric-failures": metrics_view.show_failures,
            "summary-task": summary_task_view.show, "mini-benchmark": benchmark_view.show,
            "calibration": benchmark_view.show_calibration, "robustness": benchmark_view.show_robustness,
            "contamination": contamination_view.show, "benchmark-chart": leaderboard_view.show}


def _rlhf() -> Demos:
    from components.labs.rlhf import labeling_view, policy_view, reward_view
    return {"labeling": labeling_view.show, "reward-model": reward_view.show,
            "best-of-n": reward_view.show_best_of_n, "policy": policy_view.show, "toxicity": reward_view.show_toxicity}


def _lifecycle_optimization() -> Demos:
    from components.labs.lifecycle_optimization import distillation_view, kernels_view, lifecycle_view, pruning_view
    return {"lifecycle-map": lifecycle_view.show, "soft-labels": distillation_view.show_soft_labels,
            "distillation": distillation_view.show, "pruning": pruning_view.show, "real-kernels": kernels_view.show,
            "frontier": kernels_view.show_frontier}


def _rag_applications() -> Demos:
    from components.labs.rag_applications import (
        answer_view,
        index_view,
        injection_view,
        knowledge_view,
        retrieval_view,
        stack_view,
        tools_view,
    )
    return {"knowledge-base": knowledge_view.show, "retrieval": retrieval_view.show,
            "vector-index": index_view.show_index, "rag-answer": answer_view.show,
            "retrieval-metrics": index_view.show_metrics, "prompt-injection": injection_view.show,
            "calculator": tools_view.show_calculator, "react-trace": tools_view.show_react,
            "model-stack": stack_view.show}


def _quiz() -> Demos:
    from components.quiz import quiz_view
    return {"quiz": quiz_view.show}


_TABLE: dict[str, Callable[[], Demos]] = {
    "generative-ai": _generative_ai, "inside-transformer": _inside_transformer,
    "prompt-engineering": _prompt_engineering, "inference-configuration": _inference_configuration,
    "model-cards-architectures": _model_cards_architectures, "compute-quantization": _compute_quantization,
    "fine-tuning-peft": _fine_tuning_peft, "rlhf": _rlhf,
    "evaluation-benchmarks": _evaluation_benchmarks, "lifecycle-optimization": _lifecycle_optimization,
    "rag-applications": _rag_applications, "quiz": _quiz,
}


def for_section(section_id: str) -> Demos:
    """The demos of one lesson ({} for a lesson that is text only)."""
    build = _TABLE.get(section_id)
    return build() if build else {}


# Demos a follower sees at once: drawing them runs no model work of their own. Page 7's race and adapters and page 9's
# policy update read the server's training queue, so thirty followers watch the presenter's run live on one shared
# job; page 9's labeling shows the presenter's labeling round (its answers come from the database).
WATCH_AT_ONCE = {"fine-tuning-peft": {"race", "adapters", "training-data"}, "rlhf": {"labeling", "policy"},
                 "lifecycle-optimization": {"distillation"}}


def on_demand(section_id: str, demos: Demos) -> Demos:
    """The same demos, each behind a "Try it here" button: for the workshop's follow view.

    Thirty followers arriving on a demo-heavy lesson at once would each run every demo of it (page 2 alone loads
    both models, computes embeddings, attention maps and bertviz) on the one shared server, while they are mostly
    watching the presenter's screen. Behind a button, a follower's page is text only until they choose to try a
    demo themselves; once opened, a demo stays open for that session."""
    import streamlit as st

    def gated(name: str, draw: Callable[[], None]) -> Callable[[], None]:
        opened = f"live_demo_{section_id}_{name}"

        def show() -> None:
            if not st.session_state.get(opened):
                st.button(f"Try the {name.replace('-', ' ').replace('_', ' ')} demo here", key=f"{opened}_btn",
                          icon=":material/play_circle:", on_click=st.session_state.__setitem__, args=(opened, True))
                st.caption("The presenter is showing this demo; open it here to try it yourself.")
                return
            draw()
        return show
    light = WATCH_AT_ONCE.get(section_id, set())
    return {name: draw if name in light else gated(name, draw) for name, draw in demos.items()}
