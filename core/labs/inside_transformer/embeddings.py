"""Vector arithmetic for the embedding demos: cosine similarity, PCA, semantic search, preset sentence sets.

Everything here works on plain numpy arrays, so it is tested on tiny hand-made vectors and on the
real models' embeddings alike. Inputs are never modified.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from core.serving.settings import PROJECT_ROOT

SENTENCES_PATH = PROJECT_ROOT / "lessons" / "data" / "sentences.yaml"
MAX_SENTENCES = 60          # more than this makes the similarity matrix unreadable on a projector


def _as_matrix(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows are vectors), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def normalize_rows(x) -> np.ndarray:
    """Each row divided by its length; all-zero rows stay zero (they have no direction)."""
    arr = _as_matrix(x, "vectors")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)           # (n, 1)
    return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)


def cosine_matrix(a, b=None) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b` (default: `a` itself). -> (n, m)"""
    left = normalize_rows(a)
    right = left if b is None else normalize_rows(b)
    if left.shape[1] != right.shape[1]:
        raise ValueError(f"vectors have different sizes: {left.shape[1]} and {right.shape[1]}")
    return np.clip(left @ right.T, -1.0, 1.0)                     # (n, m)


@dataclass(frozen=True)
class Projection:
    coords: np.ndarray       # (n, k) coordinates of each vector along the top k principal components
    explained: np.ndarray    # (k,) share of the total variance each component keeps (0..1)


def min_points_for(k: int) -> int:
    """n points span at most n - 1 directions, so k components need k + 1 distinct points."""
    return k + 1


def pca(x, k: int) -> Projection:
    """Project the rows of `x` onto their top-k principal components (SVD of the centred data).

    Signs are fixed so that each component's largest loading is positive, which makes the picture
    stable from one run to the next.
    """
    arr = _as_matrix(x, "vectors")
    if not 1 <= k <= arr.shape[1]:
        raise ValueError(f"k must be between 1 and {arr.shape[1]}")
    distinct = len(np.unique(arr, axis=0))
    if distinct < min_points_for(k):
        raise ValueError(f"a {k}-D projection needs at least {min_points_for(k)} different vectors; got {distinct}")
    centred = arr - arr.mean(axis=0)                                 # (n, d)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)           # u (n, r), s (r,), vt (r, d)
    flip = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])  # (r,)
    flip[flip == 0] = 1
    u, vt = u * flip, vt * flip[:, None]
    coords = u[:, :k] * s[:k]                                        # (n, k) = centred @ vt[:k].T
    total = float((s ** 2).sum())
    explained = (s[:k] ** 2) / total if total > 0 else np.zeros(k)
    return Projection(coords=coords, explained=explained)


@dataclass(frozen=True)
class Hit:
    index: int      # row of the searched matrix
    score: float    # cosine similarity with the query


def search(query, matrix, top: int | None = None) -> list[Hit]:
    """Rows of `matrix` ranked by cosine similarity with the vector `query`, best first (ties keep order)."""
    q = np.asarray(query, dtype=np.float64).reshape(1, -1)
    scores = cosine_matrix(q, matrix)[0]                             # (n,)
    order = np.argsort(-scores, kind="stable")
    if top is not None:
        order = order[:max(0, top)]
    return [Hit(index=int(i), score=float(scores[i])) for i in order]


def nearest_rows(matrix, row: int, n: int, norms: np.ndarray | None = None) -> list[Hit]:
    """The n rows most similar (cosine) to row `row` of `matrix`, the row itself left out.

    `norms` (the length of every row) can be passed in when the matrix is large and searched often.
    """
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ValueError("matrix must be 2-D")
    if not 0 <= row < len(m):
        raise IndexError(f"row {row} is outside 0..{len(m) - 1}")
    if norms is None:
        norms = np.linalg.norm(m, axis=1)                            # (rows,)
    v = m[row]
    scores = (m @ v) / np.maximum(norms * norms[row], 1e-12)       # (rows,)
    scores[row] = -np.inf
    n = max(0, min(n, len(m) - 1))
    top = np.argpartition(-scores, n)[:n] if n < len(m) - 1 else np.arange(len(m))
    top = top[np.argsort(-scores[top], kind="stable")][:n]
    return [Hit(index=int(i), score=float(scores[i])) for i in top]


