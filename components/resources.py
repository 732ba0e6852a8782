"""The only place that caches across reruns and sessions.

`model_service()` is created once per server process and shared by every browser
session; the heavy imports (torch, transformers) happen on its first call, so a page's
text is on screen before any of that starts.
"""
from __future__ import annotations

import streamlit as st

from core.lessons import Section, lesson_text, load_sections


@st.cache_resource(show_spinner=False)
def model_service():
    from core.model_service import ModelService
    from core.settings import Settings, enforce_offline_default

    enforce_offline_default()
    return ModelService(Settings.from_env())


def model_service_or_none():
    """The service, or None after showing why it could not start (bad registry, missing package, no GPU)."""
    try:
        return model_service()
    except Exception as exc:
        st.error(f"The model service could not start: {exc}")
        return None


@st.cache_data(show_spinner=False)
def sections() -> list[Section]:
    return load_sections()


@st.cache_data(show_spinner=False, ttl=10)
def lesson(section: Section) -> str:
    # A short TTL lets an instructor edit a lesson file and see it on the next rerun.
    return lesson_text(section)


# ---- embeddings and attention demos (page 2, issue 3) -------------------------------------------
# Results are cached per input, so moving a slider redraws without running the model again.
@st.cache_data(show_spinner=False, ttl=60)
def sentence_sets():
    from core.embeddings import load_sentence_sets
    return load_sentence_sets()


@st.cache_data(show_spinner=False, max_entries=32)
def token_embeddings(text: str, max_tokens: int):
    return model_service().token_embeddings(text, max_tokens=max_tokens)


@st.cache_data(show_spinner=False, max_entries=256)
def nearest_tokens(token_id: int, n: int):
    return model_service().nearest_tokens(token_id, n)


@st.cache_data(show_spinner=False, max_entries=32)
def sentence_embeddings(sentences: tuple[str, ...]):
    return model_service().embed(list(sentences))


@st.cache_data(show_spinner=False, max_entries=8)
def attentions(text: str, kind: str, max_tokens: int):
    return model_service().attentions(text, kind=kind, max_tokens=max_tokens)


@st.cache_data(show_spinner=False, max_entries=8)
def attentions_with_continuation(text: str, new_tokens: int, max_tokens: int):
    return model_service().attentions_with_continuation(text, new_tokens, max_tokens=max_tokens)


@st.cache_resource(show_spinner=False)
def bertviz_vendor():
    from core.bertviz_offline import load_vendor
    from core.settings import PROJECT_ROOT
    return load_vendor(PROJECT_ROOT / "components" / "static" / "vendor")


@st.cache_data(show_spinner=False, max_entries=16)
def bertviz_page(view: str, weights, tokens: tuple[str, ...], layer: int = 0, layers: tuple[int, ...] | None = None):
    """bertviz's self-contained head or model view page (rebuilding it takes ~0.3 s; hashing the weights ~10 ms)."""
    from core.bertviz_offline import head_view_html, model_view_html
    if view == "head":
        return head_view_html(weights, list(tokens), bertviz_vendor(), layer=layer)
    return model_view_html(weights, list(tokens), bertviz_vendor(), layers=None if layers is None else list(layers))


# ---- quiz and workshop (issue 6)

@st.cache_resource(show_spinner=False)
def quiz_store(url: str):
    """One store per database URL, shared by every session (keyed on the URL so tests can point elsewhere)."""
    from core.store import open_store

    return open_store(url)


@st.cache_resource(show_spinner=False, ttl=30)
def question_bank():
    # A short TTL lets an instructor edit lessons/quiz/*.yaml and see it within half a minute.
    from core.quiz import load_bank

    return load_bank(section_ids=[s.id for s in sections()])


# ---- architectures, objectives and model cards (page 5) and hallucination (page 1), issue 3 -------
@st.cache_data(show_spinner=False)
def arch_breakdowns():
    from core.architectures import all_breakdowns
    return all_breakdowns()


@st.cache_data(show_spinner=False, max_entries=16)
def arch_mean_attention(text: str, kind: str, max_tokens: int):
    """(tokens, (seq, seq) attention averaged over every layer and head, original length if cut)."""
    att = model_service().attentions(text, kind=kind, max_tokens=max_tokens)
    return att.tokens, att.weights.mean(axis=(0, 1)), att.truncated_from


