"""Chunking measured in the encoder's own tokens.

all-MiniLM-L6-v2 reads at most 256 tokens, two of which are its [CLS] and [SEP] markers, so a chunk of more than
254 word-piece tokens loses its end before it is embedded. Sizes here are counted in exactly those tokens: the
caller passes the character span of every token the encoder makes of the document (`token_spans`, without the
special tokens), so the rule "no chunk beyond the limit" can be checked by re-tokenising a chunk's text.

How it cuts: a document is first split at its sections (a chunk never straddles two headings, so every chunk has
one citation), then each section is covered by windows of at most `size` tokens that start and end on word
boundaries; each window starts so that it repeats at most `overlap` tokens of the one before. Nothing of the
text is skipped: the windows of a section cover all of its tokens.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.labs.rag_applications.documents import Document

ENCODER_LIMIT = 256          # tokens MiniLM reads, [CLS] and [SEP] included
SPECIAL_TOKENS = 2
MAX_CONTENT_TOKENS = ENCODER_LIMIT - SPECIAL_TOKENS


class ChunkingError(ValueError):
    """Sizes that cannot make chunks (the message says which)."""


@dataclass(frozen=True)
class Chunk:
    doc: str            # document name
    index: int          # position in the whole chunk list
    start: int          # character offsets in the document's text
    end: int
    text: str
    n_tokens: int
    citation: str       # "handbook.md §3"

    @property
    def cut_by_encoder(self) -> bool:
        return self.n_tokens > MAX_CONTENT_TOKENS


def validate(size: int, overlap: int) -> None:
    if not isinstance(size, int) or not isinstance(overlap, int) or isinstance(size, bool):
        raise ChunkingError("Chunk size and overlap are whole numbers of tokens.")
    if size < 8:
        raise ChunkingError("A chunk needs at least 8 tokens.")
    if overlap < 0 or overlap >= size:
        raise ChunkingError(f"The overlap must be at least 0 and less than the chunk size ({size}); got {overlap}.")


def _units(text: str, spans: Sequence[tuple[int, int]], size: int) -> list[tuple[int, int, int]]:
    """Group tokens into words: (first char, end char, tokens). A token glued to the one before it (no gap, and
    both sides letters or digits, like "carry" + "##over") continues the word. A word longer than `size` tokens
    is left as single tokens so that it can still be split."""
    words: list[list[tuple[int, int]]] = []
    for start, end in spans:
        if end <= start:
            continue
        glued = (words and words[-1][-1][1] == start and start > 0 and text[start - 1].isalnum()
                 and text[start].isalnum())
        if glued:
            words[-1].append((start, end))
        else:
            words.append([(start, end)])
    units: list[tuple[int, int, int]] = []
    for word in words:
        if len(word) > size:
            units.extend((s, e, 1) for s, e in word)
        else:
            units.append((word[0][0], word[-1][1], len(word)))
    return units


def _windows(units: list[tuple[int, int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """[first unit, last unit + 1) windows covering every unit, each ≤ size tokens, overlapping ≤ overlap tokens."""
    windows, i, n = [], 0, len(units)
    while i < n:
        j, count = i, 0
        while j < n and count + units[j][2] <= size:
            count += units[j][2]
            j += 1
        windows.append((i, j))
        if j >= n:
            break
        k, back = j, 0                       # step back from j while the repeated part fits in `overlap`
        while k - 1 > i and back + units[k - 1][2] <= overlap:
            k -= 1
            back += units[k][2]
        i = k
    return windows


def chunk_document(doc: Document, token_spans: Sequence[tuple[int, int]], size: int, overlap: int,
                   first_index: int = 0) -> list[Chunk]:
    """Chunks of one document. `token_spans`: (start, end) character offsets of the encoder's tokens of
    `doc.text`, in order, special tokens left out."""
    validate(size, overlap)
    bounds = [s.start for s in doc.sections] + [len(doc.text)]
    chunks: list[Chunk] = []
    spans = sorted((int(s), int(e)) for s, e in token_spans)
    pos = 0
    for a, b in zip(bounds, bounds[1:]):
        section_spans = []
        while pos < len(spans) and spans[pos][0] < b:
            if spans[pos][0] >= a:
                section_spans.append(spans[pos])
            pos += 1
        units = _units(doc.text, section_spans, size)
        for i, j in _windows(units, size, overlap):
            start, end = units[i][0], units[j - 1][1]
            chunks.append(Chunk(doc=doc.name, index=first_index + len(chunks), start=start, end=end,
                                text=doc.text[start:end], n_tokens=sum(u[2] for u in units[i:j]),
                                citation=doc.cite(start)))
    return chunks


def chunk_corpus(docs: Sequence[Document], spans_of, size: int, overlap: int) -> list[Chunk]:
    """Chunks of every document, numbered across the corpus. `spans_of(doc)` gives a document's token spans."""
    validate(size, overlap)
    chunks: list[Chunk] = []
    for doc in docs:
        chunks.extend(chunk_document(doc, spans_of(doc), size, overlap, first_index=len(chunks)))
    return chunks


def overlap_tokens(a: Chunk, b: Chunk, token_spans: Sequence[tuple[int, int]]) -> int:
    """How many tokens two chunks of the same document share (for tests and the page's table)."""
    if a.doc != b.doc:
        return 0
    lo, hi = max(a.start, b.start), min(a.end, b.end)
    return sum(1 for s, e in token_spans if s >= lo and e <= hi and e > s)
