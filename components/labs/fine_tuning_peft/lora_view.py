"""Page 7 demos "lora-counts" (LoRA's parameter counts on any matrix and on SmolLM2's real modules) and "adapters"
(two LoRA adapters trained, saved as files, loaded back and swapped on one base model; one merged and checked)."""
from __future__ import annotations

import tempfile
from types import SimpleNamespace

import streamlit as st

from components.common import cache as app_cache
from components.common import errors, roles, training
from components.common.decoder import insides_note
from components.labs.fine_tuning_peft import cache

KEY = "ft_lora"
FULL_MODEL_MB = 538


def show_counts() -> None:
    from core.labs.fine_tuning_peft.methods import LORA_TARGETS, MethodError, lora_counts, lora_table
    st.markdown("#### Try it: count what LoRA trains")
    cols = st.columns(3)
    d = cols[0].number_input("d (rows of W)", 1, 100_000, 512, key=f"{KEY}_d")
    k = cols[1].number_input("k (columns of W)", 1, 100_000, 64, key=f"{KEY}_k")
    r = cols[2].number_input("rank r", 0, 4096, 8, key=f"{KEY}_r")
    try:
        full, lora = lora_counts(int(d), int(k), int(r))
    except MethodError as exc:
        st.warning(str(exc))
        return
    m = st.columns(3)
    m[0].metric("full fine-tuning trains d × k", f"{full:,}")
    m[1].metric("LoRA trains r × (d + k)", f"{lora:,}", help=f"B is {int(d)} × {int(r)} = {int(d) * int(r):,}, "
                                                           f"A is {int(r)} × {int(k)} = {int(r) * int(k):,}")
    m[2].metric("LoRA's share", f"{lora / full:.1%}", delta=f"{1 - lora / full:.0%} fewer", delta_color="off")
    if lora >= full:
        st.caption("At this rank LoRA trains as many numbers as the matrix itself: the saving needs r well below "
                   "d·k / (d + k).")
    st.markdown("**SmolLM2's real matrices** (30 layers each), at this rank:")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    insides_note(service, "Fine-tuning", service.registry.default_decoder)
    if not (service.is_ready() or st.toggle("Read the shapes from SmolLM2", key=f"{KEY}_real",
                                             help="Loads the model once for the server (a few seconds).")):
        return
    with errors.shown("The model's shapes could not be read"):
        config = SimpleNamespace(**cache.decoder_config())
        rank = max(1, int(r))
        rows = lora_table(config, rank, LORA_TARGETS)
        st.dataframe([{"module": row.module, "shape d × k": f"{row.shape[0]} × {row.shape[1]}",
                       "matrices": row.count, "weights": f"{row.full:,}", f"LoRA r={rank}": f"{row.lora:,}",
                       "share": f"{row.lora / row.full:.2%}"} for row in rows], hide_index=True, width="stretch")
        attention = sum(row.lora for row in rows if row.module in ("q_proj", "k_proj", "v_proj", "o_proj"))
        st.caption(f"The race's LoRA adapts the four attention projections: {attention:,} parameters at r = {rank}. "
                   "k_proj and v_proj are narrow (192 outputs) because SmolLM2 shares each key/value head among "
                   "three query heads (grouped-query attention).")


def _start() -> None:
    from core.labs.fine_tuning_peft import adapters

    def work(ctx, service):
        # The files live as long as the run: the result keeps their sizes and the zipped adapters in memory.
        with tempfile.TemporaryDirectory(prefix="genai-lab-adapters-") as folder:
            return adapters.swap_demo(service.decoder_copy, service.tokenizer(), folder,
                                      update=lambda phase: ctx.update(phase=phase), cancelled=ctx.cancelled)

    training.start("adapters", "adapters", work)


def _result(swap) -> None:
    sizes = {t: s.bytes for t, s in swap.saved.items()}
    cols = st.columns(3)
    for col, (task, size) in zip(cols, sizes.items()):
        col.metric(f"{task} adapter on disk", f"{size / 1e6:.1f} MB",
                   help=", ".join(f"{n}: {b:,} bytes" for n, b in swap.saved[task].files.items()))
    cols[2].metric("the full model", f"{FULL_MODEL_MB} MB")
    for task, blob in (swap.zipped or {}).items():
        st.download_button(f"Download the {task} adapter (.zip)", blob, file_name=f"smollm2-lora-{task}.zip",
                           mime="application/zip", key=f"{KEY}_dl_{task}")
    st.markdown(f"Loaded back from the files onto a fresh copy, both adapters give the same logits as when they were "
                f"trained (largest difference **{swap.reload_difference:.2g}**). Now the same reviews, one base "
                "model, and a switch between adapters:")
    st.dataframe(swap.replies, hide_index=True, width="stretch")
    st.caption("Each column is the model's most likely first word. The adapters were asked their own task's "
               "question; the original model, asked for the sentiment, starts a sentence instead of answering.")
    if swap.merge is not None:
        m = swap.merge
        st.markdown(f"**Merging**: W + (α / r)·B·A written into the weights once. Merged vs base + adapter: largest "
                    f"logit difference **{m.max_abs_difference:.1e}** (float rounding; the adapter itself moves the "
                    f"logits by up to {m.adapter_change:.1f}). Parameters after merging: {m.parameters_merged:,}, "
                    f"the same as the base's {m.parameters_base:,}.")
        st.dataframe([{"model": "base", "ms per forward pass": round(m.ms_base)},
                      {"model": "base + adapter (unmerged)", "ms per forward pass": round(m.ms_adapter)},
                      {"model": "merged", "ms per forward pass": round(m.ms_merged)}], hide_index=True)
        st.caption("Timed on one prompt, a few passes each: on a busy server the numbers wobble by 10–20%.")


def _panel() -> None:
    job = training.to_show("adapters")
    if job is None:
        return
    job.touch()
    snap = job.snapshot()
    if not snap.finished:
        where = (f"waiting: {snap.position - 1} run(s) ahead" if snap.state == "queued"
                 else snap.progress.get("phase", "starting"))
        st.info(f"Adapters ({training.whose(snap)}): {where}…")
        if training.can_cancel(job, snap):
            st.button("Cancel", key=f"{KEY}_cancel", on_click=job.cancel)
        return
    if snap.state == "failed":
        st.error(f"The adapters could not be trained: {snap.error}")
    elif snap.result is None:
        st.warning("The adapter run was cancelled.")
    else:
        _result(snap.result)


def show_adapters() -> None:
    st.markdown("#### Try it: adapters as files, swapped on one model")
    st.markdown("Train two LoRA adapters — one for sentiment, one for the review's aspect — on the same frozen "
                "SmolLM2, save each as a file, load both onto a fresh copy, and switch between them on the same "
                "reviews. Then merge one into the weights and check that nothing changed but the speed. About 45 "
                "seconds on a 2-core CPU; it waits its turn in the server's training queue.")
    if roles.start_button("Train, save and swap two adapters", f"{KEY}_start", icon=":material/swap_horiz:"):
        with errors.shown("The adapters could not start"):
            _start()
    training.live("adapters", KEY, _panel)