@st.cache_data(show_spinner=False, max_entries=32)
def arch_next_tokens(prefix: str, n: int):
    service = model_service()
    dist = service.next_token_distribution(prefix)
    return dist.prompt_tokens, dist.top(n, service.token_texts)


@st.cache_data(show_spinner=False)
def arch_encoder_vocabulary():
    return model_service().vocabulary(kind="sentence-encoder")


@st.cache_data(show_spinner=False, ttl=300)
def model_card(name: str, measured_memory_bytes: int):
    from core.model_card import build_card
    return build_card(model_service().registry.get(name), measured_memory_bytes)


# ---- compute & quantization (page 6), issue 5 ---------------------------------------------------------
@st.cache_data(show_spinner=False)
def memory_known_models():
    from core.memory import known_models
    return known_models()


@st.cache_resource(show_spinner=False, max_entries=6)
def quantized_decoder(scheme: str, group_size: int):
    """A private copy of the decoder quantized with `scheme`, shared by every session (read-only, with a lock).

    Checks free memory before copying; raises core.quantization.MemoryShortError with a message when short."""
    from core.quantization import build_quantized, check_free_memory

    service = model_service()
    status = service.load(kind="causal-lm")
    check_free_memory(int(status.memory_bytes * 1.3), service.device)
    return build_quantized(service.decoder_copy, scheme, group_size, service.device)


@st.cache_data(show_spinner=False, max_entries=16)
def fp32_greedy(prompt_ids: tuple[int, ...], new_tokens: int, stop_ids: tuple[int, ...]):
    """The shared FP32 decoder's greedy answer, the reference for quantization (cached: it holds the model's lock)."""
    from core.quantization import greedy_generate

    with model_service().borrowed_decoder() as net:
        return greedy_generate(net, list(prompt_ids), new_tokens, set(stop_ids))


@st.cache_data(show_spinner=False, max_entries=4)   # each entry is tokens × 49,152 float32 (~20 MB for 100 tokens)
def fp32_logits(ids: tuple[int, ...]):
    """The shared FP32 decoder's logits for every position of `ids` (timed), the reference for quantization."""
    from core.quantization import forward_logits

    with model_service().borrowed_decoder() as net:
        return forward_logits(net, list(ids))


# ---- prompt engineering and sampling labs (issue 4) ---------------------------------------
# Logits for a token sequence are computed once per (model, ids); moving a sampling knob only
# re-processes these cached scores (core/sampling.py), so the chart redraws without the model.
@st.cache_data(show_spinner=False, max_entries=512)
def next_token_logits(ids: tuple[int, ...], model: str):
    return model_service().next_token_logits(list(ids), model)


@st.cache_data(show_spinner=False, max_entries=256)
def chat_ids(messages: tuple[tuple[str, str], ...], model: str) -> tuple[int, ...]:
    """Token ids of the templated chat prompt; `messages` as (role, content) pairs so they can be hashed."""
    return tuple(model_service().chat_ids([{"role": r, "content": c} for r, c in messages], model))


@st.cache_data(show_spinner=False, max_entries=256)
def chat_prompt_text(messages: tuple[tuple[str, str], ...], model: str) -> str:
    return model_service().chat_prompt([{"role": r, "content": c} for r, c in messages], model)


@st.cache_data(show_spinner=False)
def prompt_tasks():
    from core.prompting import tasks
    return tasks()


@st.cache_data(show_spinner=False)
def bench_set(name: str) -> dict:
    from core.prompting import load_set
    return load_set(name)


@st.cache_data(show_spinner=False, max_entries=4096)
def bench_row(set_name: str, task_id: str, index: int, shots: str, cot: bool, model: str):
    """One graded bench answer; greedy decoding makes it repeatable, so each (setting, item, model) runs once."""
    from core.prompting import BenchSetting, run_item

    service = model_service()
    generate = lambda messages, settings: service.generate(messages, settings, model=model).collect()
    return run_item(generate, prompt_tasks()[task_id], bench_set(set_name), index, BenchSetting(shots, cot))
