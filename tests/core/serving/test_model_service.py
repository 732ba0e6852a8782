"""The model service on the real bundled models."""
import threading

import numpy as np
import pytest
import torch

from core.serving import inspection
from core.serving.model_service import MAX_TEXT_CHARS, LoadState, ModelService, fit_to_window
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings

pytestmark = pytest.mark.model


# ---- tokenize ------------------------------------------------------------------------
def test_decoder_tokenizer_known_split(service):
    t = service.tokenize("Hello world, naïve")
    assert [tok.text for tok in t.tokens] == ["Hello", " world", ",", " na", "ïve"]
    assert [tok.id for tok in t.tokens][:2] == [19556, 905]
    assert t.algorithm == "byte-level BPE" and t.context_window == 8192
    assert not any(tok.special for tok in t.tokens)


def test_encoder_tokenizer_known_split_with_special_tokens(service):
    t = service.tokenize("Tokenization is unbelievable", kind="sentence-encoder")
    texts = [tok.text for tok in t.tokens]
    assert texts[0] == "[CLS]" and texts[-1] == "[SEP]"
    assert t.tokens[0].special and t.tokens[-1].special and not t.tokens[1].special
    assert any(x.startswith("##") for x in texts), texts
    assert t.algorithm == "WordPiece" and t.context_window == 256


@pytest.mark.parametrize("kind, vocab", [("causal-lm", 49152), ("sentence-encoder", 30522)])
@pytest.mark.parametrize("text", ["The cat sat on the mat.", "👨‍👩‍👧 emoji with joiners", "東京は日本の首都です",
                                  "مرحبا بالعالم", "zero\u200bwidth\x07bell\ttab\nline", "<script>alert(1)</script>"])
def test_ids_in_range_and_offsets_inside_text(service, kind, vocab, text):
    t = service.tokenize(text, kind=kind)
    assert t.n_chars == len(text) and t.n_tokens > 0
    for tok in t.tokens:
        assert 0 <= tok.id < vocab
        assert 0 <= tok.start <= tok.end <= len(text)


@pytest.mark.parametrize("text", ["Round trip: naïve café, 3.14159, 😀 and 東京!", "  two leading spaces\n\tand a tab"])
def test_decoder_round_trip(service, text):
    tok = service.tokenizer()
    ids = [t.id for t in service.tokenize(text).tokens]
    assert tok.decode(ids) == text
    # Joining the readable pieces gives the text back too, when no character is split across tokens.
    if all("<" not in t.text for t in service.tokenize(text).tokens):
        assert "".join(t.text for t in service.tokenize(text).tokens) == text


def test_emoji_is_split_into_byte_pieces_by_bpe_and_unknown_for_wordpiece(service):
    bpe = service.tokenize("😀")
    # 😀 is the four bytes F0 9F 98 80; no single token holds them all.
    assert [t.text for t in bpe.tokens] == ["<F0><9F>", "<98>", "<80>"]
    assert all((t.start, t.end) == (0, 1) for t in bpe.tokens)
    wp = service.tokenize("😀", kind="sentence-encoder")
    assert [t.text for t in wp.tokens] == ["[CLS]", "[UNK]", "[SEP]"]


