"""Cosine similarity, PCA, search and nearest neighbours: tiny hand-made vectors, then the real models."""
import numpy as np
import pytest

from core.labs.inside_transformer.embeddings import (
    cosine_matrix,
    duplicates,
    format_sentence_lines,
    load_sentence_sets,
    nearest_rows,
    normalize_rows,
    parse_sentence_lines,
    pca,
    search,
    word_forms,
)
from core.serving import inspection


def test_cosine_of_known_vectors():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [1.0, 1.0]])
    sims = cosine_matrix(a)
    assert sims.shape == (4, 4)
    assert np.allclose(np.diag(sims), 1)
    assert sims[0, 1] == pytest.approx(0) and sims[0, 2] == pytest.approx(-1)
    assert sims[0, 3] == pytest.approx(1 / np.sqrt(2))
    assert np.allclose(sims, sims.T)


def test_cosine_handles_zero_vectors_and_does_not_mutate():
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    before = a.copy()
    sims = cosine_matrix(a)
    assert sims[0, 0] == 0 and sims[0, 1] == 0          # a zero vector has no direction
    assert np.array_equal(a, before)
    assert np.allclose(normalize_rows([[3.0, 4.0]]), [[0.6, 0.8]])


@pytest.mark.parametrize("bad", [np.array([1.0, 2.0]), np.array([[1.0, np.nan]]), np.array([[np.inf, 0.0]])])
def test_cosine_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        cosine_matrix(bad)


def test_cosine_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="different sizes"):
        cosine_matrix(np.ones((2, 3)), np.ones((2, 4)))


def test_pca_matches_the_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    proj = pca(x, 2)
    centred = x - x.mean(0)
    values, vectors = np.linalg.eigh(np.cov(centred.T))
    top = vectors[:, ::-1][:, :2]                                # eigenvectors of the two largest eigenvalues
    expected = centred @ top
    for k in range(2):                                           # equal up to the sign of each axis
        assert np.allclose(np.abs(proj.coords[:, k]), np.abs(expected[:, k]), atol=1e-8)
    assert np.allclose(proj.explained, values[::-1][:2] / values.sum())
    assert proj.explained[0] > proj.explained[1]


def test_pca_is_deterministic_and_needs_enough_distinct_points():
    x = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert np.array_equal(pca(x, 2).coords, pca(x.copy(), 2).coords)
    with pytest.raises(ValueError, match="at least 4 different"):
        pca(x, 3)                                               # 3 points span only 2 directions
    with pytest.raises(ValueError, match="at least 3 different"):
        pca(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]), 2)  # duplicates count once
    with pytest.raises(ValueError, match="k must be"):
        pca(x, 0)


def test_search_ranks_by_cosine_and_keeps_ties_in_order():
    m = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    hits = search([1.0, 0.1], m)
    assert [h.index for h in hits] == [0, 3, 2, 1]
    assert hits[0].score == pytest.approx(hits[1].score)
    assert [h.index for h in search([0.0, 1.0], m, top=2)] == [1, 2]


def test_nearest_rows_leaves_the_row_itself_out():
    m = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    hits = nearest_rows(m, 0, 2)
    assert [h.index for h in hits] == [1, 2]
    assert hits[0].score == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    assert [h.index for h in nearest_rows(m, 0, 10)] == [1, 2, 3]
    assert nearest_rows(m, 0, 0) == []
    with pytest.raises(IndexError):
        nearest_rows(m, 4, 1)


def test_one_word_gives_both_forms_with_plain_labels():
    for typed in ("king", "  king ", " king"):                   # the spaces the learner typed do not matter
        forms = word_forms(typed)
        assert [(f.kind, f.text) for f in forms] == [("start", "king"), ("mid", " king")]
    start, mid = word_forms("King")
    assert "start of a text" in start.label and "no space" in start.label
    assert "middle of a sentence" in mid.label and "space before it" in mid.label
    assert [(f.kind, f.text) for f in word_forms("the king")] == [("typed", "the king")]
    assert word_forms("") == [] and word_forms("  \n") == [] and word_forms(None) == []


