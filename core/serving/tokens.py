"""Turning a tokenizer's output into plain data a learner can read.

A byte-level BPE tokenizer (SmolLM2, GPT-2) stores each token as bytes written with a
printable stand-in alphabet ("Ġ" is a space). We map them back to real bytes so the
learner sees " world" rather than "Ġworld", and an emoji split over three tokens shows
as three byte fragments instead of mojibake.
"""
from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Token:
    id: int          # position in the vocabulary
    piece: str       # the vocabulary entry as the tokenizer stores it, e.g. "Ġworld" or "##ing"
    text: str        # what the token stands for, readable: " world", "##ing", or "<F0><9F>" for partial bytes
    start: int       # character offset in the input where the token's text begins
    end: int         # character offset where it ends (end == start for added special tokens)
    special: bool    # a control token the tokenizer added or recognised ([CLS], <|im_start|>, ...)


@dataclass(frozen=True)
class Tokenization:
    model: str                 # registry name of the model whose tokenizer was used
    algorithm: str             # "byte-level BPE", "WordPiece", ...
    tokens: tuple[Token, ...]
    n_chars: int               # characters in the input text
    context_window: int        # how many tokens the model can attend to at once

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def chars_per_token(self) -> float:
        return self.n_chars / self.n_tokens if self.tokens else 0.0

    @property
    def context_share(self) -> float:
        """Fraction of the context window this text fills (can exceed 1)."""
        return self.n_tokens / self.context_window if self.context_window else 0.0

    @property
    def overflow(self) -> int:
        """Tokens beyond the context window: the model would never see them."""
        return max(0, self.n_tokens - self.context_window)


def _hex_bytes(error: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: show bytes that are not a whole UTF-8 character as <F0><9F>."""
    return "".join(f"<{b:02X}>" for b in error.object[error.start:error.end]), error.end


codecs.register_error("genai_lab_hex", _hex_bytes)


@lru_cache(maxsize=1)
def byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes_to_unicode table: stand-in character -> byte value."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    codes = list(printable)
    shift = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + shift)
            shift += 1
    return {chr(c): b for b, c in zip(printable, codes)}


def piece_bytes(piece: str) -> bytes | None:
    """The raw bytes of a byte-level BPE piece, or None if it is not one (e.g. a special token)."""
    table = byte_decoder()
    try:
        return bytes(table[ch] for ch in piece)
    except KeyError:
        return None


def readable_piece(piece: str, byte_level: bool) -> str:
    """What a vocabulary piece means, for display: decoded bytes, or hex for a partial character."""
    if byte_level:
        raw = piece_bytes(piece)
        if raw is None:
            return piece
        return raw.decode("utf-8", errors="genai_lab_hex")
    return piece  # WordPiece entries are readable as they are ("##ing" continues a word)


_WHITESPACE_MARKS = {" ": "·", "\n": "↵", "\t": "⇥", "\r": "␍"}


def make_visible(text: str) -> str:
    """Show whitespace and invisible characters: spaces as ·, newlines as ↵, others as ⟨U+XXXX⟩."""
    out = []
    for ch in text:
        if ch in _WHITESPACE_MARKS:
            out.append(_WHITESPACE_MARKS[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cn"):
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    return "".join(out)