def test_empty_and_huge_text(service):
    assert service.tokenize("").n_tokens == 0
    assert service.tokenize("", kind="sentence-encoder").n_tokens == 2  # just [CLS] [SEP]
    long = service.tokenize(" word" * 10_000)
    assert long.n_tokens == 10_000 and long.overflow == 10_000 - 8192
    with pytest.raises(ValueError, match="limit"):
        service.tokenize("x" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(TypeError):
        service.tokenize(12345)


# ---- attentions ----------------------------------------------------------------------
def test_decoder_attentions_are_causal_and_rows_sum_to_one(decoder):
    a = decoder.attentions("The quick brown fox jumps over the lazy dog")
    layers, heads, n, m = a.weights.shape
    assert (layers, heads) == (30, 9) and n == m == len(a.tokens) == 9
    assert np.allclose(a.weights.sum(-1), 1.0, atol=1e-4)
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    assert np.abs(a.weights[..., upper]).max() < 1e-6, "a decoder must not attend to later tokens"


def test_encoder_attentions_are_full(encoder):
    a = encoder.attentions("The quick brown fox", kind="sentence-encoder")
    assert a.weights.shape[:2] == (6, 12) and a.tokens[0] == "[CLS]" and a.tokens[-1] == "[SEP]"
    assert np.allclose(a.weights.sum(-1), 1.0, atol=1e-4)
    upper = np.triu(np.ones(a.weights.shape[-2:], dtype=bool), k=1)
    assert a.weights[..., upper].max() > 0.01, "an encoder attends in both directions"


def test_attentions_are_capped(decoder):
    a = decoder.attentions(" word" * 100, max_tokens=32)
    assert a.weights.shape[-1] == 32 and a.truncated_from == 100


# ---- embeddings ----------------------------------------------------------------------
def test_paraphrases_embed_closer_than_unrelated_sentences(encoder):
    v = encoder.embed(["A man is eating food.", "Someone is having a meal.", "The stock market fell sharply today."])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.3 and sim[0, 1] > sim[1, 2] + 0.3


def test_embed_edge_cases(encoder):
    assert encoder.embed([]).shape == (0, 384)
    v = encoder.embed(["same", "same", "", "long " * 2000])
    assert np.allclose(v[0], v[1]) and np.isfinite(v).all()
    with pytest.raises(TypeError):
        encoder.embed("not a list")


# ---- next token and generation -------------------------------------------------------
def test_next_token_logits(decoder):
    ids = decoder.encode_ids("The capital of France is")
    logits = decoder.next_token_logits(ids)
    probs = torch.softmax(torch.from_numpy(logits), -1)
    assert logits.shape == (49152,) and logits.dtype == np.float32
    best = int(probs.argmax())
    assert decoder.token_texts([best]) == [" Paris"] and probs[best] > 0.5
    assert inspection.decode_ids(decoder, ids) == "The capital of France is"
    with pytest.raises(ValueError):
        decoder.next_token_logits([])
    assert decoder.encode_ids("") == []


def test_greedy_chat_answer_contains_paris(decoder):
    stream = decoder.generate([{"role": "user", "content": "What is the capital of France?"}],
                              SamplingSettings(temperature=0, max_new_tokens=24))
    seen = [tok.text for tok in stream]
    result = stream.result
    assert "Paris" in result.text and "".join(seen) == result.text
    assert result.stop_reason in ("eos", "max_new_tokens") and result.prompt_tokens > 10
    assert all(0 < t.prob <= 1 for t in result.tokens)


def test_chat_prompt_uses_the_template(decoder):
    prompt = decoder.chat_prompt([{"role": "user", "content": "Hi"}])
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>assistant\n")


def test_seeded_sampling_repeats(decoder):
    msgs = [{"role": "user", "content": "Write one word about cats."}]
    s = SamplingSettings(temperature=1.0, top_p=0.9, max_new_tokens=8, seed=3)
    assert decoder.generate(msgs, s).collect().text == decoder.generate(msgs, s).collect().text


def test_fit_to_window_keeps_the_end_of_a_long_prompt():
    ids = torch.arange(10).unsqueeze(0)
    kept, dropped = fit_to_window(ids, window=8, max_new_tokens=3)
    assert kept.tolist() == [[5, 6, 7, 8, 9]] and dropped == 5
    kept, dropped = fit_to_window(ids, window=100, max_new_tokens=3)
    assert kept.tolist() == ids.tolist() and dropped == 0
    with pytest.raises(ValueError):
        fit_to_window(ids, window=8, max_new_tokens=8)


def test_bad_messages_are_refused(decoder):
    with pytest.raises(ValueError):
        decoder.generate([], SamplingSettings())
    with pytest.raises(ValueError):
        decoder.generate([{"role": "user"}], SamplingSettings())


# ---- loading, cache, sharing ---------------------------------------------------------
def test_converted_cache_reloads_to_identical_logits(decoder):
    fresh = ModelService(Settings.from_env())   # same cache dir: loads the saved safetensors, not the GGUF
    status = fresh.load(kind="causal-lm")
    assert status.state == LoadState.READY and status.parameters == 134_515_008
    prompt = "Tokens become vectors"
    a = decoder.next_token_logits(decoder.encode_ids(prompt))
    b = fresh.next_token_logits(fresh.encode_ids(prompt))
    assert np.array_equal(a, b)
    assert fresh.close()


def test_concurrent_first_use_loads_each_model_once(tmp_path, decoder):
    svc = ModelService(Settings.from_env())
    models = []
    threads = [threading.Thread(target=lambda: models.append(svc._model(svc._slot(None, "sentence-encoder"))))
               for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(models) == 4 and all(m is models[0] for m in models)


def test_status_reports_sizes(decoder, encoder):
    by_name = {s.name: s for s in decoder.statuses()}
    smol, mini = by_name["smollm2-135m-instruct"], by_name["all-minilm-l6-v2"]
    assert smol.state == LoadState.READY and smol.memory_bytes == 134_515_008 * 4
    assert 22_000_000 < mini.parameters < 23_000_000 and mini.disk_bytes > 80_000_000
    assert decoder.device.type in ("cpu", "cuda", "mps") and decoder.device_label


def test_many_sessions_at_once_share_the_service_safely(decoder, encoder):
    """Workshop load: threads tokenizing, embedding, reading attentions and generating at the same time."""
    errors, results = [], []

    def work(i):
        try:
            for _ in range(3):
                decoder.tokenize(f"Participant {i} types some text " * 20)
                decoder.tokenize(f"Participant {i}", kind="sentence-encoder")
                encoder.embed([f"sentence {i}", "another sentence with padding " * 5])
            decoder.attentions(f"Hello from {i}", max_tokens=16)
            results.append(decoder.generate([{"role": "user", "content": f"Say hi to {i}"}],
                                            SamplingSettings(temperature=0, max_new_tokens=4)).collect())
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    assert not errors and len(results) == 8 and all(r.tokens for r in results)


def test_prefill_continues_the_assistant_turn(decoder):
    """`prefill` is the start of the reply: the model continues it (page 11's ReAct loop)."""
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    settings = SamplingSettings(temperature=0.0, max_new_tokens=12)
    full = decoder.generate(messages, settings).collect().text
    head = full[:full.index(" ", 4)]                   # cut at a space, so the prefill tokenizes as generated
    rest = decoder.generate(messages, settings, prefill=head).collect().text
    joined = head + rest
    assert joined.startswith(full) or full.startswith(joined)
    with pytest.raises(ValueError):
        decoder.generate(messages, settings, prefill=None)
