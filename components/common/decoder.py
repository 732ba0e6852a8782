"""The decoder a learner picked, and how its tokens are drawn: shared by the labs whose demos generate text.

A learner picks one decoder for every demo that only needs text and token probabilities (page 1's answer, page 3's
prompt builder and bench, page 4's generation, page 8's summaries, page 11's answers): a model in this process, or
one on a model server (`backend: openai` in the registry). The demos that read the model's insides (token counts,
attention, next-token scores, embeddings, training, quantization) need weights in this process: with a server model
picked they use `local_decoder` and say so in one caption (`insides_note`).
"""
from __future__ import annotations

import html

import streamlit as st

from components.common.model_status import load_with_progress
from components.common.palette import probability_style
from core.serving.tokens import make_visible

DECODER_KEY = "lab_decoder"          # the decoder the learner picked (not a widget's key: it outlives the page)
SERVER_HINT = " (model server)"
NO_PROBABILITIES = "This model server sends no token probabilities, so its answer is shown without colours."


def decoders(service) -> dict:
    """Every chat model of the registry, in this process or on a model server: name -> spec."""
    return {n: spec for n, spec in service.registry.models.items() if spec.kind == "causal-lm"}


def decoder_label(spec) -> str:
    """Its display name, with "(model server)" for a model that runs on a server."""
    return spec.label + (SERVER_HINT if spec.remote else "")


def current_decoder(service) -> str:
    """The registry name of the decoder the learner picked (the default one until they pick another)."""
    chosen = st.session_state.get(DECODER_KEY)
    return chosen if chosen in decoders(service) else service.registry.default_decoder


def is_remote(service, model: str) -> bool:
    return service.registry.get(model).remote


def _picked(widget_key: str) -> None:
    st.session_state[DECODER_KEY] = st.session_state[widget_key]


def pick_decoder(service, key: str, label: str = "Model that answers", always: bool = False) -> str:
    """A selectbox of every decoder when the registry has more than one, or `always` (a pick here is the pick on
    every demo); returns the learner's decoder."""
    names = list(decoders(service))
    current = current_decoder(service)
    if len(names) > 1 or always:
        widget = f"{key}_decoder"
        st.session_state[widget] = current        # follow a pick made on another demo or page
        st.selectbox(label, names, key=widget, on_change=_picked, args=(widget,),
                     format_func=lambda n: decoder_label(service.registry.get(n)),
                     help="A model on a model server writes the answer there and sends back its text (and token "
                          "probabilities when the server gives them); the demos that look inside a model keep "
                          "using the one in this app.")
    return current


def local_decoder(service) -> str:
    """The decoder for a demo that reads the model's weights: the learner's, unless it runs on a server; then the
    default one, or the first one in this process."""
    chosen = current_decoder(service)
    if not is_remote(service, chosen):
        return chosen
    if not is_remote(service, service.registry.default_decoder):
        return service.registry.default_decoder
    return next((n for n, spec in decoders(service).items() if not spec.remote), chosen)


def insides_note(service, what: str, model: str | None = None) -> str:
    """`model` (default: `local_decoder`), saying in one caption when the learner picked a server model ("The
    next-token chart needs the model's weights in this app; it shows SmolLM2-135M-Instruct.")."""
    model, chosen = model or local_decoder(service), current_decoder(service)
    if model != chosen and is_remote(service, chosen):
        st.caption(f"{what} needs the model's weights in this app; it shows {service.registry.get(model).label} "
                   f"({service.registry.get(chosen).label} runs on a model server).")
    return model


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


def coloured_tokens_html(tokens, stop_sequence: str = "", held: str = "", probabilities: bool = True) -> str:
    """Generated tokens as escaped spans coloured by the model's probability; a stop hit is marked.
    `probabilities=False` (a model server that sends none): the text without colours."""
    spans = []
    for t in tokens:
        if not probabilities:
            spans.append(html.escape(t.text))
            continue
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
