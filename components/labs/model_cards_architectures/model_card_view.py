"""Page 5 demo: a model card for each bundled model, under the deck's five headings."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from components.common import errors
from components.labs.model_cards_architectures import cache
from core.labs.model_cards_architectures.model_card import HEADINGS, ModelCard, card_markdown

MAX_QUOTE_CHARS = 6_000   # a very long README section is cut (with a note) to keep the page light


def _section(card: ModelCard, number: int, heading: str, key: str) -> None:
    section = card.section(heading)
    st.markdown(f"##### {number}. {heading}")
    if section.fields:
        # st.table shows every row and wraps long values (a dataframe would scroll and cut them).
        st.table([{"fact": f.label, "value": f.value, "source": f.source} for f in section.fields], hide_index=True)
    for i, (title, text) in enumerate(section.quotes):
        with st.expander(f"Quoted from {title}", expanded=(heading != "Training details" and i == 0)):
            if len(text) > MAX_QUOTE_CHARS:
                st.caption(f"Showing the first {MAX_QUOTE_CHARS:,} of {len(text):,} characters.")
                text = text[:MAX_QUOTE_CHARS]
            st.markdown(text)   # Markdown only: raw HTML in the README is not rendered
    if section.not_stated:
        st.caption(f":material/info: {section.not_stated}")


def _short(path: str) -> str:
    """An installed file's path from its package on (the virtual environment's prefix says nothing)."""
    return path.split("site-packages/", 1)[-1]


def show(key: str = "model_cards") -> None:
    st.markdown("#### Try it: read the model cards of the two bundled models")
    st.markdown("These cards are assembled live from **what ships with each model** — the encoder's README and "
                "configuration files, the decoder's GGUF file header — plus facts computed here (parameters, "
                "layers, sizes). Every line says where it comes from. Where the shipped files are silent, the card "
                "says so instead of guessing: notice how much is missing, especially under *evaluation*.")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    specs = [s for s in service.registry.models.values()
             if s.name in (service.registry.default_decoder, service.registry.default_encoder)]
    tabs = st.tabs([s.label for s in specs])
    for tab, spec in zip(tabs, specs):
        with tab:
            status = service.status(spec.name)
            try:
                with st.spinner("Reading the shipped files…"):
                    card = cache.model_card(spec.name, status.memory_bytes)
            except Exception as exc:
                errors.show(f"The card for {spec.label} could not be built", exc)
                continue
            role = "decoder-only · generates text" if spec.kind == "causal-lm" else "encoder-only · sentence vectors"
            st.markdown(f"**{card.model}** — {role}")
            st.caption("Built from: " + " · ".join(_short(s) for s in card.sources))
            for number, heading in enumerate(HEADINGS, 1):
                _section(card, number, heading, f"{key}_{spec.name}")
            st.download_button("Download this card (Markdown)", card_markdown(card), file_name=f"{spec.name}-card.md",
                               mime="text/markdown", key=f"{key}_{spec.name}_download")
