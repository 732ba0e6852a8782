"""ROUGE and BLEU, re-implemented in plain Python so the learner can see what matched and the arithmetic.

Both metrics count overlapping words ("n-grams") between a candidate text (what the model wrote) and one or more
reference texts (what a person wrote):

* ROUGE-1 / ROUGE-2 count shared single words / word pairs. Recall = shared / n-grams in the reference,
  precision = shared / n-grams in the candidate, F1 = their harmonic mean.
* ROUGE-L uses the longest common subsequence (LCS): the longest run of words found in both texts in the same
  order, gaps allowed.
* BLEU multiplies the precisions of 1- to 4-grams (a geometric mean) and a brevity penalty for short candidates.

Every number here agrees (to 1e-9, in practice bit for bit) with the reference libraries: google's
`rouge_score` (the default tokenizer, `RougeScorer.score_multi` for several references) and `sacrebleu`
(`sacrebleu.sentence_bleu` with its defaults, smoothing chosen by the caller). `rouge_reference` and
`bleu_reference` call those libraries directly so the UI and the tests can show both side by side.

Nothing here imports streamlit.
"""
from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import sacrebleu
from nltk.stem import porter
from rouge_score import rouge_scorer

# ---------------------------------------------------------------------------------------------------------------
# Choices the UI offers, each with a one-line description
# ---------------------------------------------------------------------------------------------------------------
ROUGE_KINDS = ("rouge1", "rouge2", "rougeL")
ROUGE_DESCRIPTIONS = {
    "rouge1": "Shared single words (unigrams) between candidate and reference.",
    "rouge2": "Shared word pairs (bigrams): rewards getting the word order right locally.",
    "rougeL": "Longest common subsequence: the longest chain of words found in both texts in the same order.",
}

BLEU_TOKENIZERS = {
    "13a": "The standard WMT tokenizer (mteval-v13a): splits off punctuation, keeps words of any script.",
    "intl": "Like 13a but splits off every Unicode punctuation mark and symbol (better for non-English text).",
    "char": "Every character is its own token (useful for languages written without spaces).",
    "none": "No tokenization: split on spaces only, punctuation stays glued to words.",
}
BLEU_SMOOTHING = {
    "none": "No smoothing: if any n-gram order has zero matches, the whole score is 0.",
    "exp": "sacrebleu's default (NIST): a zero precision becomes 1/(2^k x total) for the k-th zero order.",
    "floor": "A zero match count is replaced by 0.1, so the score stays above 0.",
    "add-k": "Adds 1 to the matches and the totals of 2-, 3- and 4-grams (Lin & Och 2004).",
}
BLEU_MAX_ORDER = 4
# ROUGE-L builds an (n+1) x (m+1) table. Up to this many cells we keep it and read the matched words back out of
# it (for highlighting); above it only the LCS *length* is computed, with a fast bit-parallel method.
LCS_TABLE_LIMIT = 1_000_000
# BLEU: a token the tokenizer rewrote (e.g. "&quot;" -> '"') is looked for at most this many characters ahead.
_LOCATE_SLACK = 16


@dataclass(frozen=True)
class Token:
    """A token and where it came from in the ORIGINAL text: text[start:end] (for highlighting).

    For ROUGE `text` is the normalised token (lowercased, maybe stemmed), so it can differ from text[start:end].
    For BLEU a token the tokenizer changed beyond recognition (e.g. the HTML entity "&quot;" becomes '"') cannot
    be found in the original text; it gets a zero-width span (start == end) at the place it should be.
    """

    text: str
    start: int
    end: int

    @property
    def located(self) -> bool:
        """True when the token was found in the original text (its span is not empty)."""
        return self.end > self.start


# ---------------------------------------------------------------------------------------------------------------
# Input checks shared by both metrics
# ---------------------------------------------------------------------------------------------------------------
def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    return value


def _as_references(references: str | Iterable[str]) -> list[str]:
    """One reference string, or a list of them, as a list. An empty list is an error: there is nothing to score
    against."""
    if isinstance(references, str):
        return [references]
    if not isinstance(references, Iterable):
        raise TypeError(f"references must be a string or a list of strings, not {type(references).__name__}")
    refs = list(references)
    if not refs:
        raise ValueError("No reference text: add at least one reference.")
    for i, ref in enumerate(refs):
        _check_text(ref, f"reference {i + 1}")
    return refs


