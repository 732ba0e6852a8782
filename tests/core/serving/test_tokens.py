from core.serving.tokens import Token, Tokenization, byte_decoder, make_visible, piece_bytes, readable_piece


def test_byte_decoder_covers_all_256_bytes_once():
    table = byte_decoder()
    assert sorted(table.values()) == list(range(256))
    assert table["Ġ"] == 0x20 and table["Ċ"] == 0x0A and table["A"] == 0x41


def test_readable_piece_decodes_byte_level_pieces():
    assert readable_piece("Ġworld", byte_level=True) == " world"
    assert readable_piece("Ã¯ve", byte_level=True) == "ïve"
    # The first three bytes of 😀 (F0 9F 98 80) are not a whole character: shown as hex.
    assert readable_piece("ĠðŁĺ", byte_level=True) == " <F0><9F><98>"
    assert readable_piece("▁hello", byte_level=True) == "▁hello"  # not a byte-level piece: unchanged
    assert piece_bytes("▁hello") is None


def test_readable_piece_keeps_wordpiece_entries():
    assert readable_piece("##ing", byte_level=False) == "##ing"
    assert readable_piece("[CLS]", byte_level=False) == "[CLS]"


def test_make_visible_marks_whitespace_and_invisible_characters():
    assert make_visible(" a\tb\nc") == "·a⇥b↵c"
    assert make_visible("a\u200bb\u200dc\x07") == "a⟨U+200B⟩b⟨U+200D⟩c⟨U+0007⟩"
    assert make_visible("東京 😀") == "東京·😀"
    assert make_visible("<script>") == "<script>"  # escaping is the renderer's job, not this one's


def test_tokenization_statistics():
    toks = tuple(Token(id=i, piece="x", text="ab", start=2 * i, end=2 * i + 2, special=False) for i in range(5))
    t = Tokenization(model="m", algorithm="WordPiece", tokens=toks, n_chars=10, context_window=4)
    assert t.n_tokens == 5 and t.chars_per_token == 2.0
    assert t.context_share == 1.25 and t.overflow == 1
    empty = Tokenization(model="m", algorithm="WordPiece", tokens=(), n_chars=0, context_window=4)
    assert empty.chars_per_token == 0.0 and empty.overflow == 0
