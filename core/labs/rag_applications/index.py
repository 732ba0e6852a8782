"""Vector indexes for page 11, with faiss (faiss-cpu).

Why faiss: it is the library most vector databases grew from, it is a single pip wheel with no server, and it has
both an exact index (`IndexFlatIP`: every vector compared, the answer brute-force cosine gives) and approximate
ones (`IndexHNSWFlat`: a navigable small-world graph) behind one interface, so the page can put them side by side.
An embedded database (LanceDB, Chroma) would add storage and metadata filters this lab does not need.

`KnowledgeIndex` holds the chunks of a knowledge base, their MiniLM vectors (length 1, so the inner product is
the cosine) and the exact index; the shipped corpus's index is saved under the cache folder, keyed by the corpus,
the chunk settings and the encoder, so a server builds it once. `hnsw` / `synthetic_vectors` / `compare` are the
"why vector databases exist" demo: exact search next to HNSW on a large corpus.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.labs.rag_applications.chunking import Chunk

FORMAT = 1


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float        # cosine similarity with the question
    rank: int           # 1-based


@dataclass
class KnowledgeIndex:
    chunks: list[Chunk]
    vectors: np.ndarray                     # (n, dim) float32, rows of length 1
    embed_seconds: float = 0.0
    build_seconds: float = 0.0
    loaded_from_disk: bool = False
    _index: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import faiss
        self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if self._index is None:
            started = time.perf_counter()
            index = faiss.IndexFlatIP(self.dim)
            if len(self.vectors):
                index.add(self.vectors)
            self._index = index
            self.build_seconds += time.perf_counter() - started

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 and self.vectors.shape[1] else 384

    @property
    def size_bytes(self) -> int:
        return int(self.vectors.nbytes)

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query: np.ndarray, k: int) -> list[Hit]:
        """The k chunks closest to a query vector (k is capped at the number of chunks)."""
        k = max(0, min(int(k), len(self.chunks)))
        if k == 0:
            return []
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        scores, ids = self._index.search(q, k)
        return [Hit(self.chunks[int(i)], float(s), rank) for rank, (s, i) in enumerate(zip(scores[0], ids[0]), 1)
                if i >= 0]

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine of the query with every chunk, in chunk order (for re-ranking and charts)."""
        return self.vectors @ np.asarray(query, dtype=np.float32).reshape(-1)


def build(chunks: Sequence[Chunk], embed: Callable[[list[str]], np.ndarray],
          cache_dir: Path | None = None, key: str | None = None) -> KnowledgeIndex:
    """Embed the chunks and index them; with `cache_dir` and `key`, load a saved index or save the new one."""
    folder = Path(cache_dir) / f"{key}-v{FORMAT}" if cache_dir and key else None
    if folder is not None:
        loaded = _load(folder, chunks)
        if loaded is not None:
            return loaded
    started = time.perf_counter()
    vectors = embed([c.text for c in chunks]) if chunks else np.zeros((0, 384), np.float32)
    index = KnowledgeIndex(list(chunks), np.asarray(vectors, np.float32), embed_seconds=time.perf_counter() - started)
    if folder is not None:
        _save(folder, index)
    return index


def _save(folder: Path, index: KnowledgeIndex) -> None:
    import faiss
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    try:
        np.save(tmp / "vectors.npy", index.vectors)
        faiss.write_index(index._index, str(tmp / "exact.faiss"))
        (tmp / "chunks.json").write_text(json.dumps({"format": FORMAT, "embed_seconds": index.embed_seconds,
                                                     "chunks": [asdict(c) for c in index.chunks]}), "utf-8")
        try:
            os.rename(tmp, folder)            # readers see the whole folder or none
        except OSError:                       # another process saved it first
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load(folder: Path, chunks: Sequence[Chunk]) -> KnowledgeIndex | None:
    import faiss
    try:
        meta = json.loads((folder / "chunks.json").read_text("utf-8"))
        saved = [Chunk(**c) for c in meta["chunks"]]
        if meta.get("format") != FORMAT or saved != list(chunks):
            return None
        vectors = np.load(folder / "vectors.npy")
        exact = faiss.read_index(str(folder / "exact.faiss"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):
        return None
    if exact.ntotal != len(saved) or vectors.shape[0] != len(saved):
        return None
    return KnowledgeIndex(saved, vectors, embed_seconds=float(meta.get("embed_seconds", 0.0)),
                          loaded_from_disk=True, _index=exact)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    """Top-k by plain numpy cosine (the reference the tests hold faiss to)."""
    scores = np.asarray(vectors, np.float64) @ np.asarray(query, np.float64).reshape(-1)
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k]]


# ---- exact vs approximate on a large corpus --------------------------------------------------------------------

def synthetic_vectors(n: int, dim: int = 384, topics: int = 200, seed: int = 0) -> np.ndarray:
    """n unit vectors in `topics` clusters (a topic centre plus noise), shaped like real embeddings of many
    documents on a few hundred subjects. Used where embedding n real texts would take minutes."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, dim)).astype(np.float32)
    labels = rng.integers(0, topics, size=n)
    vectors = centres[labels] + 0.9 * rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def hnsw(vectors: np.ndarray, m: int = 32, ef_construction: int = 64):
    """An HNSW graph over the vectors (inner product)."""
    import faiss
    index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(vectors, np.float32))
    return index


def flat(vectors: np.ndarray):
    import faiss
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, np.float32))
    return index


@dataclass(frozen=True)
class Comparison:
    n: int
    k: int
    ef_search: int
    exact_ms: float             # median milliseconds per query, one query at a time
    approx_ms: float
    recall: float               # share of the exact top-k that HNSW also returned
    exact_build_s: float
    approx_build_s: float
    exact_bytes: int
    approx_bytes: int


def _median_ms(index, queries: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), k)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return float(np.median(times)), np.array(found)


def recall_against(exact_ids: np.ndarray, approx_ids: np.ndarray) -> float:
    """Mean over queries of |approx top-k ∩ exact top-k| / k."""
    k = exact_ids.shape[1]
    return float(np.mean([len(set(a) & set(e)) / k for a, e in zip(approx_ids, exact_ids)]))


def serialized_bytes(index) -> int:
    import faiss
    return int(faiss.serialize_index(index).nbytes)


def compare(vectors: np.ndarray, queries: np.ndarray, k: int = 10, ef_search: int = 32, m: int = 32,
            built: tuple | None = None) -> tuple[Comparison, tuple]:
    """Exact search next to HNSW: latency per query, recall@k of HNSW against exact, build time and size.
    `built` (from a previous call) reuses both indexes, so moving the ef_search slider does not rebuild."""
    if built is None:
        started = time.perf_counter()
        exact = flat(vectors)
        exact_build = time.perf_counter() - started
        started = time.perf_counter()
        approx = hnsw(vectors, m=m)
        approx_build = time.perf_counter() - started
        built = (exact, approx, exact_build, approx_build, serialized_bytes(exact), serialized_bytes(approx))
    exact, approx, exact_build, approx_build, exact_bytes, approx_bytes = built
    approx.hnsw.efSearch = max(int(ef_search), k)
    exact_ms, exact_ids = _median_ms(exact, queries, k)
    approx_ms, approx_ids = _median_ms(approx, queries, k)
    return Comparison(len(vectors), k, int(ef_search), exact_ms, approx_ms, recall_against(exact_ids, approx_ids),
                      exact_build, approx_build, exact_bytes, approx_bytes), built