def _lower_with_origin(text: str) -> tuple[str, Sequence[int]]:
    """`text.lower()` plus, for every character of the result, the index of the original character it came from.

    Lowercasing almost never changes the length, and then the map is simply 0, 1, 2, ... A few characters grow
    ("İ" becomes "i" + a combining dot), and then the map is built character by character.
    """
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered, range(len(text))
    origin: list[int] = []
    for i, char in enumerate(text):
        origin.extend([i] * len(char.lower()))
    return "".join(char.lower() for char in text), origin


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """All runs of n consecutive tokens, in order: "a b c" has the bigrams (a, b) and (b, c).
    A text with fewer than n tokens has none."""
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def _mark_first_occurrences(ngrams: list[tuple[str, ...]], allowed: dict[tuple[str, ...], int], n: int,
                            ) -> tuple[list[int], list[tuple[int, tuple[str, ...]]]]:
    """Walk the n-grams left to right and keep the first `allowed[g]` occurrences of each n-gram g.

    Returns the token indices those occurrences cover (sorted, each once) and the kept (position, n-gram) pairs.
    This is how a clipped count is turned into something to highlight: if "the" may match twice, the first two
    "the"s light up."""
    left = dict(allowed)
    marks: set[int] = set()
    kept: list[tuple[int, tuple[str, ...]]] = []
    for pos, gram in enumerate(ngrams):
        if left.get(gram, 0) > 0:
            left[gram] -= 1
            kept.append((pos, gram))
            marks.update(range(pos, pos + n))
    return sorted(marks), kept


# ---------------------------------------------------------------------------------------------------------------
# ROUGE
# ---------------------------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_VALID_TOKEN_RE = re.compile(r"^[a-z0-9]+$")   # rouge_score's final check, kept for stemmer output


@functools.lru_cache(maxsize=1)
def _porter() -> porter.PorterStemmer:
    return porter.PorterStemmer()          # the same stemmer (and mode) rouge_score's DefaultTokenizer uses


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    return _porter().stem(word)


def rouge_tokens(text: str, stem: bool = False) -> list[Token]:
    """Split text into words exactly like rouge_score's default tokenizer, keeping where each word came from.

    The rules: lowercase everything; anything that is not a-z or 0-9 separates words (so punctuation, accents
    and non-Latin scripts disappear: "café" gives "caf", "日本" gives nothing); with stem=True words longer
    than 3 characters are cut to their Porter stem ("running" -> "run").
    """
    _check_text(text, "text")
    lowered, origin = _lower_with_origin(text)
    tokens = []
    for match in _TOKEN_RE.finditer(lowered):
        word = match.group()
        if stem and len(word) > 3:
            word = _stem(word)
        if _VALID_TOKEN_RE.match(word):
            tokens.append(Token(word, origin[match.start()], origin[match.end() - 1] + 1))
    return tokens


@dataclass(frozen=True)
class RougeResult:
    """One ROUGE score with everything needed to explain it.

    precision = matches / candidate_total, recall = matches / reference_total,
    f1 = 2 * precision * recall / (precision + recall) (0 when both are 0).
    `matched_ngrams` has one entry per match (so len(matched_ngrams) == matches); for rougeL each entry is a
    1-tuple holding one word of the LCS, in order. Marks are indices into `candidate_tokens` /
    `reference_tokens`. `note` says in words why a score is 0 or why highlighting is missing ("" when nothing
    needs saying).
    """

    kind: str
    matches: int
    candidate_total: int
    reference_total: int
    precision: float
    recall: float
    f1: float
    candidate_marks: list[int]
    reference_marks: list[int]
    matched_ngrams: list[tuple[str, ...]]
    reference_index: int
    candidate_tokens: list[Token] = field(default_factory=list)
    reference_tokens: list[Token] = field(default_factory=list)
    note: str = ""


