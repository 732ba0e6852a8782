"""User text shown as literal text inside Markdown (st.markdown, st.caption, labels), never as markup."""
from __future__ import annotations

import re

# Every character CommonMark, GitHub-flavoured Markdown or Streamlit's extensions (:red[...], :material/x:,
# $KaTeX$, ~strike~) can read as markup; a backslash before each makes Markdown print it as is.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$<>&=^\"'])")


def literal(text: object, max_chars: int | None = None) -> str:
    """`text` escaped so that Markdown shows exactly its characters, on one line (cut at max_chars with …)."""
    s = " ".join(str(text).split()) if not isinstance(text, str) or "\n" in text or "\r" in text else text
    if max_chars is not None and len(s) > max_chars:
        s = s[:max_chars] + "…"
    return _MARKUP.sub(r"\\\1", s)
