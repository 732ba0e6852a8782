"""Chat generation on a server that speaks the OpenAI chat API: vLLM, `transformers serve`, llama.cpp's server.

A registry entry with `backend: openai` (core/serving/registry.py) sends its chats here instead of to the
in-process batch scheduler. The caller gets the same `GenerationStream` of `GeneratedToken`s: a thread per request
POSTs to `<base_url>/chat/completions` with `stream: true`, reads the server-sent events line by line and puts
tokens on the stream's queue; a reader that stops iterating sets `cancel`, and the thread then closes the HTTP
connection (at the next line the server sends), which tells the server to stop generating.

SamplingSettings → request fields:

    temperature, top_p, max_tokens (= max_new_tokens)       always
    seed                                                    when set
    frequency_penalty, presence_penalty, stop               when not at their no-op value (0, 0, none)
    top_k, repetition_penalty                               when not off (0, 1.0): not OpenAI fields, extras that
                                                            vLLM reads; llama.cpp reads top_k and ignores the other
    logprobs: true, top_logprobs: 5                         unless the registry entry says `logprobs: false`
    stream_options.include_usage: true

What a server may ignore or treat differently (transformers 5.24's `transformers serve` was run against this code,
tests/core/serving/test_openai_backend.py; vLLM and llama.cpp are described from their documentation):
- `transformers serve` ignores logprobs/top_logprobs (tokens then have prob 0.0 and rank 0, and the result says
  `has_probabilities = False`), presence_penalty and stream_options; it maps frequency_penalty to
  repetition_penalty = 1 + frequency_penalty (not OpenAI's subtraction); it REJECTS top_k and repetition_penalty
  (HTTP 422, "Unexpected fields"); it samples only when the model's generation_config.json says `do_sample: true`
  (otherwise every temperature > 0 is greedy), and then `seed` makes the draws repeatable; it keeps a stop
  sequence in the text it sends (this client cuts it, below) and ends the stream without `data: [DONE]`; when the
  end-of-sequence token is the last one allowed, it reports finish_reason "length" (here: "max_new_tokens").
- vLLM returns log-probabilities of the model's raw or of the processed distribution (its `--logprobs-mode`
  option; check your version's default), and reports which stop sequence ended an answer (`stop_reason`).
- A token's `prob` and `model_prob` are both exp(logprob) as the server sent it; the chat API carries no token
  ids, so every `GeneratedToken.id` is -1.

Stop sequences are also checked here, on the streamed text, exactly as the local decoder does (text that could be
the start of one is held back until the next tokens decide), so every server gives `stop_reason="stop_sequence"`,
`result.stop_sequence` and text without the stop sequence.

Failures reach the reader as a `RemoteModelError` raised while iterating (stop_reason "error: ..."), its message
in plain words: server down, timeouts (connect 5 s; read `read_timeout`, per model in the registry), an HTTP error
status (with the server's own message), a stream line that is not JSON, a stream that ends before the answer does.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import httpx2 as httpx  # httpx's API; installed with huggingface_hub and pinned in requirements.txt

from core.serving.generation import DONE, GeneratedToken, GenerationResult, GenerationStream, HeldText, StopHit
from core.serving.sampling import SamplingSettings

CONNECT_TIMEOUT = 5.0      # seconds to open a connection to the server
TOP_LOGPROBS = 5           # alternatives asked for at each token (the rank is computed from them)
MAX_ERROR_CHARS = 300      # how much of a server's error message is quoted
# A connection reset before the server sent a byte of its answer (a busy server's full accept queue) is tried again:
# the server did not start that answer. Pauses between the tries, in seconds.
RESET_RETRY_PAUSES_S = (0.2, 0.5)


class RemoteModelError(RuntimeError):
    """A model server could not answer; the message says why in words a participant or instructor understands."""


class ServerUnreachable(RemoteModelError):
    """Nothing answered at the server's address (not running, wrong address, firewall)."""


class ServerTimeout(RemoteModelError):
    """The server accepted no connection, or sent nothing, within the time allowed."""


class ServerHTTPError(RemoteModelError):
    """The server answered with an HTTP error status; `status` is the code, the message quotes the server."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class BadStream(RemoteModelError):
    """The server's event stream was not what the OpenAI chat API sends (not JSON, or cut short)."""


