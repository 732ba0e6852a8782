"""Benchmark contamination as n-gram overlap.

If a benchmark question appeared in a model's training text, a good score may be memory, not skill. Labs that
publish models check for it by looking for long word n-grams shared between each test item and the training data
(GPT-3's paper used 13-grams; a short question needs a shorter n). This module finds the shared n-grams between
one question and one document and marks the words they cover in both, for highlighting.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 200_000
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Word:
    text: str             # lowercased
    start: int            # span in the original text
    end: int


def words(text: str) -> list[Word]:
    """Words (runs of letters and digits in any script), lowercased, with their spans in `text`."""
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    return [Word(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class Overlap:
    n: int
    question_ngrams: int            # n-grams in the question
    shared_ngrams: int              # of those, how many also occur in the document
    question_marks: tuple[int, ...]  # indices of question words covered by a shared n-gram
    document_marks: tuple[int, ...]
    longest_run: int                # the longest stretch of question words found in the document, in words
    question_words: tuple[Word, ...]
    document_words: tuple[Word, ...]

    @property
    def share(self) -> float:
        """Share of the question's n-grams found in the document (0 when the question is shorter than n)."""
        return self.shared_ngrams / self.question_ngrams if self.question_ngrams else 0.0


def overlap(question: str, document: str, n: int = 8) -> Overlap:
    """The word n-grams `question` shares with `document`, with the words they cover on both sides."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError("n must be a positive whole number")
    if len(question) > MAX_CHARS or len(document) > MAX_CHARS:
        raise ValueError(f"each text is limited to {MAX_CHARS:,} characters")
    q, d = words(question), words(document)
    doc_starts: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(d) - n + 1):
        doc_starts.setdefault(tuple(w.text for w in d[i:i + n]), []).append(i)
    q_marks, d_marks, shared = set(), set(), 0
    for i in range(len(q) - n + 1):
        starts = doc_starts.get(tuple(w.text for w in q[i:i + n]))
        if starts:
            shared += 1
            q_marks.update(range(i, i + n))
            for s in starts:
                d_marks.update(range(s, s + n))
    return Overlap(n, max(0, len(q) - n + 1), shared, tuple(sorted(q_marks)), tuple(sorted(d_marks)),
                   _longest_common_run([w.text for w in q], [w.text for w in d]), tuple(q), tuple(d))


def _longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest run of words appearing contiguously in both.

    Dynamic programming over the document, visiting only the question positions holding the same word, so a long
    document costs about (its length × how often its words occur in the question)."""
    where: dict[str, list[int]] = {}
    for i, x in enumerate(a):
        where.setdefault(x, []).append(i)
    best, prev = 0, {}                      # prev[i]: length of the common run ending at a[i] and the previous b word
    for y in b:
        cur = {}
        for i in where.get(y, ()):
            cur[i] = prev.get(i - 1, 0) + 1
            best = max(best, cur[i])
        prev = cur
    return best