def test_sentence_lines_round_trip_and_duplicates():
    pairs = parse_sentence_lines("food | I like bread.\n\nJust a line\n | no topic\nsport|Goal!")
    assert pairs == [("food", "I like bread."), ("your sentences", "Just a line"),
                     ("your sentences", "| no topic"), ("sport", "Goal!")]
    assert parse_sentence_lines(format_sentence_lines(pairs[:1] + pairs[3:])) == pairs[:1] + pairs[3:]
    assert parse_sentence_lines("") == [] and parse_sentence_lines("  \n\n") == []
    assert duplicates(["a", "b", "a", "a", "c", "b"]) == ["a", "b"]


def test_preset_sentence_sets_load(tmp_path):
    sets = load_sentence_sets()
    assert len(sets) >= 3
    for s in sets:
        assert len(s.groups) >= 2 and len(s.items) >= 4
    bad = tmp_path / "bad.yaml"
    bad.write_text("sets:\n  - name: x\n    groups: {a: []}\n")
    with pytest.raises(ValueError, match="topic 'a'"):
        load_sentence_sets(bad)
    bad.write_text("nope: 1")
    with pytest.raises(ValueError, match="sets"):
        load_sentence_sets(bad)


# ---- the real models ---------------------------------------------------------------------------
@pytest.mark.model
def test_nearest_tokens_agree_with_the_numpy_version(decoder):
    king = decoder.tokenize(" king").tokens[0].id
    hits = inspection.nearest_tokens(decoder, king, 10)
    table = decoder._slot(None, "causal-lm").model.get_input_embeddings().weight.detach().numpy()
    expected = nearest_rows(table, king, 10)
    assert [i for i, _, _ in hits] == [h.index for h in expected]
    assert np.allclose([s for _, _, s in hits], [h.score for h in expected], atol=1e-5)
    words = {t.strip().lower() for _, t, _ in hits}
    assert "king" in words and ("queen" in words or "kings" in words)       # " King", " kings", " queen"...
    assert king not in [i for i, _, _ in hits]
    with pytest.raises(ValueError):
        inspection.nearest_tokens(decoder, 10**7)


@pytest.mark.model
def test_the_two_forms_of_king_are_different_tokens_with_different_neighbours(decoder):
    start, mid = word_forms("king")
    ids = {f.kind: decoder.encode_ids(f.text) for f in (start, mid)}
    assert len(ids["start"]) == 1 and len(ids["mid"]) == 1 and ids["start"] != ids["mid"]
    near = {kind: [t for _, t, _ in inspection.nearest_tokens(decoder, i[0], 10)] for kind, i in ids.items()}
    assert " queen" in near["mid"] and " King" in near["mid"]              # the word "king" as used mid-sentence
    assert " queen" not in near["start"] and "ked" in near["start"]       # word pieces: "ked, ks, kers, King"
    assert len(decoder.encode_ids("pizza")) > 1 and len(decoder.encode_ids(" pizza")) == 1


@pytest.mark.model
def test_sentence_search_and_pca_on_the_encoder(encoder):
    sentences = ["The cat sleeps on the sofa.", "A kitten naps on the couch.", "Stocks fell sharply today.",
                 "The market crashed this morning.", "I baked bread."]
    vectors = encoder.embed(sentences)
    sims = cosine_matrix(vectors)
    assert sims[0, 1] > 0.5 > sims[0, 2]                      # paraphrases close, unrelated far
    hits = search(encoder.embed(["my pet is asleep"])[0], vectors)
    assert hits[0].index in (0, 1)
    proj = pca(vectors, 2)
    assert proj.coords.shape == (5, 2) and 0 < proj.explained.sum() <= 1
    dup = encoder.embed(["Same text.", "Same text."])
    assert cosine_matrix(dup)[0, 1] == pytest.approx(1.0, abs=1e-6)
