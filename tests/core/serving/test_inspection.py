"""Looking inside the bundled models (core/serving/inspection.py), and the clear error every such view gives for a
model on a server: the service reaches that model only through its remote backend."""
from __future__ import annotations

import ast
import inspect as pyinspect
import textwrap

import numpy as np
import pytest

from core.serving import inspection
from core.serving.generation import ServiceClosed
from core.serving.model_service import LoadState, LocalBackend, ModelService, RemoteBackend
from core.serving.openai_backend import RemoteModelError
from core.serving.registry import parse_registry
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


# ---- a model on a server: no weights here ----------------------------------------------------------------------
@pytest.fixture
def remote_service(tmp_path):
    registry = parse_registry({"models": {
        "remote": {"kind": "causal-lm", "backend": "openai", "base_url": "http://127.0.0.1:9/v1",
                   "model": "fake-model", "display_name": "Remote"}}})
    svc = ModelService(Settings.from_env({"GENAI_LAB_CACHE": str(tmp_path)}), registry=registry)
    yield svc
    svc.close()


@pytest.mark.parametrize("view", [
    lambda s: inspection.token_embeddings(s, "Hi", model="remote"),
    lambda s: inspection.nearest_tokens(s, 1, model="remote"),
    lambda s: inspection.attentions_with_continuation(s, "Hi", 2, model="remote"),
    lambda s: inspection.vocabulary(s, model="remote", kind="causal-lm"),
    lambda s: inspection.continuation_logprobs(s, [1], [[2]], model="remote"),
    lambda s: inspection.model_config(s, "remote"),
    lambda s: inspection.decode_ids(s, [1, 2], model="remote"),
    lambda s: s.borrowed_decoder("remote"),
    lambda s: s.decoder_copy("remote"),
])
def test_every_inspection_of_a_remote_model_gives_the_clear_error(remote_service, view):
    with pytest.raises(RemoteModelError, match=r"Remote runs on a model server \(http://127.0.0.1:9/v1\), which sends "
                                               r"text only: this view needs a model loaded in the app"):
        view(remote_service)
    assert remote_service.status("remote").state == LoadState.NOT_LOADED     # the error did not mark it failed


def test_a_remote_model_generates_through_its_backend_type(remote_service, monkeypatch):
    backend = remote_service._slot("remote", "causal-lm").backend
    assert isinstance(backend, RemoteBackend)
    sent = []
    monkeypatch.setattr(backend.client, "generate",
                        lambda messages, settings: sent.append((messages, settings)) or "stream")
    settings = SamplingSettings(max_new_tokens=3)
    assert remote_service.generate(QUESTION, settings, model="remote", owner="session") == "stream"
    assert sent == [(QUESTION, settings)]
    with pytest.raises(ValueError, match="cannot continue a prefilled reply"):
        remote_service.generate(QUESTION, settings, model="remote", prefill="Paris")
    remote_service.close()
    with pytest.raises(ServiceClosed):
        remote_service.generate(QUESTION, settings, model="remote")


def test_the_service_picks_each_backend_once_and_never_branches_on_remote():
    """`spec.remote` is read in one place, the constructor; everything else asks the slot's backend."""
    tree = ast.parse(textwrap.dedent(pyinspect.getsource(ModelService)))
    reads = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "remote"]
    init = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert len(reads) == 1 and reads[0] in set(ast.walk(init))
    for backend in (LocalBackend, RemoteBackend):
        assert {"load", "generate", "local", "status"} <= set(vars(backend))


# ---- the real bundled models -----------------------------------------------------------------------------------
@pytest.mark.model
def test_token_embeddings_are_rows_of_the_embedding_table(decoder):
    emb = inspection.token_embeddings(decoder, "The king ate 🍕")
    table = decoder.load(kind="causal-lm") and decoder._slot(None, "causal-lm").model.get_input_embeddings().weight
    assert emb.vectors.shape == (len(emb.ids), 576)
    assert np.allclose(emb.vectors, table[list(emb.ids)].detach().numpy())
    assert emb.tokens[1] == " king" and emb.truncated_from == 0
    long = inspection.token_embeddings(decoder, " ".join(["word"] * 5000), max_tokens=48)
    assert long.vectors.shape[0] == 48 and long.truncated_from == 5000
    with pytest.raises(ValueError):
        inspection.token_embeddings(decoder, "")


@pytest.mark.model
def test_attention_over_a_generated_continuation(decoder):
    att, prompt_len = inspection.attentions_with_continuation(decoder, "The capital of France is", 6)
    assert prompt_len == len(decoder.tokenize("The capital of France is").tokens)
    assert prompt_len < len(att.tokens) <= prompt_len + 6
    assert "Paris" in "".join(att.tokens[prompt_len:])
    w = att.weights
    assert w.shape[2] == w.shape[3] == len(att.tokens)
    assert np.allclose(w.sum(-1), 1, atol=1e-4)
    assert np.allclose(np.triu(w, k=1), 0)                    # causal, generated tokens included
    long, kept = inspection.attentions_with_continuation(decoder, " ".join(["word"] * 500), 4, max_tokens=32)
    assert kept == 28 and long.truncated_from == 500 and len(long.tokens) <= 32
    with pytest.raises(ValueError):
        inspection.attentions_with_continuation(decoder, "", 4)


@pytest.mark.model
def test_continuation_logprobs_one_value_per_token_and_bad_arguments(service):
    ctx = service.encode_ids("The capital of France is")
    conts = [service.encode_ids(" Paris"), service.encode_ids(" the city of Rome")]
    out = inspection.continuation_logprobs(service, ctx, conts)
    assert [len(o) for o in out] == [len(c) for c in conts] and all((o <= 0).all() for o in out)
    assert out[0].sum() > out[1].sum()
    for bad_ctx, bad_conts in (([], conts), (ctx, []), (ctx, [[]])):
        with pytest.raises(ValueError):
            inspection.continuation_logprobs(service, bad_ctx, bad_conts)


@pytest.mark.model
def test_decode_ids_vocabulary_and_config(decoder, encoder):
    ids = decoder.encode_ids("The capital of France is")
    assert inspection.decode_ids(decoder, ids) == "The capital of France is"
    vocab = inspection.vocabulary(encoder)
    assert len(vocab) == 30522 and vocab[0] == "[PAD]" and vocab[101] == "[CLS]"
    assert inspection.model_config(decoder).vocab_size == 49152
