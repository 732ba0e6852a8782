"""core.labs.evaluation_benchmarks.metrics: the teaching ROUGE/BLEU agree with rouge_score and sacrebleu and explain
themselves."""
from __future__ import annotations

import ast
import math
import random
import re

import pytest
import sacrebleu
from rouge_score import tokenizers

from core.labs.evaluation_benchmarks import metrics
from core.labs.evaluation_benchmarks.metrics import (
    BLEU_SMOOTHING,
    BLEU_TOKENIZERS,
    ROUGE_KINDS,
    bleu,
    bleu_reference,
    rouge,
    rouge_reference,
    rouge_tokens,
)

TOL = 1e-9


# ---- the deck's worked examples -------------------------------------------------------------------------------
@pytest.mark.parametrize("candidate", ["it is very cold outside", "it is not cold outside"])
def test_deck_rouge_example(candidate):
    ref = "it is cold outside"
    r1 = rouge(candidate, ref, "rouge1")
    assert (r1.matches, r1.candidate_total, r1.reference_total) == (4, 5, 4)
    assert r1.precision == pytest.approx(0.8) and r1.recall == 1.0 and r1.f1 == pytest.approx(8 / 9)
    r2 = rouge(candidate, ref, "rouge2")
    assert (r2.matches, r2.candidate_total, r2.reference_total) == (2, 4, 3)
    assert r2.precision == pytest.approx(2 / 4) and r2.recall == pytest.approx(2 / 3)
    assert r2.matched_ngrams == [("it", "is"), ("cold", "outside")]
    rl = rouge(candidate, ref, "rougeL")
    assert rl.matches == 4 and rl.matched_ngrams == [("it",), ("is",), ("cold",), ("outside",)]
    assert rl.candidate_marks == [0, 1, 3, 4] and rl.reference_marks == [0, 1, 2, 3]


def test_deck_reordered_candidate_is_perfect_for_rouge1_only():
    assert rouge("outside it is cold", "it is cold outside", "rouge1").f1 == 1.0
    assert rouge("outside it is cold", "it is cold outside", "rougeL").matches == 3


def test_deck_bleu_short_candidate_gets_the_brevity_penalty():
    b = bleu("the cat is on", "the cat is on the mat")
    assert b.precisions == [1.0, 1.0, 1.0, 1.0]
    assert (b.candidate_length, b.reference_length) == (4, 6)
    assert b.brevity_penalty == pytest.approx(math.exp(1 - 6 / 4))
    assert b.score == pytest.approx(0.6065, abs=1e-4)
    assert b.score == pytest.approx(bleu_reference("the cat is on", "the cat is on the mat"), abs=TOL)


def test_deck_bleu_missing_4gram_without_smoothing_is_zero():
    b = bleu("the cat sat on the mat", "the cat is on the mat", smooth="none")
    assert b.counts == [5, 3, 1, 0] and b.totals == [6, 5, 4, 3]
    assert b.precisions == pytest.approx([5 / 6, 3 / 5, 1 / 4, 0 / 3])
    assert b.brevity_penalty == 1.0 and b.score == 0.0
    assert bleu("the cat sat on the mat", "the cat is on the mat", smooth="exp").score > 0


def test_clipping_is_counted_and_listed():
    b = bleu("the the the the the the the", "the cat is on the mat")
    assert b.counts[0] == 2 and b.totals[0] == 7
    assert ("the",) in b.clipped and b.clip_counts[("the",)] == (7, 2)
    assert b.candidate_marks[1] == [0, 1]          # the first two "the"s light up
    r = rouge("the the the the the the the", "the cat is on the mat", "rouge1")
    assert r.matches == 2 and r.matched_ngrams == [("the",), ("the",)]


# ---- tokenizer --------------------------------------------------------------------------------------------------
_CHARS = "aAbBzZ09 ,.;!?-'\"\n\tİKßΣσςé日本語ǅﬃ_"


@pytest.mark.parametrize("stem", [False, True])
def test_rouge_tokens_match_rouge_score_and_spans_point_at_the_source(stem):
    rng = random.Random(7)
    words = ["running", "runs", "Cats", "caresses", "ponies", "is", "a", "Generalization", "İstanbul", "x1", ""]
    reference = tokenizers.DefaultTokenizer(use_stemmer=stem)
    for _ in range(300):
        pieces = [rng.choice(_CHARS) if rng.random() < 0.6 else rng.choice(words) for _ in range(rng.randint(0, 30))]
        text = "".join(pieces)
        tokens = rouge_tokens(text, stem)
        assert [t.text for t in tokens] == reference.tokenize(text), text
        for t in tokens:
            source = re.sub(r"[^a-z0-9]", "", text[t.start:t.end].lower())
            assert t.start < t.end and (source == t.text or stem), (text, t)


def test_bleu_tokens_are_sacrebleus_and_located():
    text = "Hello, world! The cat's mat costs $3.50 (cheap)."
    for tok in BLEU_TOKENIZERS:
        tokens = metrics.bleu_tokens(text, tok)
        expected = sacrebleu.BLEU(tokenize=tok).tokenizer(text).split()
        assert [t.text for t in tokens] == expected
        assert all(t.located and text[t.start:t.end] == t.text for t in tokens)


