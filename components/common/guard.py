"""One guard for the learner's free text: empty text gets a hint, very long text is cut with a note.

    text = guard.usable_text(text, "Type a prompt above to see …", MAX_CHARS, what="Your prompt")
    if text is None:
        return
"""
from __future__ import annotations

import streamlit as st


def usable_text(value: object, empty_message: str, max_chars: int | None = None, *, what: str = "Your text",
                keep: str = "first", used: str = "used", warn: bool = True, allow_blank: bool = False) -> str | None:
    """`value` ready to use, or None after `st.info(empty_message)` when it is not text or has nothing to read.

    Text longer than `max_chars` is cut to its first (keep="first") or last (keep="last") `max_chars`
    characters, with `st.warning("{what} has N characters; only the first M are {used}.")` unless warn=False.
    Whitespace-only text counts as empty unless allow_blank (a tokenizer has something to show for it).
    The text is not stripped: leading spaces and line breaks are part of what a model reads."""
    if keep not in ("first", "last"):
        raise ValueError(f"keep must be 'first' or 'last', not {keep!r}")
    if not isinstance(value, str) or not (value if allow_blank else value.strip()):
        st.info(empty_message)
        return None
    if max_chars is not None and len(value) > max_chars:
        if warn:
            st.warning(f"{what} has {len(value):,} characters; only the {keep} {max_chars:,} are {used}.")
        value = value[:max_chars] if keep == "first" else value[-max_chars:]
    return value
