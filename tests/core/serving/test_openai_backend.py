"""The OpenAI-compatible backend (core/serving/openai_backend.py) against real HTTP servers on 127.0.0.1.

- `transformers serve` serving the bundled SmolLM2 on the CPU (started once for the module; `model` tier): the
  streamed answer, stop sequences, seeds and an HTTP error from the real thing.
- A small stdlib server in this process (`FakeServer`) for what `transformers serve` cannot show: the
  log-probabilities (there it streams the real bundled model's own scores) and the protocol failures (bytes that
  are not JSON, a stream cut short, a silent server, HTTP 500). A server that is down is a port nobody listens on.
"""
from __future__ import annotations

import socket
import struct
import time

import pytest

from core.serving import inspection
from core.serving.generation import ServiceClosed
from core.serving.openai_backend import (
    BadStream,
    OpenAIBackend,
    RemoteModelError,
    ServerHTTPError,
    ServerTimeout,
    ServerUnreachable,
    request_body,
)
from core.serving.registry import parse_registry
from core.serving.sampling import SamplingSettings
from tests.openai_servers import (
    FakeServer,
    answer,
    chunk,
    entry,
    event,
    json_response,
    start_events,
)

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
# "The capital of France is Paris." is 7 tokens, then the end-of-sequence token. (With max_new_tokens=8,
# transformers 5.24's server counts that end token and reports "length": keep room for it.)
GREEDY = SamplingSettings(temperature=0, max_new_tokens=12)


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


# ---- the request ----------------------------------------------------------------------------------------------
def test_request_body_maps_the_sampling_settings():
    body = request_body("m", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi", "x": 1}],
                        SamplingSettings(temperature=0.5, top_p=0.9, max_new_tokens=7, seed=3))
    assert body == {"model": "m", "messages": [{"role": "system", "content": "Be brief."},
                                               {"role": "user", "content": "Hi"}],
                    "stream": True, "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "logprobs": True,
                    "top_logprobs": 5, "stream_options": {"include_usage": True}, "seed": 3}
    full = request_body("m", QUESTION, SamplingSettings(top_k=40, repetition_penalty=1.2, frequency_penalty=0.5,
                                                        presence_penalty=-0.5, stop_sequences=("\n\n", "END")))
    assert {k: full[k] for k in ("top_k", "repetition_penalty", "frequency_penalty", "presence_penalty", "stop")} == \
        {"top_k": 40, "repetition_penalty": 1.2, "frequency_penalty": 0.5, "presence_penalty": -0.5,
         "stop": ["\n\n", "END"]}