def _f1(precision: float, recall: float) -> float:
    """Harmonic mean, written as rouge_score writes it (same operations, so the same float)."""
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def _rouge_n(candidate: list[Token], reference: list[Token], n: int) -> RougeResult:
    """ROUGE-N: count the n-grams the texts share, each at most as often as it occurs in both ("clipping").

    precision = shared / candidate n-grams, recall = shared / reference n-grams (rouge_score divides by at
    least 1, so an empty text gives 0 rather than an error)."""
    cand_grams = _ngrams([t.text for t in candidate], n)
    ref_grams = _ngrams([t.text for t in reference], n)
    cand_counts, ref_counts = Counter(cand_grams), Counter(ref_grams)
    shared = {gram: min(count, cand_counts[gram]) for gram, count in ref_counts.items() if gram in cand_counts}
    matches = sum(shared.values())
    precision = matches / max(len(cand_grams), 1)
    recall = matches / max(len(ref_grams), 1)
    cand_marks, kept = _mark_first_occurrences(cand_grams, shared, n)
    ref_marks, _ = _mark_first_occurrences(ref_grams, shared, n)
    note = ""
    if not cand_grams or not ref_grams:
        which = "candidate" if not cand_grams else "reference"
        note = f"The {which} has no {n}-grams (fewer than {n} word{'s' if n > 1 else ''} ROUGE can read)."
    return RougeResult(
        kind=f"rouge{n}", matches=matches, candidate_total=len(cand_grams), reference_total=len(ref_grams),
        precision=precision, recall=recall, f1=_f1(precision, recall),
        candidate_marks=cand_marks, reference_marks=ref_marks, matched_ngrams=[gram for _, gram in kept],
        reference_index=0, candidate_tokens=candidate, reference_tokens=reference, note=note)


def lcs_table(reference: Sequence[str], candidate: Sequence[str]) -> list[list[int]]:
    """The textbook dynamic programme: table[i][j] = LCS length of reference[:i] and candidate[:j].

    If the i-th reference word equals the j-th candidate word, the LCS grows by one from table[i-1][j-1];
    otherwise it is the better of dropping one word from either side."""
    table = [[0] * (len(candidate) + 1)]
    for ref_word in reference:
        above, row = table[-1], [0]
        for j, cand_word in enumerate(candidate):
            row.append(above[j] + 1 if ref_word == cand_word else max(above[j + 1], row[j]))
        table.append(row)
    return table


