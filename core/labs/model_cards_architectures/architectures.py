"""How the three transformer families read their input: the attention mask of each (encoder-only,
decoder-only, encoder-decoder) and their pre-training objectives on a real sentence (BERT's masked tokens,
T5's span corruption).

The parameter counts of the same families, computed from shipped config.json files, are core/architectures.py
(the memory calculator of the compute & quantization lab reads them too).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# ---- attention masks of the three families ----------------------------------------------------
def causal_mask(n: int) -> "np.ndarray":
    """Decoder-only: token i may look at tokens 0..i.  -> (n, n) of 0/1"""

    return np.tril(np.ones((n, n), dtype=np.int8))


def full_mask(n: int) -> "np.ndarray":
    """Encoder-only: every token looks at every token.  -> (n, n) of 1"""

    return np.ones((n, n), dtype=np.int8)


def encoder_decoder_mask(n_source: int, n_target: int) -> "np.ndarray":
    """Encoder-decoder, drawn as one matrix over [source tokens, target tokens] (rows attend to columns):
    encoder rows see the whole source (full); decoder rows see the whole source (cross-attention)
    and the target tokens up to themselves (causal).  -> (n_source + n_target, n_source + n_target)"""

    if n_source < 1 or n_target < 1:
        raise ValueError("encoder_decoder_mask needs at least one source and one target token")
    n = n_source + n_target
    mask = np.zeros((n, n), dtype=np.int8)
    mask[:n_source, :n_source] = 1                                 # encoder self-attention: full
    mask[n_source:, :n_source] = 1                                 # cross-attention: every source token
    mask[n_source:, n_source:] = causal_mask(n_target)             # decoder self-attention: causal
    return mask


# ---- pre-training objectives, built from the learner's text ------------------------------------
@dataclass(frozen=True)
class MaskedExample:
    """Masked language modelling (BERT recipe): what the encoder reads and what it must predict."""
    tokens: tuple[str, ...]            # the tokenizer's pieces of the original text
    inputs: tuple[str, ...]            # what the model reads: some pieces replaced
    targets: tuple[str | None, ...]    # the original piece at each chosen position, None elsewhere (no loss)
    actions: tuple[str, ...]           # "" | "masked" | "random" | "kept" for each position

    @property
    def chosen(self) -> list[int]:
        return [i for i, t in enumerate(self.targets) if t is not None]


def mask_for_mlm(tokens, special, vocabulary, rate: float = 0.15, seed: int = 0,
                 mask_token: str = "[MASK]") -> MaskedExample:
    """Choose `rate` of the ordinary (non-special) tokens, at least one; of those, 80 % become
    `mask_token`, 10 % a random vocabulary piece and 10 % stay as they are (BERT, Devlin et al. 2019).
    The model must predict the original piece at every chosen position."""

    tokens, special = list(tokens), [bool(s) for s in special]
    if len(tokens) != len(special):
        raise ValueError("tokens and special must have the same length")
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    candidates = [i for i, s in enumerate(special) if not s]
    if not candidates:
        raise ValueError("there is no ordinary token to mask")
    rng = np.random.default_rng(seed)
    n_chosen = max(1, round(rate * len(candidates)))
    chosen = sorted(rng.choice(candidates, size=n_chosen, replace=False).tolist())
    inputs, targets, actions = list(tokens), [None] * len(tokens), [""] * len(tokens)
    for i in chosen:
        targets[i] = tokens[i]
        draw = rng.random()
        if draw < 0.8:
            inputs[i], actions[i] = mask_token, "masked"
        elif draw < 0.9 and len(vocabulary):
            inputs[i], actions[i] = str(vocabulary[int(rng.integers(len(vocabulary)))]), "random"
        else:
            actions[i] = "kept"
    return MaskedExample(tuple(tokens), tuple(inputs), tuple(targets), tuple(actions))


@dataclass(frozen=True)
class SpanCorruption:
    """T5's span corruption: spans of the input replaced by sentinels; the target lists the spans."""
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]   # (start, end) word indices of each dropped span, end exclusive
    inputs: str                          # e.g. "Thank you <extra_id_0> me to your party <extra_id_1> week."
    targets: str                         # e.g. "<extra_id_0> for inviting <extra_id_1> last <extra_id_2>"


def _segments(rng, total: int, parts: int) -> list[int]:
    """Split `total` items into `parts` random positive lengths."""
    cuts = sorted(rng.choice(range(1, total), size=parts - 1, replace=False).tolist()) if parts > 1 else []
    edges = [0] + cuts + [total]
    return [b - a for a, b in zip(edges, edges[1:])]


def span_corruption(text: str, noise_density: float = 0.15, mean_span_length: float = 3.0,
                    seed: int = 0) -> SpanCorruption:
    """T5-style span corruption on whitespace-separated words (T5 itself works on SentencePiece tokens).

    About `noise_density` of the words are dropped, in spans of about `mean_span_length` words; each
    span becomes a sentinel <extra_id_N> in the input, and the target lists the sentinels followed by
    the words they hide, ending with one more sentinel (Raffel et al. 2020)."""

    if not isinstance(text, str):
        raise TypeError("text must be a string")
    words = text.split()
    n = len(words)
    if n < 2:
        raise ValueError("span corruption needs at least two words")
    if not 0 < noise_density < 1 or mean_span_length < 1:
        raise ValueError("noise_density must be in (0, 1) and mean_span_length at least 1")
    rng = np.random.default_rng(seed)
    n_noise = min(max(round(n * noise_density), 1), n - 1)
    n_spans = min(max(round(n_noise / mean_span_length), 1), n_noise, n - n_noise)
    noise_lengths = _segments(rng, n_noise, n_spans)
    keep_lengths = _segments(rng, n - n_noise, n_spans)
    spans, pos = [], 0
    for keep, noise in zip(keep_lengths, noise_lengths):      # each span follows a kept stretch
        pos += keep
        spans.append((pos, pos + noise))
        pos += noise
    inputs, targets, last = [], [], 0
    for k, (a, b) in enumerate(spans):
        sentinel = f"<extra_id_{k}>"
        inputs += words[last:a] + [sentinel]
        targets += [sentinel] + words[a:b]
        last = b
    inputs += words[last:]
    targets.append(f"<extra_id_{len(spans)}>")
    return SpanCorruption(tuple(words), tuple(spans), " ".join(inputs), " ".join(targets))