# ---- a well-formed stream -------------------------------------------------------------------------------------
def test_tokens_carry_probabilities_and_ranks_from_logprobs(server):
    top = [(" Paris", -0.1), (" Lyon", -2.5), (" the", -3.0), (" a", -4.0), (" Nice", -5.0)]
    server.script = answer(
        {"id": "x", "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]},
        chunk(" Paris", [entry(" Paris", -0.1, top)]),
        chunk(".\n", [entry(".", -0.7, [(".", -0.7), ("!", -0.9)]),            # two tokens in one event
                      entry("\n", -8.0, [("<|im_end|>", -0.01), (" It", -5.0)])]),   # outside the top 5 shown
        chunk(finish="length"),
        {"id": "x", "object": "chat.completion.chunk", "choices": [],
         "usage": {"prompt_tokens": 37, "completion_tokens": 3, "total_tokens": 40}})
    stream = server.backend().generate(QUESTION, SamplingSettings(temperature=0, max_new_tokens=3))
    tokens = list(stream)
    assert [t.text for t in tokens] == [" Paris", ".", "\n"]
    assert [t.rank for t in tokens] == [1, 1, 0]                 # 0: the server's top 5 did not include it
    assert tokens[0].prob == pytest.approx(0.904837, abs=1e-6) and tokens[0].model_prob == tokens[0].prob
    assert tokens[2].prob == pytest.approx(3.35e-4, rel=1e-2) and all(t.id == -1 for t in tokens)
    result = stream.result
    assert result.text == " Paris.\n" and result.stop_reason == "max_new_tokens" and result.has_probabilities
    assert result.prompt_tokens == 37 and result.max_new_tokens == 3 and result.seconds_to_first_token > 0
    headers, body = server.requests[0]
    assert body["stream"] is True and body["logprobs"] is True and body["top_logprobs"] == 5
    assert body["model"] == "fake-model" and headers["Accept"] == "text/event-stream"
    assert "Authorization" not in headers


def test_a_backend_told_not_to_ask_for_logprobs_leaves_them_out_of_the_request(server):
    """`logprobs: false` in the registry: the request has no logprobs/top_logprobs (llama-cpp-python's server
    computes them in Python, 4x slower), and the answer says it has no probabilities."""
    from core.serving.registry import ModelSpec

    server.script = answer(chunk("ok"), chunk(finish="stop"))
    spec = ModelSpec(name="r", kind="causal-lm", source=None, backend="openai", base_url=server.base_url,
                     model="fake-model", logprobs=False)
    result = OpenAIBackend.from_spec(spec).generate(QUESTION, GREEDY).collect()
    assert result.text == "ok" and not result.has_probabilities
    body = server.requests[-1][1]
    assert body["model"] == "fake-model" and "logprobs" not in body and "top_logprobs" not in body
    assert request_body("m", QUESTION, GREEDY)["logprobs"] is True


def test_without_logprobs_tokens_have_no_probability_and_no_done_is_fine_after_a_finish(server):
    # transformers serve: one event per token, no logprobs, finish + usage in the last event, no [DONE].
    def script(handler, body):
        start_events(handler)
        for piece in ("Hello", " there", "!"):
            event(handler, chunk(piece))
        event(handler, chunk(finish="stop") | {"usage": {"prompt_tokens": 5}})
    server.script = script
    result = server.backend().generate(QUESTION, SamplingSettings(max_new_tokens=20)).collect()
    assert result.text == "Hello there!" and result.stop_reason == "eos" and result.prompt_tokens == 5
    assert not result.has_probabilities and all(t.prob == 0.0 and t.rank == 0 for t in result.tokens)


def test_stop_sequences_are_cut_here_even_when_the_server_sends_them(server):
    # transformers serve stops at a stop string but leaves it in the text; the client cuts it like the local decoder.
    server.script = answer(*(chunk(p) for p in ("The", " capital", " is", " Pa", "ris", ", of", " course")),
                           chunk(finish="stop"))
    settings = SamplingSettings(temperature=0, max_new_tokens=20, stop_sequences=(" Paris",))
    result = server.backend().generate(QUESTION, settings).collect()
    assert result.text == "The capital is" and result.stop_reason == "stop_sequence"
    assert result.stop_sequence == " Paris" and result.stop_text.startswith(" Paris")
    assert [t.text for t in result.tokens] == ["The", " capital", " is", "", ""]   # " Pa" was held back, then cut
    # vLLM cuts the stop sequence itself and names it in `stop_reason`.
    server.script = answer(chunk("Fine"), chunk(finish="stop", stop_reason="\n\n"))
    result = server.backend().generate(QUESTION, SamplingSettings(stop_sequences=("\n\n",))).collect()
    assert result.text == "Fine" and result.stop_reason == "stop_sequence" and result.stop_sequence == "\n\n"


def test_an_api_key_comes_from_the_named_environment_variable(server, monkeypatch):
    server.script = answer(chunk("ok"), chunk(finish="stop"))
    monkeypatch.setenv("GENAI_LAB_TEST_KEY", "sk-test-123")
    assert server.backend(api_key_env="GENAI_LAB_TEST_KEY").generate(QUESTION, GREEDY).collect().text == "ok"
    assert server.requests[-1][0]["Authorization"] == "Bearer sk-test-123"
    monkeypatch.delenv("GENAI_LAB_TEST_KEY")
    with pytest.raises(RemoteModelError, match="GENAI_LAB_TEST_KEY is empty or not set"):
        server.backend(api_key_env="GENAI_LAB_TEST_KEY").generate(QUESTION, GREEDY)


# ---- the reader leaves -----------------------------------------------------------------------------------------
def test_a_reader_that_stops_iterating_closes_the_connection(server):
    def script(handler, body):
        start_events(handler)
        event(handler, chunk("one"))
        event(handler, chunk(" two"))
        server.proceed.wait(10)                 # the test has stopped reading; keep streaming until it hangs up
        try:
            for i in range(100_000):
                event(handler, chunk(f" {i}"))
        except OSError:                         # broken pipe / connection reset: the client closed the connection
            server.client_left.set()
    server.script = script
    stream = server.backend().generate(QUESTION, SamplingSettings(max_new_tokens=1000))
    tokens = iter(stream)
    assert [next(tokens).text, next(tokens).text] == ["one", " two"]
    tokens.close()                              # the page went away
    assert stream.result.stop_reason == "cancelled"
    server.proceed.set()
    assert server.client_left.wait(10), "the client kept the connection open after its reader left"
    stream._request.thread.join(10)
    assert not stream._request.thread.is_alive()


# ---- failures, each in plain words -----------------------------------------------------------------------------
def expect_error(stream, kind, *words):
    """Iterating raises `kind` with all `words` in its message; the result records it."""
    with pytest.raises(kind) as caught:
        stream.collect()
    message = str(caught.value)
    assert all(w in message for w in words), message
    assert "Traceback" not in message and stream.result.stop_reason == f"error: {message}"
    return caught.value


def test_a_server_that_is_down_is_named():
    with socket.socket() as sock:               # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        expect_error(OpenAIBackend(url, "m").generate(QUESTION, GREEDY), ServerUnreachable,
                     url, "connection refused", "is the server running?")