def lcs_pairs(reference: Sequence[str], candidate: Sequence[str]) -> list[tuple[int, int]]:
    """One longest common subsequence as (reference index, candidate index) pairs, in order.

    Read back from the bottom-right of the table with the same tie rule as rouge_score's `lcs_ind`
    (move left only when that keeps a strictly longer LCS, otherwise move up), so both pick the same LCS."""
    table = lcs_table(reference, candidate)
    i, j, pairs = len(reference), len(candidate), []
    while i > 0 and j > 0:
        if reference[i - 1] == candidate[j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif table[i][j - 1] > table[i - 1][j]:
            j -= 1
        else:
            i -= 1
    pairs.reverse()
    return pairs


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """LCS length without the table, for long texts: the bit-parallel method (Allison & Dix 1986, Hyyro 2004).

    Python integers serve as bit vectors over the positions of `b`, so one step handles every column at once.
    Same answer as `lcs_table(a, b)[-1][-1]`, many times faster, but it cannot say *which* words matched."""
    if not a or not b:
        return 0
    where: dict[str, int] = {}
    for j, word in enumerate(b):
        where[word] = where.get(word, 0) | (1 << j)
    full = (1 << len(b)) - 1
    v = full
    for word in a:
        u = v & where.get(word, 0)
        v = ((v + u) | (v - u)) & full
    return len(b) - v.bit_count()


def _rouge_l(candidate: list[Token], reference: list[Token]) -> RougeResult:
    """ROUGE-L: precision = LCS / candidate words, recall = LCS / reference words (0 if either text is empty)."""
    cand, ref = [t.text for t in candidate], [t.text for t in reference]
    note = ""
    if not cand or not ref:
        which = "candidate" if not cand else "reference"
        note = f"The {which} has no words ROUGE can read."
        pairs: list[tuple[int, int]] = []
        length = 0
    elif len(cand) * len(ref) <= LCS_TABLE_LIMIT:
        pairs = lcs_pairs(ref, cand)
        length = len(pairs)
    else:
        pairs = []
        length = lcs_length(ref, cand)
        note = (f"The texts are long ({len(cand)} x {len(ref)} words), so only the LCS length was computed; "
                "the matched words are not highlighted.")
    precision = length / len(cand) if cand and ref else 0.0
    recall = length / len(ref) if cand and ref else 0.0
    return RougeResult(
        kind="rougeL", matches=length, candidate_total=len(cand), reference_total=len(ref),
        precision=precision, recall=recall, f1=_f1(precision, recall),
        candidate_marks=[j for _, j in pairs], reference_marks=[i for i, _ in pairs],
        matched_ngrams=[(ref[i],) for i, _ in pairs], reference_index=0,
        candidate_tokens=candidate, reference_tokens=reference, note=note)


def _check_kind(kind: str) -> int | None:
    """rouge1 -> 1, rouge2 -> 2, rougeL -> None (LCS)."""
    if kind not in ROUGE_KINDS:
        raise ValueError(f"unknown ROUGE kind {kind!r}: choose one of {', '.join(ROUGE_KINDS)}")
    return None if kind == "rougeL" else int(kind[5:])


def rouge(candidate: str, references: str | Sequence[str], kind: str, stem: bool = False) -> RougeResult:
    """Score a candidate against one or more references with ROUGE-1, ROUGE-2 or ROUGE-L.

    With several references each is scored on its own and the one with the best F1 is kept (the first one
    when several tie), exactly as rouge_score's `score_multi` does with `np.argmax`; `reference_index` says
    which one it was.
    """
    n = _check_kind(kind)
    _check_text(candidate, "candidate")
    refs = _as_references(references)
    cand_tokens = rouge_tokens(candidate, stem)
    best: RougeResult | None = None
    for index, ref in enumerate(refs):
        ref_tokens = rouge_tokens(ref, stem)
        result = _rouge_l(cand_tokens, ref_tokens) if n is None else _rouge_n(cand_tokens, ref_tokens, n)
        if best is None or result.f1 > best.f1:        # strictly better: a tie keeps the earlier reference
            best = replace(result, reference_index=index)
    assert best is not None
    return best


@functools.lru_cache(maxsize=16)
def _rouge_scorer(kind: str, stem: bool) -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer([kind], use_stemmer=stem)


def rouge_reference(candidate: str, references: str | Sequence[str], kind: str,
                    stem: bool = False) -> tuple[float, float, float]:
    """(precision, recall, f1) straight from google's rouge_score (`score_multi`: best F1 over the references)."""
    _check_kind(kind)
    _check_text(candidate, "candidate")
    refs = _as_references(references)
    score = _rouge_scorer(kind, stem).score_multi(refs, candidate)[kind]
    return float(score.precision), float(score.recall), float(score.fmeasure)


# ---------------------------------------------------------------------------------------------------------------
# BLEU
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BleuResult:
    """Sentence-level BLEU with its arithmetic.

    score = brevity_penalty x geometric_mean, where geometric_mean = exp(mean of log smoothed_precisions over
    the first `orders_used` n-gram orders). Everything is a fraction 0..1: sacrebleu reports scores and
    precisions as percentages (0..100); here they are divided by 100 so BLEU reads like the ROUGE numbers.

    counts/totals are the raw numbers (not the add-k adjusted ones sacrebleu returns for add-k smoothing).
    candidate_marks[n] are candidate token indices covered by a matched (clipped) n-gram;
    reference_marks[r][n] the same for reference r. `clipped` lists n-grams the candidate repeats more often
    than any single reference allows; clip_counts[g] = (times in candidate, times allowed).
    """

    counts: list[int]
    totals: list[int]
    precisions: list[float]
    smoothed_precisions: list[float]
    candidate_length: int
    reference_length: int
    brevity_penalty: float
    geometric_mean: float
    score: float
    candidate_tokens: list[Token]
    reference_tokens: list[list[Token]]
    candidate_marks: dict[int, list[int]]
    clipped: list[tuple[str, ...]]
    tokenizer: str
    smooth: str
    lowercase: bool
    orders_used: int = BLEU_MAX_ORDER
    reference_marks: list[dict[int, list[int]]] = field(default_factory=list)
    clip_counts: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)
    note: str = ""


@functools.lru_cache(maxsize=64)
def _sacrebleu_metric(tokenize: str, smooth: str, lowercase: bool) -> sacrebleu.BLEU:
    """The sacrebleu configuration we reproduce: `sacrebleu.sentence_bleu`'s, i.e. effective order on."""
    return sacrebleu.BLEU(tokenize=tokenize, smooth_method=smooth, lowercase=lowercase, effective_order=True)


def _check_bleu_options(tokenize: str, smooth: str) -> None:
    if tokenize not in BLEU_TOKENIZERS:
        raise ValueError(f"unknown BLEU tokenizer {tokenize!r}: choose one of {', '.join(BLEU_TOKENIZERS)}")
    if smooth not in BLEU_SMOOTHING:
        raise ValueError(f"unknown BLEU smoothing {smooth!r}: choose one of {', '.join(BLEU_SMOOTHING)}")


