"""Live quantization of the bundled decoder, and measured vs estimated memory."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard
from components.common.charts import PNG_ONLY
from components.common.decoder import insides_note
from components.common.text import literal
from components.labs.compute_quantization import cache
from core.labs.compute_quantization import memory as mem

DEFAULT_PROMPT = "What is the capital of France? Answer in one sentence."
MAX_PROMPT_CHARS = 500      # keeps the (tokens × 49,152) logit arrays compared per scheme small


def _quantized(scheme: str, group_size: int):
    """The cached quantized copy, or None after a clear message."""
    from core.labs.compute_quantization import quantization as qz
    from core.serving import measure
    # Only INT4 depends on the group size: the other schemes share one copy whatever the slider says.
    try:
        return cache.quantized_decoder(scheme, group_size if scheme == "INT4" else qz.DEFAULT_GROUP_SIZE)
    except measure.MemoryShortError as exc:
        st.warning(str(exc))
    except Exception as exc:
        errors.show(f"{scheme} quantization failed", exc)
    return None


def _run(service, schemes: list[str], group_size: int, prompt: str, new_tokens: int) -> dict:
    """Quantize (cached), then measure every scheme against FP32 on the fixed text and on the prompt."""
    from core.serving import inspection, measure
    text_ids = tuple(service.encode_ids(measure.FIXED_TEXT))
    prompt_ids = service.chat_ids([{"role": "user", "content": prompt}])
    stop = service.stop_token_ids()
    ref_text = cache.fp32_logits(text_ids)
    ref_gen = cache.fp32_greedy(tuple(prompt_ids), new_tokens, tuple(sorted(stop)))
    # The prompt metric runs on prompt + FP32's answer, so every scheme sees the same tokens.
    prompt_seq = tuple(prompt_ids + list(ref_gen.ids))
    ref_prompt = cache.fp32_logits(prompt_seq)
    status = service.status(service.registry.default_decoder)
    rows = [{"scheme": "FP32", "size": status.memory_bytes, "estimate": mem.weights_bytes(status.parameters, "FP32"),
             "quantize s": 0.0, "tok/s (fixed text)": ref_text.tokens_per_second,
             "gen tok/s": ref_gen.tokens_per_second,
             "KL (fixed text)": 0.0, "top-1 (fixed text)": 1.0, "perplexity": measure.compare_logits(
                 ref_text.logits, ref_text.logits, list(text_ids)).perplexity,
             "KL (your prompt)": 0.0, "top-1 (your prompt)": 1.0}]
    answers = {"FP32": inspection.decode_ids(service, ref_gen.ids)}
    notes = {}
    progress = st.progress(0.0, text="Quantizing…")
    for i, scheme in enumerate(schemes):
        progress.progress(i / len(schemes), text=f"{scheme}: quantizing a copy of the model and measuring it…")
        q = _quantized(scheme, group_size)
        if q is None:
            continue
        fwd = measure.forward_logits(q.model, list(text_ids), q.lock)
        on_prompt = measure.forward_logits(q.model, list(prompt_seq), q.lock)
        gen = measure.greedy_generate(q.model, prompt_ids, new_tokens, stop, q.lock)
        a_text = measure.compare_logits(ref_text.logits, fwd.logits, list(text_ids))
        a_prompt = measure.compare_logits(ref_prompt.logits, on_prompt.logits, list(prompt_seq))
        rows.append({"scheme": scheme, "size": q.stored_bytes, "estimate": mem.weights_bytes(q.n_params, scheme),
                     "quantize s": q.seconds, "tok/s (fixed text)": fwd.tokens_per_second,
                     "gen tok/s": gen.tokens_per_second, "KL (fixed text)": a_text.kl,
                     "top-1 (fixed text)": a_text.top1, "perplexity": a_text.perplexity,
                     "KL (your prompt)": a_prompt.kl, "top-1 (your prompt)": a_prompt.top1})
        answers[scheme] = inspection.decode_ids(service, gen.ids)
        notes[scheme] = q.compute_note
    progress.empty()
    return {"rows": rows, "answers": answers, "notes": notes, "prompt": prompt, "group": group_size,
            "fixed_tokens": len(text_ids)}


def show(key: str = "quant") -> None:
    from core.labs.compute_quantization import quantization as qz
    st.markdown("#### Try it: quantize the model running in this app")
    st.markdown("This rounds a private copy of SmolLM2's weights to each precision (the shared model is never "
                "touched) and compares it with the FP32 original: how much smaller, how fast, how far its "
                "next-token probabilities drift (KL divergence, 0 = identical), how often it still picks the same "
                "top token, its perplexity on a fixed paragraph, and what it answers to your prompt.")
    schemes = st.multiselect("Precisions to compare with FP32", qz.SCHEMES, default=list(qz.SCHEMES),
                             key=f"{key}_schemes", format_func=lambda s: s)
    c1, c2 = st.columns([3, 1])
    prompt = c1.text_input("Your prompt", value=DEFAULT_PROMPT, key=f"{key}_prompt")
    group = c2.selectbox("INT4 group size", (32, 64, 128), index=1, key=f"{key}_group",
                         help="Weights sharing one scale: smaller groups are more accurate and cost more scales.")
    new_tokens = st.slider("Tokens to generate", 8, 64, 24, 8, key=f"{key}_tokens")
    with st.expander("What each precision means"):
        for s in ("FP32",) + qz.SCHEMES:
            st.markdown(f"- **{s}**: {qz.DESCRIPTIONS[s]}"
                        + (f" (group size {group} chosen above)" if s == "INT4" else ""))
    prompt = guard.usable_text(prompt, "Type a prompt above to compare the answers.", MAX_PROMPT_CHARS,
                               what="Your prompt")
    if prompt is None:
        return
    service = app_cache.model_service_or_none()
    if service is not None:
        insides_note(service, "Quantization", service.registry.default_decoder)
    if not schemes:
        st.info("Pick at least one precision to compare.")
        return
    if st.button("Quantize and compare", key=f"{key}_run", type="primary"):
        service = app_cache.model_service_or_none()
        if service is None:
            return
        try:
            with st.spinner("Loading the model (first time only)…"):
                service.load(kind="causal-lm")
            st.session_state[f"{key}_result"] = _run(service, list(schemes), int(group), prompt, int(new_tokens))
        except Exception as exc:
            errors.show("The comparison could not run", exc)
            return
    result = st.session_state.get(f"{key}_result")
    if not result:
        st.caption("The first run copies the model once per precision (a few seconds each on a CPU); later runs "
                   "reuse the copies.")
        return
    _draw(result, key)


def _kl(x: float) -> str:
    return f"{x:.1e}" if 0 < x < 1e-3 else f"{x:.4f}"


def _draw(result: dict, key: str) -> None:
    from core.labs.compute_quantization import quantization as qz
    rows = result["rows"]
    table = [{"precision": r["scheme"], "size (stored)": mem.format_bytes(r["size"]),
              "calculator": mem.format_bytes(r["estimate"]), "quantize s": f"{r['quantize s']:.1f}",
              "tok/s (fixed text)": f"{r['tok/s (fixed text)']:,.0f}", "generate tok/s": f"{r['gen tok/s']:,.1f}",
              "KL (fixed text)": _kl(r['KL (fixed text)']),
              "top-1 agree (fixed text)": f"{r['top-1 (fixed text)']:.1%}",
              "perplexity": f"{r['perplexity']:.2f}", "KL (your prompt)": _kl(r['KL (your prompt)']),
              "top-1 agree (your prompt)": f"{r['top-1 (your prompt)']:.1%}"} for r in rows]
    st.dataframe(table, hide_index=True, key=f"{key}_table")
    st.caption(f"Fixed text: one English paragraph, {result['fixed_tokens']} tokens. “Your prompt” compares the "
               "predictions over your chat prompt plus FP32's answer. INT4 group size "
               f"{result['group']}. Speeds are single measurements on this machine and vary run to run.")
    fig = go.Figure()
    names = [r["scheme"] for r in rows]
    fig.add_bar(x=names, y=[r["size"] / 1e6 for r in rows], name="size (MB)", marker_color="#1f77b4",
                text=[f"{r['size'] / 1e6:,.0f} MB" for r in rows], textposition="outside")
    fig.add_scatter(x=names, y=[r["KL (fixed text)"] for r in rows], name="KL vs FP32 (right axis)", yaxis="y2",
                    mode="lines+markers", marker=dict(size=11, color="#d62728"))
    fig.update_layout(title="Smaller weights, bigger drift", height=380, font=dict(size=14),
                      yaxis=dict(title="stored size, MB"), margin=dict(t=60, b=40, l=60, r=60),
                      yaxis2=dict(title="KL divergence (nats)", overlaying="y", side="right", rangemode="tozero",
                                  tickformat=".2g"),
                      legend=dict(orientation="h", y=-0.2))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    st.markdown(f"**Greedy answers to:** {literal(result['prompt'])}")
    answers = result["answers"]
    cols = st.columns(len(answers))
    for col, (scheme, text) in zip(cols, answers.items()):
        with col:
            st.markdown(f"**{scheme}**")
            st.text(text or "(no tokens)")
    for scheme, note in result["notes"].items():
        st.caption(f"{scheme}: {note}.")
    st.info(qz.QAT_TEXT)


def show_measured(key: str = "measured") -> None:
    from core.labs.compute_quantization import quantization as qz
    st.markdown("#### Try it: the calculator against the real model")
    st.markdown("The calculator multiplies parameters by bytes per parameter. Here the bundled SmolLM2 is loaded "
                "at each precision on this machine and its tensors are measured, next to the estimate. The "
                "difference is the lesson: what the simple formula leaves out.")
    if not st.button("Load at each precision and measure", key=f"{key}_run"):
        if f"{key}_result" not in st.session_state:
            return
    else:
        service = app_cache.model_service_or_none()
        if service is None:
            return
        try:
            with st.spinner("Loading the model (first time only)…"):
                status = service.load(kind="causal-lm")
        except Exception as exc:
            errors.show("The model could not load", exc)
            return
        rows = [{"precision": "FP32", "estimate": mem.weights_bytes(status.parameters, "FP32"),
                 "measured": status.memory_bytes, "running copy": status.memory_bytes, "rss": 0, "cuda": 0}]
        for scheme in ("FP16", "BF16", "INT8", "INT4"):
            with st.spinner(f"{scheme}…"):
                q = _quantized(scheme, qz.DEFAULT_GROUP_SIZE)
            if q is not None:
                rows.append({"precision": scheme, "estimate": mem.weights_bytes(q.n_params, scheme),
                             "measured": q.stored_bytes, "running copy": q.running_bytes,
                             "rss": q.rss_growth_bytes, "cuda": q.cuda_peak_bytes, "parts": q.stored_parts})
        st.session_state[f"{key}_result"] = {"rows": rows, "device": service.device_label,
                                             "params": status.parameters}
    result = st.session_state[f"{key}_result"]
    cuda = any(r["cuda"] for r in result["rows"])
    table = []
    for r in result["rows"]:
        row = {"precision": r["precision"], "calculator (N × bytes)": mem.format_bytes(r["estimate"]),
               "measured stored tensors": mem.format_bytes(r["measured"]),
               "gap": f"{(r['measured'] - r['estimate']) / r['estimate']:+.0%}",
               "runnable copy in memory": mem.format_bytes(r["running copy"]),
               "process memory grew by (copy + quantize)": mem.format_bytes(r["rss"]) if r["rss"] else "—"}
        if cuda:
            row["peak CUDA memory (copy + quantize)"] = mem.format_bytes(r["cuda"]) if r["cuda"] else "—"
        table.append(row)
    st.dataframe(table, hide_index=True, key=f"{key}_table")
    st.caption(f"Device: {result['device']}; {result['params']:,} parameters (the tied input/output embedding "
               "counted once). Each copy is built once and then reused by every session, so the "
               "process-memory column shows what building it cost, when that happened in this server process (— "
               "when it was built earlier, for example by the quantization demo, or when FP32 is the shared model). "
               "Process memory is noisy: other sessions allocate and free memory at the same time.")
    parts = next((r.get("parts") for r in result["rows"] if r["precision"] == "INT8" and r.get("parts")), None)
    st.markdown(
        "- **FP32, FP16, BF16 match the formula exactly**: every parameter is one number of 4 or 2 bytes.\n"
        "- **INT8 and INT4 are bigger than N × 1 or N × 0.5**: only the linear layers' weights become integers. "
        "The embedding table (28 M of the 135 M parameters, shared with the output layer) and the norms stay in "
        "16-bit, and every row (INT8) or group (INT4) carries its own scale."
        + (f" INT8 here: {', '.join(f'{k} {mem.format_bytes(v)}' for k, v in parts.items())}." if parts else "") + "\n"
        "- **The runnable INT8/INT4 copies hold float32 values**: without integer kernels the integers are "
        "de-quantized back to float to compute, so the copy in memory is the FP32 size (and a 16-bit copy briefly "
        "needs the FP32 size too, while it is converted).\n"
        "- **A real process needs more than its weights**: the framework, activations, the KV cache, and on a GPU "
        "the CUDA context (a few hundred MB) and the allocator's cache.")
