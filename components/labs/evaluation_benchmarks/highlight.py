"""Text with some of its words highlighted, as escaped HTML: the learner's text is always shown literally."""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

STYLE = """<style>
.ev-text{font-size:1.1rem;line-height:1.9;white-space:pre-wrap;overflow-wrap:anywhere;padding:.4rem .6rem;
border:1px solid #e0e0e0;border-radius:6px;background:#fafafa;color:#1b1b1b;max-height:22rem;overflow-y:auto}
.ev-hit{background:#FFE082;border-radius:3px;padding:0 1px;box-shadow:0 0 0 1px #FFB300 inset}
.ev-who{font-size:.85rem;opacity:.75;margin:.3rem 0 .1rem}
</style>"""

MAX_SHOWN = 20_000


def marked_html(text: str, spans: Sequence[tuple[int, int]], marked: Iterable[int], who: str = "") -> str:
    """`text` with spans[i] highlighted for each i in `marked`. Spans are (start, end) character offsets; a span
    with end <= start (a token the tokenizer changed beyond recognition) is skipped."""
    chosen = sorted({spans[i] for i in marked if 0 <= i < len(spans) and spans[i][1] > spans[i][0]})
    shown = text[:MAX_SHOWN]
    out, pos = [], 0
    for start, end in chosen:
        if start < pos or start >= len(shown):
            continue
        end = min(end, len(shown))
        out.append(html.escape(shown[pos:start]))
        out.append(f'<span class="ev-hit">{html.escape(shown[start:end])}</span>')
        pos = end
    out.append(html.escape(shown[pos:]))
    more = f"… ({len(text) - MAX_SHOWN:,} more characters not shown)" if len(text) > MAX_SHOWN else ""
    label = f'<div class="ev-who">{html.escape(who)}</div>' if who else ""
    return f'{label}<div class="ev-text">{"".join(out)}{html.escape(more)}</div>'