# ---- the request ------------------------------------------------------------------------------------------------
def request_body(model: str, messages: Sequence[dict], settings: SamplingSettings, logprobs: bool = True) -> dict:
    """The JSON body of a streaming chat completion request for these messages and sampling settings (without
    `logprobs`, the server is not asked for each token's probability)."""
    body: dict = {
        "model": model,
        "messages": [{"role": str(m.get("role", "user")), "content": m["content"]} for m in messages],
        "stream": True,
        "max_tokens": settings.max_new_tokens,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "stream_options": {"include_usage": True},     # the prompt's token count, in the last event
    }
    if logprobs:
        body["logprobs"], body["top_logprobs"] = True, TOP_LOGPROBS
    if settings.seed is not None:
        body["seed"] = settings.seed
    if settings.frequency_penalty:
        body["frequency_penalty"] = settings.frequency_penalty
    if settings.presence_penalty:
        body["presence_penalty"] = settings.presence_penalty
    if settings.stop_sequences:
        body["stop"] = list(settings.stop_sequences)
    # Not OpenAI fields: sent only when they change something, because some servers refuse unknown fields.
    if settings.top_k:
        body["top_k"] = settings.top_k
    if settings.repetition_penalty != 1.0:
        body["repetition_penalty"] = settings.repetition_penalty
    return body


# ---- reading the stream -----------------------------------------------------------------------------------------
def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each server-sent event, from the response's lines.

    SSE framing: `data: ...` lines (several are joined with a newline), a blank line ends the event; comments
    (`: ...`) and other fields (`event:`, `id:`, `retry:`) are skipped."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:                       # a last event without its blank line
        yield "\n".join(data)


def _probability(entry: dict) -> float | None:
    """exp(logprob) of one token's log-probability entry, or None when the server gave none."""
    logprob = entry.get("logprob")
    if not isinstance(logprob, (int, float)) or isinstance(logprob, bool) or math.isnan(logprob):
        return None
    return min(1.0, math.exp(logprob)) if logprob > -745 else 0.0      # exp underflows to 0 below ~ -745


def _rank(entry: dict) -> int:
    """1 = the server's most likely token, computed from `top_logprobs`; 0 when they cannot tell."""
    logprob, token = entry.get("logprob"), entry.get("token")
    top = [t for t in entry.get("top_logprobs") or []
           if isinstance(t, dict) and isinstance(t.get("logprob"), (int, float))]
    if not isinstance(logprob, (int, float)) or not top:
        return 0
    listed = any(t.get("token") == token for t in top) or logprob >= min(t["logprob"] for t in top)
    if not listed:                 # less likely than every alternative shown: somewhere below them
        return 0
    return 1 + sum(1 for t in top if t.get("token") != token and t["logprob"] > logprob)


def chunk_tokens(choice: dict) -> list[tuple[str, float | None, int]]:
    """(text, probability or None, rank or 0) for each token in one streamed choice.

    With log-probabilities there is one entry per token; their `token` strings are the texts when they add up to
    the delta's content (vLLM writes byte pieces as "bytes:\\xe2..."; then the whole content goes to the last one).
    Without them, the delta is one token (transformers serve sends one event per token)."""
    content = (choice.get("delta") or {}).get("content") or ""
    entries = [e for e in ((choice.get("logprobs") or {}).get("content") or []) if isinstance(e, dict)]
    if not entries:
        return [(content, None, 0)] if content else []
    texts = [str(e.get("token", "")) for e in entries]
    if "".join(texts) != content:
        texts = [""] * (len(entries) - 1) + [content]
    return [(text, _probability(e), _rank(e)) for text, e in zip(texts, entries)]


def _error_text(data: object) -> str:
    """The message in a parsed error body or event: OpenAI/vLLM {"error": {"message"}}, transformers serve
    {"error": "..."}, FastAPI {"detail": ...}; "" when there is none."""
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    found = (error.get("message") if isinstance(error, dict) else error) or data.get("detail") or data.get("message")
    return "" if not found else found if isinstance(found, str) else json.dumps(found)


def _server_message(body: bytes) -> str:
    """A server's error body as one short line: its JSON message, else its text (an HTML page: its words)."""
    text = body.decode("utf-8", "replace")
    try:
        text = _error_text(json.loads(text)) or text
    except ValueError:
        pass
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return (text[:MAX_ERROR_CHARS] + ("…" if len(text) > MAX_ERROR_CHARS else "")) or "(no message)"