def _bleu_token_texts(text: str, tokenize: str, lowercase: bool) -> list[str]:
    """sacrebleu's own preprocessing: lowercase (optional), strip trailing space, tokenize, split on spaces."""
    if lowercase:
        text = text.lower()
    return _sacrebleu_metric(tokenize, "none", False).tokenizer(text.rstrip()).split()


_SPACES_RE = re.compile(r"\s*")


def _locate(words: list[str], text: str, lowercase: bool) -> list[Token]:
    """Find each token in the original text, left to right, to get spans for highlighting.

    Tokenizers only insert spaces, so a token is normally found right after the previous one (skipping
    whitespace). Two exceptions: 13a rewrites HTML entities ("&amp;" -> "&") and deletes "<skipped>" and
    "-<newline>"; such a token is searched a few characters further, and if it is still not there it gets a
    zero-width span (start == end) and the search carries on from the same place.
    """
    haystack, origin = _lower_with_origin(text) if lowercase else (text, range(len(text)))
    tokens, cursor = [], 0
    for word in words:
        anchor = _SPACES_RE.match(haystack, cursor).end()
        pos = haystack.find(word, anchor, anchor + len(word) + _LOCATE_SLACK)
        if pos < 0:
            where = origin[anchor] if anchor < len(haystack) else len(text)
            tokens.append(Token(word, where, where))
            continue
        tokens.append(Token(word, origin[pos], origin[pos + len(word) - 1] + 1))
        cursor = pos + len(word)
    return tokens


def bleu_tokens(text: str, tokenize: str = "13a", lowercase: bool = False) -> list[Token]:
    """Tokens exactly as sacrebleu's BLEU sees them, with their spans in the original text."""
    _check_text(text, "text")
    _check_bleu_options(tokenize, "none")
    return _locate(_bleu_token_texts(text, tokenize, lowercase), text, lowercase)


def closest_reference_length(candidate_length: int, reference_lengths: Sequence[int]) -> int:
    """The reference length BLEU compares against: the one closest to the candidate's; on a tie, the shorter."""
    best_diff, best_len = -1, -1
    for ref_len in reference_lengths:
        diff = abs(candidate_length - ref_len)
        if best_diff == -1 or diff < best_diff or (diff == best_diff and ref_len < best_len):
            best_diff, best_len = diff, ref_len
    return best_len


def brevity_penalty(candidate_length: int, reference_length: int) -> float:
    """1 if the candidate is at least as long as the reference, else exp(1 - reference/candidate) (0 if empty).

    Without it, a one-word candidate that happens to match would get perfect precision."""
    if candidate_length >= reference_length:
        return 1.0
    return math.exp(1 - reference_length / candidate_length) if candidate_length > 0 else 0.0


def _log(percent: float) -> float:
    """sacrebleu's floored log: log(0) becomes -9999999999, so a zero precision drives the score to 0."""
    return -9999999999 if percent == 0.0 else math.log(percent)


def _smoothed_percentages(counts: list[int], totals: list[int], smooth: str) -> tuple[list[float], int]:
    """The n-gram precisions (in percent, as sacrebleu computes them) after smoothing, and how many orders count.

    Effective order: orders the candidate is too short to have (no n-grams at all) are left out of the mean,
    so a 2-word candidate is judged on 1- and 2-grams only. With add-k every order from 2 up gets +1 on both
    counts, so it never runs out of orders."""
    value = sacrebleu.BLEU.SMOOTH_DEFAULTS[smooth]
    percents = [0.0] * BLEU_MAX_ORDER
    zeros_so_far = 1.0          # "exp" smoothing halves the stand-in value for each further zero order
    orders = BLEU_MAX_ORDER
    for n in range(1, BLEU_MAX_ORDER + 1):
        correct, total = counts[n - 1], totals[n - 1]
        if smooth == "add-k" and n > 1:
            correct, total = correct + value, total + value
        if total == 0:
            break
        orders = n
        if correct == 0:
            if smooth == "exp":
                zeros_so_far *= 2
                percents[n - 1] = 100. / (zeros_so_far * total)
            elif smooth == "floor":
                percents[n - 1] = 100. * value / total
        else:
            percents[n - 1] = 100. * correct / total
    return percents, orders


