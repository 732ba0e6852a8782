"""Sidebar panel: where the models run, which are loaded, and a button to load them with progress."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from components.common import errors

# Material icons render everywhere (emoji need a colour-emoji font on the machine showing the page).
_STATE_ICON = {"ready": ":green[:material/check_circle:]", "loading": ":orange[:material/hourglass_top:]",
               "not loaded": ":gray[:material/radio_button_unchecked:]", "failed": ":red[:material/error:]"}


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:,.0f} MB" if n_bytes else "–"


def load_with_progress(service, name: str, kind: str) -> bool:
    """Load one model, drawing a progress bar from the service's messages. True when ready."""
    if service.is_ready(name, kind):
        return True
    bar = st.progress(0.0, text=f"Loading {service.registry.get(name).label}…")
    try:
        service.load(name, kind,
                     progress=lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message))
    except Exception as exc:
        bar.empty()
        errors.show(f"Could not load {name}", exc)
        return False
    bar.empty()
    return True


def show(key: str = "model_status") -> None:
    st.markdown("**Models**")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    st.caption(f"Running on {service.device_label}")
    statuses = service.statuses()
    for status in statuses:
        icon = _STATE_ICON[status.state.value]
        role = "decoder · chat" if status.kind == "causal-lm" else "encoder · embeddings"
        lines = [f"{icon} **{status.label}** — {role}", f"{status.state.value}"]
        spec = service.registry.models.get(status.name)
        if spec is not None and spec.backend == "openai":
            lines[-1] += " · on a model server"
        elif status.parameters:
            lines[-1] += f" · {status.parameters / 1e6:,.1f} M parameters · {_size(status.memory_bytes)} in memory"
        else:
            lines[-1] += f" · {_size(status.disk_bytes)} on disk"
        st.caption("  \n".join(lines))
        if status.state.value == "failed":
            st.caption(f":red[{status.message}]")
        elif status.state.value == "loading" and status.message:
            st.caption(status.message)  # another session is loading it right now
    running, waiting = service.running_generations, service.queued_generations
    if running or waiting:
        st.caption(f"{running} answer(s) being generated" + (f", {waiting} waiting" if waiting else ""))
    if not all(s.state.value == "ready" for s in statuses):
        if st.button("Load models now", key=f"{key}_load", help="Loads both models so later demos answer at once. "
                     "The first start on a machine converts the decoder (~20 s); later starts take a second."):
            for status in statuses:
                load_with_progress(service, status.name, status.kind)
            st.rerun()