# ---- the backend ------------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _RemoteRequest:
    """What a GenerationStream reads: `out` (tokens, a StopHit, an exception; DONE last) and `cancel`."""
    out: "queue.Queue" = field(default_factory=queue.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None       # the thread reading the server's stream


class OpenAIBackend:
    """Streams chat answers from one model on an OpenAI-compatible server. Thread-safe; one per registry entry."""

    def __init__(self, base_url: str, model: str, api_key_env: str = "", read_timeout: float = 60.0,
                 connect_timeout: float = CONNECT_TIMEOUT, logprobs: bool = True):
        self.base_url = base_url.rstrip("/")
        self.model, self.api_key_env, self.logprobs = model, api_key_env, logprobs
        self.read_timeout, self.connect_timeout = float(read_timeout), float(connect_timeout)
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec) -> "OpenAIBackend":
        """The backend of a registry entry with `backend: openai` (core/serving/registry.ModelSpec)."""
        return cls(spec.base_url, spec.model, spec.api_key_env, spec.read_timeout, logprobs=spec.logprobs)

    def _http(self) -> httpx.Client:
        """The shared HTTP client (a connection pool), made on first use."""
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=httpx.Timeout(connect=self.connect_timeout, read=self.read_timeout,
                                          write=self.connect_timeout, pool=self.connect_timeout),
                    # No cap on connections: each running answer holds one for as long as it streams.
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
                    trust_env=False)    # the model server is on the workshop's own network: no HTTP_PROXY detour
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "").strip()
            if not key:
                raise RemoteModelError(f"The environment variable {self.api_key_env} is empty or not set; it should "
                                       f"hold the API key for the model server at {self.base_url}.")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    # ---- checking the server ------------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Ask the server which models it serves (GET <base_url>/models). Raises RemoteModelError if it cannot."""
        try:
            response = self._http().get(f"{self.base_url}/models", headers=self._headers(),
                                        timeout=httpx.Timeout(self.connect_timeout, read=min(self.read_timeout, 10.0)))
        except httpx.HTTPError as exc:
            raise self._plain(exc) from exc
        if response.status_code >= 400:
            raise self._http_error(response.status_code, response.reason_phrase, response.content)
        try:
            return [str(m.get("id")) for m in response.json().get("data", []) if isinstance(m, dict)]
        except (ValueError, AttributeError):
            return []

    # ---- generating ---------------------------------------------------------------------------------------------
    def generate(self, messages: Sequence[dict], settings: SamplingSettings) -> GenerationStream:
        """Start a streamed chat answer; iterate over the returned stream to receive tokens as they come."""
        headers = self._headers()             # a missing API key is a mistake to report now, not in the stream
        body = request_body(self.model, messages, settings, logprobs=self.logprobs)
        result = GenerationResult(max_new_tokens=settings.max_new_tokens)
        request = _RemoteRequest()
        request.thread = threading.Thread(target=self._serve, args=(request, body, headers, settings, result),
                                          name="genai-lab-remote-generation", daemon=True)
        request.thread.start()
        return GenerationStream(request, result)

    def _serve(self, request: _RemoteRequest, body: dict, headers: dict, settings: SamplingSettings,
               result: GenerationResult) -> None:
        """The request's thread: stream the answer onto request.out; an error goes there too; DONE always last."""
        try:
            self._stream(request, body, headers, settings, result)
        except RemoteModelError as exc:
            request.out.put(exc)
        except httpx.HTTPError as exc:
            request.out.put(self._plain(exc))
        except Exception as exc:  # never leave the reader waiting: anything else is reported too
            request.out.put(RemoteModelError(f"Reading the answer from the model server at {self.base_url} failed "
                                             f"({type(exc).__name__}: {exc})."))
        finally:
            request.out.put(DONE)

    def _stream(self, request: _RemoteRequest, body: dict, headers: dict, settings: SamplingSettings,
                result: GenerationResult) -> None:
        stops = HeldText(settings.stop_sequences)
        finish, server_stop, done = None, None, False
        # Leaving this block (answer complete, reader gone, stop sequence, error) closes the HTTP connection.
        with contextlib.ExitStack() as stack:
            response = self._open(stack, request, body, headers)
            if response is None:
                return                                   # the reader left while the request was tried again
            if response.status_code >= 400:
                raise self._http_error(response.status_code, response.reason_phrase, _read_some(response))
            kind = response.headers.get("content-type", "")
            if "text/event-stream" not in kind:
                raise BadStream(f"The model server at {self.base_url} answered with {kind or 'no content type'} "
                                "instead of a stream of events (text/event-stream): is it an OpenAI-compatible API?")
            for data in sse_data(response.iter_lines()):
                if request.cancel.is_set():
                    return                               # the reader left: hang up, the server stops generating
                if data.strip() == "[DONE]":
                    done = True
                    break
                chunk = self._decode_event(data)
                usage = chunk.get("usage")
                if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
                    result.prompt_tokens = usage["prompt_tokens"]
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    for text, prob, rank in chunk_tokens(choice):
                        if prob is None:
                            result.has_probabilities = False
                        token = GeneratedToken(id=-1, text=text, prob=prob or 0.0, rank=rank, model_prob=prob or 0.0)
                        for item in stops.push(token, stops.text + token.text):
                            request.out.put(item)
                        if stops.hit:
                            return                       # a stop sequence: the answer is complete, hang up
                    if choice.get("finish_reason"):
                        finish, server_stop = choice["finish_reason"], choice.get("stop_reason")
        if request.cancel.is_set():
            return
        if not done and finish is None:
            raise BadStream(f"The model server at {self.base_url} ended the stream before the answer was complete "
                            "(no finish reason and no [DONE]); it may have crashed or restarted.")
        if finish in ("abort", "error"):                 # vLLM: the request was aborted on the server's side
            raise RemoteModelError(f"The model server at {self.base_url} stopped the answer ({finish}).")
        for item in stops.flush():
            request.out.put(item)
        if finish == "stop" and isinstance(server_stop, str) and server_stop in settings.stop_sequences:
            request.out.put(StopHit(sequence=server_stop, held_text=server_stop))   # vLLM cut it from the text
        elif finish == "length":
            result.stop_reason = "max_new_tokens"
        else:
            result.stop_reason = "eos"

    def _open(self, stack: contextlib.ExitStack, request: _RemoteRequest, body: dict, headers: dict):
        """Send the request and read the answer's status line and headers (the response, entered on `stack`).
        A connection the server resets or closes before any of that arrived did not start an answer: it is tried
        again after each of RESET_RETRY_PAUSES_S (a server whose accept queue is full resets new connections while
        a room presses at once). None when the reader left meanwhile."""
        for pause in (*RESET_RETRY_PAUSES_S, None):
            try:
                return stack.enter_context(self._http().stream("POST", f"{self.base_url}/chat/completions",
                                                               json=body, headers=headers))
            except (httpx.ReadError, httpx.RemoteProtocolError):
                if pause is None:
                    raise
            if request.cancel.wait(pause):
                return None

    def _decode_event(self, data: str) -> dict:
        """One event's JSON (a chat.completion.chunk); an error event raises with the server's message."""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise BadStream(f"The model server at {self.base_url} sent a stream line that is not valid JSON: "
                            f"{data[:80]!r}") from None
        if not isinstance(chunk, dict):
            raise BadStream(f"The model server at {self.base_url} sent {data[:80]!r} where the chat API sends an "
                            "object")
        if chunk.get("error"):
            raise RemoteModelError(f"The model server at {self.base_url} reported an error while answering: "
                                   f"{_error_text(chunk)[:MAX_ERROR_CHARS]}")
        return chunk

    # ---- errors in plain words ----------------------------------------------------------------------------------
    def _plain(self, exc: httpx.HTTPError) -> RemoteModelError:
        where = f"the model server at {self.base_url}"
        if isinstance(exc, httpx.ConnectTimeout):
            return ServerTimeout(f"No connection to {where} within {self.connect_timeout:g} s: is the address "
                                 "right and the machine up?")
        if isinstance(exc, httpx.ReadTimeout):
            return ServerTimeout(f"{where[0].upper() + where[1:]} sent nothing for {self.read_timeout:g} s; it may "
                                 "be overloaded. Try again in a moment.")
        if isinstance(exc, httpx.TimeoutException):
            return ServerTimeout(f"{where[0].upper() + where[1:]} did not respond in time. Try again in a moment.")
        if isinstance(exc, httpx.ConnectError):
            reason = "connection refused" if "refused" in str(exc).lower() else str(exc) or type(exc).__name__
            return ServerUnreachable(f"Cannot reach {where} ({reason}): is the server running?")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return BadStream(f"{where[0].upper() + where[1:]} closed the connection before the answer was complete.")
        return RemoteModelError(f"Talking to {where} failed ({type(exc).__name__}: {exc}).")

    def _http_error(self, status: int, reason: str, body: bytes) -> ServerHTTPError:
        message = f"The model server at {self.base_url} answered HTTP {status} {reason}: {_server_message(body)}"
        if status in (401, 403):
            message += (f" Check the API key in {self.api_key_env}." if self.api_key_env else
                        " It wants an API key: name the variable that holds it with api_key_env in the registry.")
        elif status == 404:
            message += f" Check base_url (it usually ends in /v1) and the model name {self.model!r}."
        return ServerHTTPError(message, status)


def _read_some(response: httpx.Response, limit: int = 65_536) -> bytes:
    """The start of an error response's body (enough for its message)."""
    body = b""
    for part in response.iter_bytes():
        body += part
        if len(body) >= limit:
            break
    return body