@pytest.mark.parametrize("status, data, words", [
    (500, {"error": {"message": "CUDA out of memory", "type": "InternalServerError"}},
     ["HTTP 500", "CUDA out of memory"]),
    (422, {"detail": "Unexpected fields in the request: {'top_k'}"}, ["HTTP 422", "Unexpected fields", "top_k"]),
    (404, {"error": {"message": "The model `x` does not exist."}}, ["HTTP 404", "does not exist", "Check base_url"]),
    (401, {"error": "invalid api key"}, ["HTTP 401", "invalid api key", "api_key_env"]),
])
def test_an_http_error_status_quotes_the_server(server, status, data, words):
    server.script = lambda handler, body: json_response(handler, status, data)
    error = expect_error(server.backend().generate(QUESTION, GREEDY), ServerHTTPError, *words)
    assert error.status == status


def test_a_stream_line_that_is_not_json(server):
    server.script = answer(chunk("Hel"), '{"choices": [{"delta": {"content": "lo"')
    stream = server.backend().generate(QUESTION, GREEDY)
    expect_error(stream, BadStream, "not valid JSON", '{"choices"')
    assert stream.result.text == "Hel"          # what came before the bad line was delivered


def test_an_error_event_in_the_stream(server):
    server.script = answer(chunk("Hel"), {"error": "the model crashed"})
    expect_error(server.backend().generate(QUESTION, GREEDY), RemoteModelError, "reported an error", "crashed")


def test_a_stream_that_ends_early(server):
    def closes_after_one_token(handler, body):   # no finish reason, no [DONE]: the connection just closes
        start_events(handler)
        event(handler, chunk("Hel"))
    server.script = closes_after_one_token
    expect_error(server.backend().generate(QUESTION, GREEDY), BadStream, "before the answer was complete")
    assert len(server.requests) == 1            # an answer that had started is not asked for again

    def cut_in_a_chunk(handler, body):          # chunked transfer cut in the middle of a chunk
        data = b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n'
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + f"{len(data):x}\r\n".encode() + data + b"\r\n" + b"400\r\ndata: {")
        handler.wfile.flush()
        handler.close_connection = True
    server.script = cut_in_a_chunk
    expect_error(server.backend().generate(QUESTION, GREEDY), BadStream, "closed the connection")


