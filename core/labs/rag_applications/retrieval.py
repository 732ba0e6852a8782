"""Retrieval on page 11: re-ranking, gold chunks, recall@k and MRR, and the shipped question set.

Definitions used on the page (each question has one gold *evidence* span in one document):
- a chunk is **gold** for a question when it holds at least half of the evidence span's characters (with
  overlap, two neighbouring chunks can both be gold);
- **recall@k** = the share of questions with a gold chunk among the top k results;
- **MRR** = the mean over questions of 1 / (rank of the first gold chunk), 0 when none is retrieved (here among
  the top `max_rank`, 50 by default).

Re-ranking: the top candidates from the vector search are re-ordered by **reciprocal rank fusion** of two
rankings, cosine similarity and BM25 (word overlap weighted by rarity). Word matching catches names and
numbers an embedding blurs ("form HR-7"); the embedding catches paraphrases word matching misses.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import yaml

from core.labs.rag_applications import chunking, index
from core.labs.rag_applications.chunking import Chunk
from core.labs.rag_applications.documents import DATA_DIR
from core.labs.rag_applications.index import Hit

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset("""a an and are as at be been but by can do does for from has have how i if in into is it its
me my of on or our so than that the their them then there these they this to was we were what when where which who
why will with you your""".split())
RRF_K = 60


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    document: str
    evidence: str


@dataclass(frozen=True)
class QuestionSet:
    questions: tuple[Question, ...]
    react: tuple[dict, ...]
    injection: dict
    hallucination: dict


def load_questions(path=DATA_DIR / "questions.yaml") -> QuestionSet:
    data = yaml.safe_load(open(path, encoding="utf-8"))
    questions = tuple(Question(id=str(q["id"]), question=str(q["question"]), answer=str(q["answer"]),
                               document=str(q["document"]), evidence=str(q["evidence"])) for q in data["questions"])
    return QuestionSet(questions, tuple(data.get("react") or ()), dict(data.get("injection") or {}),
                       dict(data.get("hallucination") or {}))


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


class BM25:
    """Okapi BM25 over the chunks' words (k1 = 1.5, b = 0.75)."""

    def __init__(self, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(words(t)) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df = Counter(w for d in self.docs for w in d)
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}

    def score(self, query: str, i: int) -> float:
        doc, length = self.docs[i], self.lengths[i]
        total = 0.0
        for w in set(words(query)):
            tf = doc.get(w, 0)
            if tf:
                norm = tf + self.k1 * (1 - self.b + self.b * length / (self.avg or 1))
                total += self.idf[w] * tf * (self.k1 + 1) / norm
        return total


def rerank(question: str, hits: Sequence[Hit], bm25: BM25) -> list[tuple[Hit, float, float]]:
    """Re-order hits by reciprocal rank fusion of their cosine rank and their BM25 rank:
    fused = 1/(60 + cosine rank) + 1/(60 + BM25 rank). Returns (hit with its new rank, BM25 score, fused score)."""
    lexical = {h.chunk.index: bm25.score(question, h.chunk.index) for h in hits}
    by_bm25 = sorted(hits, key=lambda h: (-lexical[h.chunk.index], h.rank))
    bm25_rank = {h.chunk.index: r for r, h in enumerate(by_bm25, 1)}
    fused = {h.chunk.index: 1 / (RRF_K + h.rank) + 1 / (RRF_K + bm25_rank[h.chunk.index]) for h in hits}
    ordered = sorted(hits, key=lambda h: (-fused[h.chunk.index], h.rank))
    return [(Hit(h.chunk, h.score, r), lexical[h.chunk.index], fused[h.chunk.index])
            for r, h in enumerate(ordered, 1)]


def evidence_span(text: str, evidence: str) -> tuple[int, int] | None:
    at = text.find(evidence)
    return (at, at + len(evidence)) if at >= 0 else None


def gold_chunks(chunks: Iterable[Chunk], document: str, span: tuple[int, int]) -> set[int]:
    """Indices of the chunks of `document` holding at least half of the evidence span's characters."""
    start, end = span
    need = (end - start) / 2
    return {c.index for c in chunks if c.doc == document and min(c.end, end) - max(c.start, start) >= need}


def first_gold_rank(ranked: Sequence[int], gold: set[int]) -> int | None:
    """1-based rank of the first gold chunk in a ranking of chunk indices (None when absent)."""
    return next((r for r, i in enumerate(ranked, 1) if i in gold), None)


def recall_at_k(rankings: Sequence[Sequence[int]], golds: Sequence[set[int]], k: int) -> float:
    if not rankings:
        return 0.0
    return sum(1 for ranked, gold in zip(rankings, golds) if set(ranked[:k]) & gold) / len(rankings)


def mrr(rankings: Sequence[Sequence[int]], golds: Sequence[set[int]]) -> float:
    if not rankings:
        return 0.0
    return sum(1 / r if (r := first_gold_rank(ranked, gold)) else 0.0
               for ranked, gold in zip(rankings, golds)) / len(rankings)


@dataclass(frozen=True)
class RetrievalScore:
    size: int
    overlap: int
    n_chunks: int
    recall: dict[int, float]        # k → recall@k
    mrr: float
    missing: tuple[str, ...]        # ids of questions with no gold chunk in the top max(k)


def evaluate(size: int, overlap: int, chunks: Sequence[Chunk], rankings: Sequence[Sequence[int]],
             golds: Sequence[set[int]], questions: Sequence[Question], ks: Sequence[int]) -> RetrievalScore:
    top = max(ks)
    missing = tuple(q.id for q, ranked, gold in zip(questions, rankings, golds) if not set(ranked[:top]) & gold)
    return RetrievalScore(size, overlap, len(chunks), {k: recall_at_k(rankings, golds, k) for k in ks},
                          mrr(rankings, golds), missing)


def score_index(idx, docs, questions: Sequence[Question], query_vectors, ks: Sequence[int] = (1, 3, 5, 10),
                max_rank: int = 50) -> RetrievalScore:
    """Retrieve for every question from a built index and score the rankings against the gold evidence (size and
    overlap are left 0: the caller knows them and fills them in with dataclasses.replace)."""
    text_of = {d.name: d.text for d in docs}
    rankings, golds = [], []
    for q, vector in zip(questions, query_vectors):
        rankings.append([h.chunk.index for h in idx.search(vector, max_rank)])
        span = evidence_span(text_of.get(q.document, ""), q.evidence)
        golds.append(gold_chunks(idx.chunks, q.document, span) if span else set())
    return evaluate(0, 0, idx.chunks, rankings, golds, questions, ks)


def score_settings(docs, spans_of, embed, questions: Sequence[Question], size: int, overlap: int,
                   ks: Sequence[int] = (1, 3, 5, 10), max_rank: int = 50, query_vectors=None) -> RetrievalScore:
    """Chunk `docs` with (size, overlap), embed and index them, retrieve for every question and score it.
    `query_vectors` (one row per question) may be passed to embed the questions once for many settings."""

    chunks = chunking.chunk_corpus(docs, spans_of, size, overlap)
    idx = index.build(chunks, embed)
    queries = embed([q.question for q in questions]) if query_vectors is None else query_vectors
    return replace(score_index(idx, docs, questions, queries, ks, max_rank), size=size, overlap=overlap)