def bleu(candidate: str, references: str | Sequence[str], tokenize: str = "13a", smooth: str = "none",
         lowercase: bool = False) -> BleuResult:
    """Sentence-level BLEU, step by step, equal to `sacrebleu.sentence_bleu(candidate, references,
    smooth_method=smooth, tokenize=tokenize, lowercase=lowercase)` (so effective order is on).

    1. Count the candidate's 1..4-grams, and for each the most times it appears in any one reference.
    2. A candidate n-gram matches at most that many times (clipping: "the the the" cannot score 3 against
       "the cat").
    3. precision_n = matches_n / candidate n-grams_n, smoothed if asked.
    4. score = brevity penalty x geometric mean of the precisions.
    """
    _check_text(candidate, "candidate")
    refs = _as_references(references)
    _check_bleu_options(tokenize, smooth)

    cand_words = _bleu_token_texts(candidate, tokenize, lowercase)
    ref_words = [_bleu_token_texts(ref, tokenize, lowercase) for ref in refs]

    counts, totals, clipped = [], [], []
    clip_counts: dict[tuple[str, ...], tuple[int, int]] = {}
    cand_marks: dict[int, list[int]] = {}
    ref_marks: list[dict[int, list[int]]] = [{} for _ in refs]
    for n in range(1, BLEU_MAX_ORDER + 1):
        cand_grams = _ngrams(cand_words, n)
        per_ref = [Counter(_ngrams(words, n)) for words in ref_words]
        cand_counts = Counter(cand_grams)
        allowed = {gram: min(count, max(ref[gram] for ref in per_ref)) for gram, count in cand_counts.items()}
        for gram, count in cand_counts.items():
            if 0 < allowed[gram] < count:
                clipped.append(gram)
                clip_counts[gram] = (count, allowed[gram])
        counts.append(sum(allowed.values()))
        totals.append(len(cand_grams))
        cand_marks[n], _ = _mark_first_occurrences(cand_grams, allowed, n)
        for r, words in enumerate(ref_words):
            ref_allowed = {gram: min(k, per_ref[r][gram]) for gram, k in allowed.items() if k}
            ref_marks[r][n], _ = _mark_first_occurrences(_ngrams(words, n), ref_allowed, n)

    ref_length = closest_reference_length(len(cand_words), [len(words) for words in ref_words])
    bp = brevity_penalty(len(cand_words), ref_length)
    precisions = [c / t if t else 0.0 for c, t in zip(counts, totals)]

    if not any(counts):             # sacrebleu stops here: nothing matched, the score is 0 whatever the smoothing
        percents, orders, geo_percent = [0.0] * BLEU_MAX_ORDER, 0, 0.0
        note = ("The candidate has no words." if not cand_words else
                "No n-gram of the candidate appears in a reference, so BLEU is 0 whatever the smoothing.")
    else:
        percents, orders = _smoothed_percentages(counts, totals, smooth)
        geo_percent = math.exp(sum([_log(p) for p in percents[:orders]]) / orders)
        note = "" if orders == BLEU_MAX_ORDER else (
            f"The candidate has only {len(cand_words)} token(s), so only 1- to {orders}-grams count "
            "(effective order).")
        if smooth == "none" and 0.0 in percents[:orders]:
            zero = "An n-gram order has no match and there is no smoothing, so BLEU is 0."
            note = f"{note} {zero}" if note else zero
    score = bp * geo_percent

    return BleuResult(
        counts=counts, totals=totals, precisions=precisions, smoothed_precisions=[p / 100 for p in percents],
        candidate_length=len(cand_words), reference_length=ref_length, brevity_penalty=bp,
        geometric_mean=geo_percent / 100, score=score / 100,
        candidate_tokens=_locate(cand_words, candidate, lowercase),
        reference_tokens=[_locate(words, ref, lowercase) for words, ref in zip(ref_words, refs)],
        candidate_marks=cand_marks, clipped=clipped, tokenizer=tokenize, smooth=smooth, lowercase=lowercase,
        orders_used=orders, reference_marks=ref_marks, clip_counts=clip_counts, note=note)


def bleu_reference(candidate: str, references: str | Sequence[str], tokenize: str = "13a", smooth: str = "none",
                   lowercase: bool = False) -> float:
    """sacrebleu's own sentence BLEU (effective order on, as in `sacrebleu.sentence_bleu`), divided by 100."""
    _check_text(candidate, "candidate")
    refs = _as_references(references)
    _check_bleu_options(tokenize, smooth)
    return _sacrebleu_metric(tokenize, smooth, lowercase).sentence_score(candidate, refs).score / 100