def reset(handler) -> None:
    """Hang up with a TCP reset, before sending anything (what a server whose accept queue is full does)."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def test_a_connection_reset_before_the_answer_is_tried_again(server):
    tries = []

    def resets_twice(handler, body):
        tries.append(body)
        if len(tries) <= 2:
            reset(handler)
        else:
            answer(chunk("Paris"), chunk(finish="stop"))(handler, body)
    server.script = resets_twice
    result = server.backend().generate(QUESTION, GREEDY).collect()
    assert result.text == "Paris" and result.stop_reason == "eos" and len(tries) == 3

    def always_resets(handler, body):
        tries.append(body)
        reset(handler)
    tries.clear()
    server.script = always_resets
    expect_error(server.backend().generate(QUESTION, GREEDY), BadStream, "closed the connection before the answer")
    assert len(tries) == 3                      # the first try and two more, then one sentence


def test_thirty_answers_at_once_from_a_server_with_a_short_accept_queue():
    """A server that keeps 5 connections waiting to be accepted (Python's default) resets some of the rest: a room's
    30 presses at once (page 8 submits every dialogue together) all get their answer."""
    server = FakeServer(backlog=5)
    try:
        server.script = answer(chunk("Paris"), chunk(finish="stop"))
        backend = server.backend()
        streams = [backend.generate(QUESTION, GREEDY) for _ in range(30)]
        assert [stream.collect().text for stream in streams] == ["Paris"] * 30
    finally:
        server.close()


def test_a_silent_server_times_out(server):
    def silent(handler, body):
        start_events(handler)
        server.release.wait(30)                 # says nothing until the test ends
    server.script = silent
    start = time.perf_counter()
    expect_error(server.backend(read_timeout=0.5).generate(QUESTION, GREEDY), ServerTimeout,
                 "sent nothing for 0.5 s", "overloaded")
    assert time.perf_counter() - start < 5


def test_a_server_that_does_not_stream(server):
    server.script = lambda handler, body: json_response(handler, 200, {"choices": []})
    expect_error(server.backend().generate(QUESTION, GREEDY), BadStream, "application/json", "text/event-stream")


# ---- through the model service ---------------------------------------------------------------------------------
def remote_registry(base_url: str, **extra):
    return parse_registry({"models": {"remote": {"kind": "causal-lm", "backend": "openai", "base_url": base_url,
                                                 "model": "fake-model", "display_name": "Remote", **extra}}})


def test_the_model_service_sends_an_openai_model_to_its_server(server, tmp_path):
    """No weights are loaded for it (in `make check` loading any would fail), and the local views say why not."""
    from core.serving.model_service import LoadState, ModelService
    from core.serving.settings import Settings

    server.script = answer(chunk("Paris", [entry("Paris", -0.2, [("Paris", -0.2)])]), chunk(finish="stop"))
    svc = ModelService(Settings.from_env({"GENAI_LAB_CACHE": str(tmp_path)}), registry=remote_registry(server.base_url))
    assert svc.status("remote").state == LoadState.NOT_LOADED and svc.status("remote").disk_bytes == 0
    status = svc.load("remote")
    assert status.state == LoadState.READY and status.message == f"served by {server.base_url}"
    assert svc.is_ready("remote") and server.requests[-1][1] == {}          # GET /models
    result = svc.generate(QUESTION, GREEDY, model="remote").collect()
    assert result.text == "Paris" and result.tokens[0].rank == 1 and result.stop_reason == "eos"
    assert server.requests[-1][1]["model"] == "fake-model" and server.requests[-1][1]["messages"] == QUESTION
    for view in (lambda: svc.tokenize("Hi", model="remote"), lambda: svc.next_token_logits([1, 2], model="remote"),
                 lambda: svc.context_window_of("remote")):
        with pytest.raises(RemoteModelError, match="runs on a model server"):
            view()
    assert svc.status("remote").state == LoadState.READY                   # those errors did not mark it failed
    svc.close()
    with pytest.raises(ServiceClosed):
        svc.generate(QUESTION, GREEDY, model="remote")


def test_loading_an_openai_model_whose_server_is_down_fails_clearly(tmp_path):
    from core.serving.model_service import LoadState, ModelService
    from core.serving.settings import Settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        svc = ModelService(Settings.from_env({"GENAI_LAB_CACHE": str(tmp_path)}),
                           registry=remote_registry(f"http://127.0.0.1:{sock.getsockname()[1]}/v1"))
        with pytest.raises(ServerUnreachable, match="is the server running"):
            svc.load("remote")
    assert svc.status("remote").state == LoadState.FAILED and "connection refused" in svc.status("remote").message


# ---- the real bundled model --------------------------------------------------------------------------------------
_LOCAL: dict = {}


def local_answer(service):
    """The in-process service's greedy answer to QUESTION (computed once per module: the model is the same)."""
    if "greedy" not in _LOCAL:
        _LOCAL["greedy"] = service.generate(QUESTION, GREEDY).collect()
    return _LOCAL["greedy"]


@pytest.mark.model
def test_logprobs_are_the_models_own_probabilities(decoder, server):
    """vLLM-style logprobs streamed by a stdlib server from the real SmolLM2 (transformers serve sends none):
    each token's probability and rank equal the local service's for the same greedy answer."""
    import torch

    stop_ids = decoder.stop_token_ids()

    def real_model(handler, body):
        ids = decoder.chat_ids(body["messages"])
        start_events(handler)
        new: list[int] = []
        finish = "length"
        for _ in range(body["max_tokens"]):
            logprobs = torch.log_softmax(torch.from_numpy(decoder.next_token_logits(ids + new)), -1)   # (vocab,)
            top = torch.topk(logprobs, body["top_logprobs"])
            token = int(top.indices[0])                          # greedy
            if token in stop_ids:
                finish = "stop"
                break
            text = inspection.decode_ids(decoder, new + [token])[len(inspection.decode_ids(decoder, new)):]
            new.append(token)
            alternatives = [{"token": inspection.decode_ids(decoder, [int(i)]), "logprob": float(v)}
                            for i, v in zip(top.indices, top.values)]
            event(handler, chunk(text, [{"token": text, "logprob": float(logprobs[token]),
                                         "top_logprobs": alternatives}]))
        event(handler, chunk(finish=finish) | {"usage": {"prompt_tokens": len(ids)}})
        event(handler, "[DONE]")
    server.script = real_model
    remote, local = server.backend().generate(QUESTION, GREEDY).collect(), local_answer(decoder)
    assert remote.text == local.text and "Paris" in remote.text and remote.has_probabilities
    assert [t.rank for t in remote.tokens] == [t.rank for t in local.tokens] == [1] * len(local.tokens)
    assert [t.prob for t in remote.tokens] == pytest.approx([t.model_prob for t in local.tokens], abs=1e-4)
    assert remote.stop_reason == local.stop_reason and remote.prompt_tokens == local.prompt_tokens


# `transformers serve` (fastapi and openai from requirements-dev.txt) with the bundled SmolLM2 on the CPU: the run's
# one server (`served_smollm2`, tests/conftest.py), also used by the pages' tests.
@pytest.fixture
def transformers_server(served_smollm2):
    base_url, model = served_smollm2
    return OpenAIBackend(base_url, model, read_timeout=120)


@pytest.mark.model
def test_transformers_serve_streams_the_same_greedy_answer_as_the_local_service(transformers_server, decoder):
    stream = transformers_server.generate(QUESTION, GREEDY)
    tokens = list(stream)
    remote, local = stream.result, local_answer(decoder)
    assert remote.text == local.text and "Paris" in remote.text
    assert len(tokens) > 1 and remote.stop_reason == local.stop_reason
    assert remote.prompt_tokens == local.prompt_tokens             # from the server's usage report
    assert not remote.has_probabilities and all(t.prob == 0.0 and t.rank == 0 for t in tokens)


@pytest.mark.model
def test_transformers_serve_stop_sequence_and_seed(transformers_server):
    result = transformers_server.generate(QUESTION, SamplingSettings(temperature=0, max_new_tokens=8,
                                                                     stop_sequences=(" Paris",))).collect()
    assert result.stop_reason == "stop_sequence" and result.stop_sequence == " Paris"
    assert "Paris" not in result.text and result.text.endswith("is")

    def draw(seed: int) -> str:       # temperature 2: nearly even odds among the top 50 (the default top-k)
        hot = SamplingSettings(temperature=2.0, top_p=1.0, max_new_tokens=6, seed=seed)
        return transformers_server.generate([{"role": "user", "content": "Name an animal."}], hot).collect().text
    first = draw(1)
    assert draw(1) == first                                         # the seed makes the draws repeatable
    assert draw(2) != first                                         # and they are draws: another seed, another answer


@pytest.mark.model
def test_transformers_serve_refuses_top_k_with_a_readable_error(transformers_server):
    stream = transformers_server.generate(QUESTION, SamplingSettings(temperature=0, top_k=5, max_new_tokens=4))
    error = expect_error(stream, ServerHTTPError, "HTTP 422", "top_k")
    assert error.status == 422