def test_bleu_tokens_rewritten_by_13a_get_a_zero_width_span():
    tokens = metrics.bleu_tokens("&quot;Hi&quot; there", "13a")
    assert [t.text for t in tokens] == ['"', "Hi", '"', "there"]
    assert [t.located for t in tokens] == [False, True, False, True]
    assert tokens[1].start == 6 and tokens[3].start == 15


# ---- agreement with the reference libraries on generated pairs -----------------------------------------------
_VOCAB = ["the", "The", "THE", "cat", "cats", "sat", "sitting", "sits", "on", "mat", "mats", "a", "is", "was",
          "running", "runs", "ran", "dog", "dog's", "it", "It", "cold", "outside", "very", "not", "42", "3.14",
          "1,000", ",", ".", "!", "?", '"', "'", "-", "(", ")", "&", "&amp;", "café", "naïve", "日本", "İstanbul",
          "Straße", "x", "y", "e-mail"]
_SEPARATORS = [" ", " ", " ", " ", "", "  ", "\n", "\t"]


def _text(rng: random.Random, words: list[str] | None = None) -> str:
    if rng.random() < 0.07:
        return rng.choice(["", " ", "?!", "..."])
    if words is None:
        words = [rng.choice(_VOCAB) for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.3:                                   # repeated words, to exercise clipping
            words += [rng.choice(words)] * rng.randint(1, 3)
    out = ""
    for word in words:
        out += word + rng.choice(_SEPARATORS)
    return out if rng.random() < 0.5 else out.strip()


def _pair(seed: int) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    refs_words = [[rng.choice(_VOCAB) for _ in range(rng.randint(0, 12))] for _ in range(rng.randint(1, 3))]
    refs = [_text(rng, words) for words in refs_words]
    if rng.random() < 0.6:                                       # a noisy copy of a reference: plenty of overlap
        words = list(rng.choice(refs_words))
        for _ in range(rng.randint(0, 4)):
            action = rng.random()
            if action < 0.4 and words:
                words.pop(rng.randrange(len(words)))
            elif action < 0.8:
                words.insert(rng.randint(0, len(words)), rng.choice(_VOCAB))
            elif words:
                words[rng.randrange(len(words))] = rng.choice(words)
        candidate = _text(rng, words)
    else:
        candidate = _text(rng)
    return candidate, refs


PAIRS = [_pair(seed) for seed in range(220)]
PAIR_IDS = [f"seed{seed}" for seed in range(len(PAIRS))]


@pytest.mark.parametrize("candidate,refs", PAIRS, ids=PAIR_IDS)
def test_rouge_agrees_with_rouge_score(candidate, refs):
    for kind in ROUGE_KINDS:
        for stem in (False, True):
            ours = rouge(candidate, refs, kind, stem)
            expected = rouge_reference(candidate, refs, kind, stem)
            assert (ours.precision, ours.recall, ours.f1) == pytest.approx(expected, abs=TOL), (kind, stem)
            assert len(ours.matched_ngrams) == ours.matches
            if kind == "rouge1":
                assert len(ours.candidate_marks) == ours.matches == len(ours.reference_marks)
            if kind == "rougeL":
                assert len(ours.candidate_marks) == len(ours.reference_marks) == ours.matches
                assert [ours.candidate_tokens[j].text for j in ours.candidate_marks] == \
                       [ours.reference_tokens[i].text for i in ours.reference_marks]


@pytest.mark.parametrize("candidate,refs", PAIRS, ids=PAIR_IDS)
def test_bleu_agrees_with_sacrebleu(candidate, refs):
    lowercase = len(candidate) % 2 == 1
    for tok in BLEU_TOKENIZERS:
        for smooth in BLEU_SMOOTHING:
            ours = bleu(candidate, refs, tok, smooth, lowercase)
            expected = sacrebleu.sentence_bleu(candidate, refs, smooth_method=smooth, tokenize=tok,
                                               lowercase=lowercase)
            where = (tok, smooth, lowercase)
            assert ours.score == pytest.approx(expected.score / 100, abs=TOL), where
            assert ours.score == pytest.approx(bleu_reference(candidate, refs, tok, smooth, lowercase), abs=TOL)
            assert ours.smoothed_precisions == pytest.approx([p / 100 for p in expected.precisions], abs=TOL), where
            assert ours.brevity_penalty == pytest.approx(expected.bp, abs=TOL), where
            assert (ours.candidate_length, ours.reference_length) == (expected.sys_len, expected.ref_len), where
            if smooth != "add-k":                       # sacrebleu returns add-k's adjusted counts
                assert (ours.counts, ours.totals) == (expected.counts, expected.totals), where
            assert len(ours.candidate_marks[1]) == ours.counts[0], where
            assert [t.text for t in ours.candidate_tokens] == \
                   (metrics._sacrebleu_metric(tok, smooth, lowercase)._preprocess_segment(candidate).split())


def test_several_references_pick_the_best_f1_and_ties_keep_the_first():
    r = rouge("the cat sat", ["a dog ran", "the cat sat down", "the cat"], "rouge1")
    assert r.reference_index == 1
    tie = rouge("a b", ["a x", "b y"], "rouge1")             # both F1 = 0.5
    assert tie.reference_index == 0 and tie.matched_ngrams == [("a",)]


# ---- LCS ----------------------------------------------------------------------------------------------------
def test_bit_parallel_lcs_equals_the_table():
    rng = random.Random(3)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 15))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 15))]
        assert metrics.lcs_length(a, b) == metrics.lcs_table(a, b)[-1][-1]
        assert len(metrics.lcs_pairs(a, b)) == metrics.lcs_table(a, b)[-1][-1]