# ---- a learner's word in the neighbours demo ---------------------------------------------------
@dataclass(frozen=True)
class WordForm:
    kind: str       # "start" (no space before the word) or "mid" (a space before it); "typed" when used as is
    text: str       # what is tokenized
    label: str      # when the model meets this form, in plain words


def word_forms(word: str) -> list[WordForm]:
    """The forms of a learner's word whose embedding neighbours the demo shows.

    SmolLM2's byte-level BPE keeps the space in front of a word inside the token, so "king" (a text that
    starts with it, or a piece of a longer word) and " king" (the usual mid-sentence form) are different
    vocabulary entries with different rows and different neighbours. A single word, with or without spaces
    around it, therefore gives both forms, no-space first. Several words are used as typed; blank gives [].
    """
    if not isinstance(word, str) or not word.strip():
        return []
    parts = word.split()
    if len(parts) > 1:
        return [WordForm("typed", word, "as you typed it")]
    bare = parts[0]
    return [WordForm("start", bare, "at the start of a text: no space before it"),
            WordForm("mid", " " + bare, "in the middle of a sentence: with the space before it")]


# ---- preset sentence sets (lessons/data/sentences.yaml) ------------------------------------------
@dataclass(frozen=True)
class SentenceSet:
    name: str
    description: str
    groups: dict[str, tuple[str, ...]]   # topic -> sentences

    @property
    def items(self) -> list[tuple[str, str]]:
        """(topic, sentence) pairs in file order."""
        return [(topic, s) for topic, sentences in self.groups.items() for s in sentences]


def load_sentence_sets(path: Path = SENTENCES_PATH) -> list[SentenceSet]:
    """Preset sentence sets, validated; the error names the file and the faulty entry."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sets"), list):
        raise ValueError(f"{path}: expected a top-level 'sets' list")
    out = []
    for i, entry in enumerate(data["sets"]):
        if (not isinstance(entry, dict) or not isinstance(entry.get("name"), str)
                or not isinstance(entry.get("groups"), dict)):
            raise ValueError(f"{path}: set #{i + 1} needs a 'name' and a 'groups' mapping")
        groups = {}
        for topic, sentences in entry["groups"].items():
            if (not isinstance(sentences, list) or not sentences
                    or not all(isinstance(s, str) and s.strip() for s in sentences)):
                raise ValueError(f"{path}: set '{entry['name']}', topic '{topic}' needs a list of non-empty sentences")
            groups[str(topic)] = tuple(s.strip() for s in sentences)
        out.append(SentenceSet(name=entry["name"], description=str(entry.get("description", "")), groups=groups))
    if not out:
        raise ValueError(f"{path}: no sentence sets")
    return out


def parse_sentence_lines(text: str, default_group: str = "your sentences") -> list[tuple[str, str]]:
    """Lines of 'topic | sentence' (or just 'sentence') -> (topic, sentence) pairs; blank lines skipped."""
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        topic, sep, sentence = line.partition("|")
        if sep and topic.strip() and sentence.strip():
            pairs.append((topic.strip(), sentence.strip()))
        else:
            pairs.append((default_group, line.strip()))
    return pairs


def format_sentence_lines(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{topic} | {sentence}" for topic, sentence in pairs)


def duplicates(sentences: list[str]) -> list[str]:
    """Sentences that appear more than once (in first-seen order)."""
    seen, dup = set(), []
    for s in sentences:
        if s in seen and s not in dup:
            dup.append(s)
        seen.add(s)
    return dup
