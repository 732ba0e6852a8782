"""The decoder a learner picked, and how its tokens are drawn: shared by the prompting and sampling labs."""
from __future__ import annotations

import html

import streamlit as st

from components.common.model_status import load_with_progress
from components.common.palette import probability_style
from core.serving.tokens import make_visible

DECODER_KEY = "lab_decoder"          # the decoder the prompting and sampling demos use (set in "model size")


def current_decoder(service) -> str:
    """The registry name of the decoder the learner picked (the default one until they pick another)."""
    names = [n for n, spec in service.registry.models.items() if spec.kind == "causal-lm"]
    chosen = st.session_state.get(DECODER_KEY)
    return chosen if chosen in names else service.registry.default_decoder


def ensure_decoder(service, model: str) -> bool:
    """Load the chosen decoder with a progress bar (first use only). True when it can answer."""
    return load_with_progress(service, model, "causal-lm")


TOKEN_STYLE = """<style>
.lab-out{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:1.05rem;line-height:2;white-space:pre-wrap;
overflow-wrap:anywhere}
.lab-tok{border-radius:3px;padding:1px 1px;color:#1b1b1b}
.lab-stop{border:2px solid #c62828;border-radius:4px;padding:0 4px;color:#c62828;font-weight:600}
.lab-held{opacity:.55;text-decoration:line-through}
</style>"""


def coloured_tokens_html(tokens, stop_sequence: str = "", held: str = "") -> str:
    """Generated tokens as escaped spans coloured by the model's probability; a stop hit is marked."""
    spans = []
    for t in tokens:
        p = t.model_prob or t.prob
        tip = f"probability {p:.1%} · rank {t.rank} · id {t.id}"
        spans.append(f'<span class="lab-tok" style="{probability_style(p)}" title="{html.escape(tip, True)}">'
                     f'{html.escape(t.text)}</span>')
    if stop_sequence:
        spans.append(f'<span class="lab-stop" title="generation stopped here">■ stop: '
                     f'{html.escape(make_visible(stop_sequence))}</span>')
        if held.startswith(stop_sequence) and held[len(stop_sequence):]:
            spans.append(f' <span class="lab-held">{html.escape(held[len(stop_sequence):])}</span>')
    return f'{TOKEN_STYLE}<div class="lab-out">{"".join(spans) or "<em>(no text)</em>"}</div>'


def context_meter(used: int, window: int, label: str) -> None:
    share = used / window if window else 0.0
    st.progress(min(share, 1.0), text=f"Context window: {label} = {used:,} of {window:,} tokens ({share:.1%})")