def test_long_texts_use_the_fast_lcs_and_say_so(monkeypatch):
    monkeypatch.setattr(metrics, "LCS_TABLE_LIMIT", 10)
    cand, ref = "the cat sat on the mat today", "a cat was on the mat"
    r = rouge(cand, ref, "rougeL")
    assert (r.precision, r.recall, r.f1) == pytest.approx(rouge_reference(cand, ref, "rougeL"), abs=TOL)
    assert r.matches == 4 and r.candidate_marks == [] and "long" in r.note


def test_a_100k_character_candidate_is_scored_whole():
    """A learner can paste a whole book: every metric counts all of it (its speed is in bench/evaluation.py)."""
    rng = random.Random(5)
    candidate = " ".join(rng.choice(_VOCAB) for _ in range(40_000))[:100_000]
    assert len(candidate) == 100_000
    ref = "the cat is on the mat"
    for kind in ROUGE_KINDS:
        r = rouge(candidate, ref, kind, stem=True)
        assert r.candidate_total > 10_000
    b = bleu(candidate, ref, smooth="exp")
    assert b.candidate_length > 10_000


# ---- edge cases: zeros with the totals showing why, or a clear error -------------------------------------------
@pytest.mark.parametrize("candidate,ref", [("", "it is cold"), ("it is cold", ""), ("", ""), ("?!...", "it is cold"),
                                           ("日本語です", "日本語です"), ("cat", "cat")])
def test_degenerate_inputs_give_zeros_not_errors(candidate, ref):
    for kind in ROUGE_KINDS:
        for stem in (False, True):
            r = rouge(candidate, ref, kind, stem)
            assert (r.precision, r.recall, r.f1) == pytest.approx(rouge_reference(candidate, ref, kind, stem), abs=TOL)
    for tok in BLEU_TOKENIZERS:
        for smooth in BLEU_SMOOTHING:
            assert bleu(candidate, ref, tok, smooth).score == pytest.approx(
                bleu_reference(candidate, ref, tok, smooth), abs=TOL)


def test_what_the_totals_say_about_degenerate_inputs():
    empty = rouge("", "it is cold", "rouge1")
    assert (empty.matches, empty.candidate_total, empty.reference_total, empty.f1) == (0, 0, 3, 0.0)
    assert "candidate" in empty.note
    assert rouge("?!...", "it is cold", "rougeL").candidate_total == 0
    non_latin = rouge("日本語です", "日本語です", "rouge1")          # rouge_score only reads a-z and 0-9
    assert (non_latin.candidate_total, non_latin.reference_total, non_latin.f1) == (0, 0, 0.0)
    assert bleu("日本語 です", "日本語 です").score == pytest.approx(1.0)  # 13a keeps every script
    short = rouge("cat", "cat", "rouge2")                              # fewer words than n: no bigrams
    assert (short.candidate_total, short.reference_total, short.f1) == (0, 0, 0.0)
    b = bleu("cat", "cat")                                             # effective order: only unigrams count
    assert b.totals == [1, 0, 0, 0] and b.orders_used == 1 and b.score == pytest.approx(1.0) and "effective" in b.note
    nothing = bleu("", "the cat")
    assert (nothing.candidate_length, nothing.reference_length) == (0, 2)
    assert (nothing.brevity_penalty, nothing.score) == (0.0, 0.0)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="add at least one reference"):
        rouge("cat", [], "rouge1")
    with pytest.raises(ValueError, match="add at least one reference"):
        bleu("cat", [])
    with pytest.raises(TypeError):
        rouge(42, "cat", "rouge1")
    with pytest.raises(TypeError):
        bleu("cat", ["ok", None])
    with pytest.raises(TypeError):
        rouge_tokens(b"bytes")
    with pytest.raises(TypeError):
        bleu("cat", 3)
    with pytest.raises(ValueError, match="rougeLsum"):
        rouge("cat", "cat", "rougeLsum")
    with pytest.raises(ValueError, match="tokenizer"):
        bleu("cat", "cat", tokenize="zh")
    with pytest.raises(ValueError, match="smoothing"):
        bleu("cat", "cat", smooth="laplace")


def test_the_module_stays_out_of_the_ui():
    tree = ast.parse(open(metrics.__file__, encoding="utf-8").read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name.split(".")[0] for name in imported} & {"streamlit", "components", "app_pages"}
