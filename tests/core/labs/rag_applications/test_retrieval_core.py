"""Chunking, the faiss index, re-ranking and the retrieval metrics of page 11 (no model needed)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from core.labs.rag_applications import chunking, documents, index, retrieval
from core.labs.rag_applications.chunking import Chunk
from core.labs.rag_applications.index import Hit


def word_spans(text: str) -> list[tuple[int, int]]:
    """A stand-in tokenizer: words, with words of 9+ letters split into pieces of 4 (like word pieces)."""
    spans = []
    for m in re.finditer(r"\w+|[^\w\s]", text):
        a, b = m.span()
        while b - a > 8:
            spans.append((a, a + 4))
            a += 4
        spans.append((a, b))
    return spans


DOC = documents.from_markdown("guide.md", "# Guide\n\nIntro line here.\n\n## 1. First\n\n" +
                              " ".join(f"word{i} extraordinarily" for i in range(60)) +
                              "\n\n## 2. Second\n\nShort section.\n", "shipped")


@pytest.mark.parametrize("size,overlap", [(8, 0), (16, 4), (24, 12), (40, 0), (300, 100)])
def test_chunks_cover_the_text_within_the_limit_and_overlap(size, overlap):
    spans = word_spans(DOC.text)
    chunks = chunking.chunk_document(DOC, spans, size, overlap)
    covered = set()
    for c in chunks:
        inside = [s for s in spans if s[0] >= c.start and s[1] <= c.end]
        assert len(inside) == c.n_tokens <= size
        assert c.text == DOC.text[c.start:c.end]
        covered.update(inside)
    assert covered == set(spans)                     # every token is in some chunk
    for a, b in zip(chunks, chunks[1:]):
        if DOC.section_at(a.start) == DOC.section_at(b.start):
            assert chunking.overlap_tokens(a, b, spans) <= overlap
            assert b.start > a.start
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_overlap_is_used_when_words_allow_it():
    spans = word_spans(DOC.text)
    chunks = chunking.chunk_document(DOC, spans, 16, 6)
    same = [(a, b) for a, b in zip(chunks, chunks[1:]) if a.citation == b.citation]
    assert any(chunking.overlap_tokens(a, b, spans) >= 4 for a, b in same)


def test_chunks_never_cross_a_heading_and_cite_their_section():
    chunks = chunking.chunk_document(DOC, word_spans(DOC.text), 300, 0)
    assert [c.citation for c in chunks] == ["guide.md", "guide.md §1", "guide.md §2"]


def test_a_word_longer_than_a_chunk_is_split():
    doc = documents.from_markdown("w.md", "a " + "x" * 200 + " b", "upload")
    chunks = chunking.chunk_document(doc, word_spans(doc.text), 8, 2)
    assert all(c.n_tokens <= 8 for c in chunks) and chunks[-1].text.endswith("b")


def test_bad_sizes_are_refused_with_a_message():
    for size, overlap in [(4, 0), (64, 64), (64, -1), ("64", 0)]:
        with pytest.raises(chunking.ChunkingError):
            chunking.validate(size, overlap)


def test_cut_by_encoder_flag():
    c = Chunk("d", 0, 0, 1, "x", chunking.MAX_CONTENT_TOKENS + 1, "d")
    assert c.cut_by_encoder and not Chunk("d", 0, 0, 1, "x", chunking.MAX_CONTENT_TOKENS, "d").cut_by_encoder


def _fake_index(n=200, dim=16, seed=1):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    chunks = [Chunk("d", i, i, i + 1, f"t{i}", 3, "d") for i in range(n)]
    return index.KnowledgeIndex(chunks, v), v, rng


def test_exact_index_matches_brute_force_cosine():
    idx, v, rng = _fake_index()
    for _ in range(20):
        q = rng.standard_normal(16).astype(np.float32)
        q /= np.linalg.norm(q)
        hits = idx.search(q, 10)
        assert [h.chunk.index for h in hits] == index.brute_force(v, q, 10)
        assert [h.rank for h in hits] == list(range(1, 11))
        assert hits[0].score == pytest.approx(float(v[hits[0].chunk.index] @ q), abs=1e-5)


def test_k_larger_than_the_corpus_and_empty_corpus():
    idx, v, _ = _fake_index(n=3)
    assert len(idx.search(v[0], 50)) == 3
    assert idx.search(v[0], 0) == []
    empty = index.KnowledgeIndex([], np.zeros((0, 16), np.float32))
    assert empty.search(v[0], 5) == []


def test_index_is_saved_and_loaded_by_key(tmp_path):
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return np.eye(len(texts), 8, dtype=np.float32)
    chunks = [Chunk("d", i, 0, 1, f"text {i}", 2, "d") for i in range(5)]
    first = index.build(chunks, embed, tmp_path, "k1")
    second = index.build(chunks, embed, tmp_path, "k1")
    assert calls == [5] and second.loaded_from_disk and not first.loaded_from_disk
    assert np.array_equal(first.vectors, second.vectors)
    changed = [Chunk("d", i, 0, 1, f"other {i}", 2, "d") for i in range(5)]
    assert not index.build(changed, embed, tmp_path, "k1").loaded_from_disk     # stale folder is not trusted


def test_hnsw_recall_and_comparison():
    v = index.synthetic_vectors(3000, dim=32, topics=20, seed=3)
    comparison, built = index.compare(v[:2900], v[2900:], k=10, ef_search=64)
    assert comparison.n == 2900 and 0.8 <= comparison.recall <= 1.0
    again, _ = index.compare(v[:2900], v[2900:], k=10, ef_search=10, built=built)
    assert again.recall <= comparison.recall + 1e-9
    assert index.recall_against(np.array([[1, 2, 3]]), np.array([[3, 9, 1]])) == pytest.approx(2 / 3)


def test_recall_and_mrr_by_hand():
    rankings = [[4, 1, 7], [2, 8, 9], [5, 6, 3]]
    golds = [{1}, {9, 8}, {0}]
    assert retrieval.recall_at_k(rankings, golds, 1) == 0
    assert retrieval.recall_at_k(rankings, golds, 2) == pytest.approx(2 / 3)
    assert retrieval.recall_at_k(rankings, golds, 3) == pytest.approx(2 / 3)
    assert retrieval.mrr(rankings, golds) == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    assert retrieval.first_gold_rank([3, 4], {4}) == 2 and retrieval.first_gold_rank([3], {4}) is None


def test_gold_chunks_need_half_the_evidence():
    chunks = [Chunk("a.md", 0, 0, 50, "", 1, ""), Chunk("a.md", 1, 40, 100, "", 1, ""),
              Chunk("b.md", 2, 0, 100, "", 1, "")]
    assert retrieval.gold_chunks(chunks, "a.md", (45, 55)) == {0, 1}
    assert retrieval.gold_chunks(chunks, "a.md", (30, 70)) == {0, 1}
    assert retrieval.gold_chunks(chunks, "a.md", (60, 90)) == {1}


def test_bm25_and_rerank_prefer_word_matches():
    texts = ["the boat leaves on tuesday", "form L-2 for leave requests", "leave rules"]
    bm = retrieval.BM25(texts)
    assert bm.score("leave form", 1) > bm.score("leave form", 2) > bm.score("leave form", 0) == 0
    hits = [Hit(Chunk("d", i, 0, 1, t, 3, "d"), s, r) for i, (t, s, r) in enumerate(
        zip(texts, [0.9, 0.8, 0.7], [1, 2, 3]))]
    fused = retrieval.rerank("form L-2 leave", hits, bm)
    assert [h.chunk.index for h, _, _ in fused] == [1, 0, 2] and [h.rank for h, _, _ in fused] == [1, 2, 3]


def test_shipped_questions_find_their_evidence():
    data = retrieval.load_questions()
    for q in data.questions:
        doc = documents.shipped(q.document)
        assert retrieval.evidence_span(doc.text, q.evidence)
