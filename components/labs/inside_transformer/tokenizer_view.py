"""Tokenizer demo: the learner's text split by both bundled tokenizers, side by side."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard, share
from components.common.decoder import insides_note
from components.common.token_chips import chips_html, token_rows

MAX_CHARS = 200_000     # longer text is cut here (with a note) before tokenizing
CHIPS_SHOWN = 400       # more chips than this make the browser sluggish; the counts still cover everything

EXAMPLES = {
    "A plain sentence": "Generative AI produces brand-new text, one token at a time.",
    "A rare word": "Pneumonoultramicroscopicsilicovolcanoconiosis is a very long word.",
    "Numbers and code": "In 2024, 3.14159 * 42 = 131.947; print(f'{x:>8}')",
    "Emoji": "I love pizza 🍕!! Family: 👨‍👩‍👧 and a flag 🇫🇷",
    "Other languages": "東京は日本の首都です。 مرحبا بالعالم. Привет, мир!",
    "Spaces and line breaks": "    indented line\n\ttab\nnew  line   with   gaps",
    "HTML is just text": "<b>bold</b> <script>alert('hi')</script>",
}


def _on_example(key: str) -> None:
    choice = st.session_state[f"{key}_example"]
    if choice in EXAMPLES:
        st.session_state[f"{key}_text"] = EXAMPLES[choice]


def _one_side(service, text: str, kind: str, heading: str, key: str) -> None:
    st.subheader(heading)
    try:
        with st.spinner("Loading the tokenizer…"):
            tokenization = service.tokenize(text, kind=kind)
    except Exception as exc:  # a broken model package must not take the page down
        errors.show("This tokenizer could not run", exc)
        return
    st.caption(f"{tokenization.algorithm} · vocabulary of {len(service.tokenizer(kind=kind)):,} tokens")
    a, b, c = st.columns(3)
    a.metric("Tokens", f"{tokenization.n_tokens:,}")
    b.metric("Characters", f"{tokenization.n_chars:,}")
    c.metric("Chars / token", f"{tokenization.chars_per_token:.2f}")
    share = tokenization.context_share
    st.progress(min(share, 1.0), text=f"Context window: {tokenization.n_tokens:,} of {tokenization.context_window:,} "
                                      f"tokens ({share:.1%})")
    if tokenization.overflow:
        st.warning(f"{tokenization.overflow:,} tokens do not fit in the {tokenization.context_window:,}-token "
                   "window: the model would never see them (they are struck through below).")
    if tokenization.n_tokens:
        st.html(chips_html(tokenization, CHIPS_SHOWN))
        if tokenization.n_tokens > CHIPS_SHOWN:
            st.caption(f"Drawing the first {CHIPS_SHOWN:,} of {tokenization.n_tokens:,} tokens to keep the page fast.")
        with st.expander("Token ids and vocabulary entries"):
            st.dataframe(token_rows(tokenization), hide_index=True, key=f"{key}_{kind}_table")
    if any(t.special for t in tokenization.tokens):
        st.caption("Dashed boxes are special tokens the tokenizer adds on its own.")


def show(key: str = "tokenizer") -> None:
    st.markdown("#### Try it: how do two real tokenizers split your text?")
    fields = [share.Field("text", f"{key}_text")]
    share.apply(key, fields)
    st.session_state.setdefault(f"{key}_text", EXAMPLES["A plain sentence"])
    st.selectbox("Start from an example", ["—"] + list(EXAMPLES), key=f"{key}_example",
                 on_change=_on_example, args=(key,))
    text = st.text_area("Your text", key=f"{key}_text", height=110,
                        help="Anything goes: other languages, emoji, code, HTML. Hover a token to see its id.")
    share.link(key, fields, "this text")
    # Whitespace alone is still text to split: the tokenizers have tokens for it.
    text = guard.usable_text(text, "Type some text above to see it split into tokens.", MAX_CHARS, used="tokenized",
                             allow_blank=True)
    if text is None:
        return
    st.caption("Whitespace is made visible: · is a space, ↵ a line break, ⇥ a tab; <F0><9F> are bytes of a "
               "character split over several tokens; ⟨U+200D⟩ is an invisible character.")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    insides_note(service, "The tokenizer demo", service.registry.default_decoder)
    left, right = st.columns(2, gap="large")
    with left:
        _one_side(service, text, "causal-lm", "SmolLM2 (decoder)", key)
    with right:
        _one_side(service, text, "sentence-encoder", "MiniLM (encoder)", key)
