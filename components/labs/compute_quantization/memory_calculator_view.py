"""GPU-memory calculator (will it fit?) and the multi-GPU picture (how would it be split?)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import errors
from components.common.charts import PNG_ONLY, dashed_reference
from components.common.text import literal
from components.labs.compute_quantization import cache
from core.labs.compute_quantization import memory as mem

COLOURS = {"weights": "#1f77b4", "FP32 master weights": "#9ecae1", "Adam optimizer (2 states)": "#ff7f0e",
           "gradients": "#2ca02c", "activations & temporaries": "#9467bd", "KV cache": "#d62728",
           "LoRA adapters + Adam + gradients": "#e377c2"}
FREE = "Type a parameter count"


def _known_models(key: str) -> list[mem.KnownModel]:
    try:
        with st.spinner("Counting the parameters of well-known models from their shipped configs…"):
            return cache.memory_known_models()
    except Exception as exc:   # shipped configs broken: the free input still works (a caption, not an error)
        errors.log.error("Known models could not be read", exc_info=exc)
        st.caption(f"Known models could not be read ({exc}); type a parameter count instead.")
        return []


def _pick_model(key: str, default_text: str = "1B", default_model: str = FREE):
    """(parameter count or None, KnownModel or None, label)."""
    models = _known_models(key)
    by_label = {f"{m.name} — {mem.format_count(m.parameters)}": m for m in models}
    options = [FREE] + list(by_label)
    index = next((i for i, o in enumerate(options) if o.startswith(default_model)), 0)
    choice = st.selectbox("Model", options, index=index, key=f"{key}_model",
                          help="Counts of the listed models come from their shipped config files "
                               "(or, for GPT-3/OPT/Chinchilla and the lesson's examples, their published size).")
    if choice != FREE:
        m = by_label[choice]
        st.caption(f"{m.parameters:,.0f} parameters · {m.source}")
        return m.parameters, m, m.name
    text = st.text_input("Parameters", value=default_text, key=f"{key}_params", max_chars=40,
                         help="Like 1B, 7B, 175 billion, 1.5e9 or 135M.")
    try:
        n = mem.parse_parameter_count(text)
    except mem.InputError as exc:
        st.info(f"{literal(exc)}.")   # the message quotes what was typed
        return None, None, ""
    st.caption(f"{n:,.0f} parameters")
    return n, None, mem.format_count(n)


def _gpu(key: str, default: str = "NVIDIA A100 80 GB") -> mem.Gpu:
    names = [g.name for g in mem.GPUS]
    name = st.selectbox("GPU", names, index=names.index(default), key=f"{key}_gpu")
    return mem.GPU_BY_NAME[name]


def _kv_shape(key: str, model: mem.KnownModel | None) -> tuple[mem.KvCacheShape | None, int, int]:
    if not st.toggle("Add the KV cache (keys and values kept for every token in the context)", key=f"{key}_kv"):
        return None, 0, 1
    a, b = st.columns(2)
    context = a.number_input("Context length (tokens)", 1, 1_000_000, 2048, step=256, key=f"{key}_context")
    batch = b.number_input("Batch (sequences at once)", 1, 4096, 1, key=f"{key}_batch")
    shape = model.kv_shape if model else None
    if model and shape is None:
        st.caption(f"{model.name} has no KV cache estimate here (an encoder, or its shape is not known).")
        return None, int(context), int(batch)
    with st.expander("Model shape for the KV cache"
                     + (f" (from {model.name})" if shape else " — set it for your model")):
        c1, c2, c3, c4 = st.columns(4)
        layers = c1.number_input("Layers", 1, 1000, shape.layers if shape else 32, key=f"{key}_layers")
        hidden = c2.number_input("Hidden size", 1, 100_000, shape.hidden_size if shape else 4096, key=f"{key}_hidden")
        heads = c3.number_input("Heads", 1, 1000, shape.heads if shape else 32, key=f"{key}_heads")
        kv = c4.number_input("Key/value heads", 1, 1000, shape.kv_heads if shape else 32, key=f"{key}_kvheads",
                             help="Grouped-query attention shares each key/value head among several query heads.")
        c5, c6 = st.columns(2)
        head_dim = c5.number_input("Head width (0 = hidden size ÷ heads)", 0, 100_000, shape.head_dim if shape else 0,
                                   key=f"{key}_headdim",
                                   help="Some models (T5's d_kv) give each head a width other than hidden ÷ heads.")
        cross = c6.toggle("Encoder-decoder (decoder layers also cache the encoder's keys and values)",
                          value=shape.cross_attention if shape else False, key=f"{key}_cross")
    try:
        return (mem.KvCacheShape(int(layers), int(hidden), int(heads), int(kv), head_dim=int(head_dim),
                                 cross_attention=bool(cross)), int(context), int(batch))
    except mem.InputError as exc:
        st.info(f"KV cache left out: {exc}.")
        return None, int(context), int(batch)


def stacked_chart(estimates: dict[str, mem.MemoryEstimate], gpu: mem.Gpu, title: str, chosen: str = "") -> go.Figure:
    parts = []
    for e in estimates.values():
        parts += [p for p in e.parts if p not in parts]
    fig = go.Figure()
    for part in parts:
        ys = [e.parts.get(part, 0) / mem.GB for e in estimates.values()]
        fig.add_bar(name=part, x=list(estimates), y=ys, marker_color=COLOURS.get(part),
                    marker_opacity=[1.0 if not chosen or p == chosen else 0.45 for p in estimates],
                    hovertemplate="%{x}: %{y:,.3g} GB<extra>" + part + "</extra>")
    totals = [e.total_gb for e in estimates.values()]
    _totals(fig, list(estimates), totals, [_gb(t) for t in totals])
    dashed_reference(fig, gpu.memory_gb, f"one {gpu.name}: {gpu.memory_gb:g} GB")
    fig.update_layout(barmode="stack", title=title, legend_traceorder="normal", yaxis_title="GB (10⁹ bytes)",
                      height=430, margin=dict(t=60, b=40, l=60, r=20), legend=dict(orientation="h", y=-0.15),
                      yaxis_range=[0, max(totals + [gpu.memory_gb]) * 1.18], font=dict(size=14))
    return fig


def _totals(fig: go.Figure, xs: list[str], ys: list[float], texts: list[str]) -> None:
    """Each bar's total above it on a white box, so the GPU's dashed line passing behind it cannot hide it."""
    for x, y, text in zip(xs, ys, texts):
        fig.add_annotation(x=x, y=y, text=text, showarrow=False, yanchor="bottom", font=dict(size=15),
                           bgcolor="rgba(255,255,255,0.9)", borderpad=2)


def _gb(x: float) -> str:
    return mem.format_bytes(x * mem.GB)


def show(key: str = "memcalc") -> None:
    st.markdown("#### Try it: will it fit on your GPU?")
    st.markdown("Pick a model or type a size, a precision and what you want to do with it. The bars add up the "
                "memory by component; the dashed line is one GPU. Start with 1B at FP32: the lesson's 4 GB to store "
                "and 24 GB to train.")
    c1, c2 = st.columns(2)
    with c1:
        n, model, label = _pick_model(key)
    with c2:
        gpu = _gpu(key)
    precision = st.radio("Precision", mem.PRECISIONS, horizontal=True, key=f"{key}_precision")
    mode = st.radio("What for", mem.MODES, horizontal=True, key=f"{key}_mode")
    kv_shape, context, batch = (None, 0, 1)
    lora = 0.01
    if mode == "inference":
        kv_shape, context, batch = _kv_shape(key, model)
    elif mode == "LoRA training":
        lora = st.slider("Trainable LoRA parameters (% of the model)", 0.1, 10.0, 1.0, 0.1, key=f"{key}_lora") / 100
    if n is None:
        return
    estimates, skipped = {}, []
    for p in mem.PRECISIONS:
        try:
            estimates[p] = mem.estimate(n, p, mode, kv_shape=kv_shape, context_length=context, batch=batch,
                                        lora_fraction=lora)
        except mem.InputError:
            skipped.append(p)
    if precision not in estimates:
        st.info(f"Full training directly in {precision} is not done in practice: gradients and Adam's updates need "
                "floating point. Choose LoRA training to train small adapters on a quantized model (QLoRA).")
        chosen = None
    else:
        chosen = estimates[precision]
    if chosen:
        gpus = mem.gpus_needed(chosen.total_bytes, gpu.memory_gb)
        m1, m2, m3 = st.columns(3)
        m1.metric(f"Total at {precision}", _gb(chosen.total_gb))
        m2.metric("Bytes per parameter", f"{sum(chosen.per_param.values()):.4g}")
        m3.metric(f"{gpu.name.replace('NVIDIA ', '')} needed", f"{gpus:,}")
        if gpus > 1:
            st.caption(f"{_gb(chosen.total_gb)} ÷ {gpu.memory_gb:g} GB = {chosen.total_gb / gpu.memory_gb:,.2f} "
                       f"→ at least {gpus:,} GPUs — a lower bound: splitting a model costs extra memory "
                       "(see the multi-GPU demo below).")
    fig = stacked_chart(estimates, gpu, f"Memory for {label} parameters — {mode}", precision)
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    if skipped:
        st.caption(f"{', '.join(skipped)}: no full training directly in integer weights — use LoRA training (QLoRA).")
    rows = [{"component": part,
             "bytes / parameter": f"{chosen.per_param[part]:.4g}" if part in chosen.per_param else "—",
             "memory": _gb(b / mem.GB)} for part, b in chosen.parts.items()] if chosen else []
    if rows:
        st.dataframe(rows, hide_index=True, key=f"{key}_table")
        st.caption("Assumptions: " + " · ".join(chosen.assumptions) + ". Real use adds a CUDA context "
                   "(~0.3–1 GB), framework buffers and fragmentation.")


def show_multi_gpu(key: str = "multigpu") -> None:
    st.markdown("#### Try it: splitting training over several GPUs")
    st.markdown("Data parallelism gives every GPU a full copy of the weights, gradients and optimizer states and "
                "splits only the batch — so those copies must fit on each GPU; only the activations shrink as "
                "each GPU's share of the batch gets smaller. If the weights, gradients and optimizer states alone "
                "overflow one GPU, no number of GPUs helps. Sharding "
                "(ZeRO stages 1–3, or PyTorch's FSDP) splits the optimizer states, then the gradients, then the "
                "weights themselves, so each GPU holds only its slice. The bars are what one GPU holds.")
    c1, c2 = st.columns(2)
    with c1:
        n, _, label = _pick_model(key, default_text="175B")
    with c2:
        gpu = _gpu(key)
    precision = st.radio("Training precision", ("FP32", "BF16"), horizontal=True, key=f"{key}_precision",
                         help="FP32 is the lesson's 24 bytes per parameter; BF16 is mixed precision.")
    if n is None:
        return
    fewest = mem.fewest_gpus(n, gpu.memory_gb, precision)
    default = fewest[mem.SHARDING[-1]] or 1
    gpus = st.number_input("Number of GPUs", 1, 100_000, min(max(default, 1), 100_000), key=f"{key}_count")
    zoom = st.toggle("Zoom to one GPU's memory", value=True, key=f"{key}_zoom",
                     help="Shows what fits under the dashed line; taller bars are cut and labelled.")
    per_gpu = mem.per_gpu_training_bytes(n, int(gpus), precision)
    fig = go.Figure()
    parts = list(next(iter(per_gpu.values())))
    names = [s.replace(": ", ":<br>") for s in per_gpu]
    for part in parts:
        fig.add_bar(name=part, x=names, y=[v[part] / mem.GB for v in per_gpu.values()], marker_color=COLOURS.get(part))
    totals = [sum(v.values()) / mem.GB for v in per_gpu.values()]
    top = max(totals + [gpu.memory_gb]) * 1.18
    if zoom:   # bars taller than the view are cut; their labels say so
        top = gpu.memory_gb * 1.6
    label_y = [min(t, top * 0.93) for t in totals]
    _totals(fig, names, label_y, [_gb(t) + (" ↑ (cut)" if t > top * 0.93 else "") for t in totals])
    dashed_reference(fig, gpu.memory_gb, f"{gpu.memory_gb:g} GB per GPU")
    fig.update_layout(barmode="stack", title=f"Per-GPU memory, {label} parameters on {int(gpus):,} GPUs ({precision})",
                      yaxis_title="GB per GPU", height=430, margin=dict(t=60, b=40, l=60, r=20), font=dict(size=14),
                      legend=dict(orientation="h", y=-0.25), yaxis_range=[0, top])
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    st.dataframe([{"scheme": s, "per GPU": _gb(t), "fits": "yes" if t <= gpu.memory_gb else "no",
                   f"fewest {gpu.memory_gb:g} GB GPUs": (f"{fewest[s]:,}" if fewest[s] else "never")}
                  for s, t in zip(per_gpu, totals)], hide_index=True, key=f"{key}_table")
    st.caption("Assumptions: the lesson's per-parameter breakdown; the global batch is fixed, so activations divide "
               "over the GPUs in every scheme. Sharding adds communication: each GPU fetches the slices it lacks "
               "when it needs them. Tensor and pipeline parallelism (splitting layers) are other ways to cut the "
               "same cake.")
