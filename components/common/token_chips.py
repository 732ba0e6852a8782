"""Token chips: each token as a coloured box, built as escaped HTML from plain data."""
from __future__ import annotations

import html

from core.serving.tokens import Tokenization, make_visible

# Soft colours that stay readable on a projector; neighbouring tokens always differ.
PALETTE = ("#FFE3A3", "#C8E6FF", "#D4F5C9", "#FFD0DC", "#E6D9FF", "#C9F2EE")

STYLE = """
<style>
.tok-wrap{line-height:2.2;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:1.05rem}
.tok{display:inline-block;border-radius:4px;padding:0 4px;margin:2px 2px;color:#1b1b1b;white-space:pre;max-width:100%;
overflow-wrap:anywhere}
.tok-special{border:2px dashed #7a4dd8;background:#f3edff !important;font-weight:600}
.tok-over{opacity:.35;text-decoration:line-through}
</style>
"""


def chips_html(tokenization: Tokenization, limit: int = 400) -> str:
    """HTML for the first `limit` tokens. All token text is escaped: the input may contain markup."""
    spans = []
    for i, tok in enumerate(tokenization.tokens[:limit]):
        classes = ["tok"]
        if tok.special:
            classes.append("tok-special")
        if i >= tokenization.context_window:
            classes.append("tok-over")
        title = f"#{i} · id {tok.id} · {tok.piece!r}" + (" · special token" if tok.special else "")
        spans.append(
            f'<span class="{" ".join(classes)}" style="background:{PALETTE[i % len(PALETTE)]}" '
            f'title="{html.escape(title, quote=True)}">{html.escape(make_visible(tok.text) or "∅")}</span>')
    more = tokenization.n_tokens - limit
    tail = f' <em>… and {more:,} more tokens</em>' if more > 0 else ""
    return f'{STYLE}<div class="tok-wrap">{"".join(spans)}{tail}</div>'


def token_rows(tokenization: Tokenization, limit: int = 2000) -> list[dict]:
    """One row per token for a table: position, visible text, id, vocabulary piece, special flag."""
    return [{"#": i, "token": make_visible(t.text), "id": t.id, "vocabulary entry": t.piece,
             "chars": f"{t.start}–{t.end}", "special": t.special}
            for i, t in enumerate(tokenization.tokens[:limit])]
