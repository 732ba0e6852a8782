"""Streaming text generation and the queue that serves every session's requests.

All generation requests go through one `GenerationQueue`. Today a single worker thread
serves them in arrival order, one decode step at a time; because pages only see the
queue, a batching worker for many concurrent users can replace it without touching them.

`greedy_continue` is the one greedy decoding loop (attention continuation, quantization
answers); `decode_stream` is the sampling loop behind chat generation. Both step with `_next_logits`.
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Collection, Iterator

import torch

from core.serving.sampling import MAX_STOP_CHARS, SamplingSettings, StopSequences, choose_token, sampling_distribution


@dataclass(frozen=True)
class GeneratedToken:
    id: int
    text: str          # the new text this token added (may be "" while a character is incomplete)
    prob: float        # probability the model's sampling distribution gave this token
    rank: int          # 1 = it was the model's top choice
    model_prob: float = 0.0   # probability in the model's own distribution (softmax of the raw logits)


@dataclass(frozen=True)
class StopHit:
    """Sent by a decode loop when a stop sequence appeared; the stream records it in the result."""
    sequence: str      # which stop sequence
    held_text: str     # the generated text from the hit on (not part of the result's text)


@dataclass
class GenerationResult:
    tokens: list[GeneratedToken] = field(default_factory=list)
    prompt_tokens: int = 0
    truncated_prompt_tokens: int = 0   # tokens dropped from the start of the prompt to fit the window
    max_new_tokens: int = 0
    stop_reason: str = ""              # "eos", "max_new_tokens", "stop_sequence", "cancelled" or "error: ..."
    seconds_to_first_token: float = 0.0
    seconds: float = 0.0
    stop_sequence: str = ""            # the stop sequence that ended generation, if one did
    stop_text: str = ""                # generated text cut off at the stop sequence (starts with it)

    @property
    def text(self) -> str:
        return "".join(t.text for t in self.tokens)

    @property
    def tokens_per_second(self) -> float:
        return len(self.tokens) / self.seconds if self.seconds > 0 else 0.0


class ServiceClosed(RuntimeError):
    """The model service was closed (its Streamlit cache was cleared); a fresh one serves the next run."""

    def __init__(self, message: str = "the model service was restarted (its caches were cleared); run it again"):
        super().__init__(message)


def _next_logits(model, ids: torch.Tensor, cache):
    """One decoding step with the KV cache: feed `ids` (1, n) after what `cache` holds.

    Returns the raw scores for the next token (vocab,), on the model's device, and the updated cache."""
    out = model(input_ids=ids, cache=cache, use_cache=True)
    return out.logits[0, -1], out.cache


def greedy_continue(model, input_ids: torch.Tensor, max_new_tokens: int, stop_ids: Collection[int] = (),
                    lock: threading.RLock | threading.Lock | None = None) -> list[int]:
    """Greedy decoding (always the most likely token) with a KV cache: the prompt once, then one token per step.

    input_ids: (1, prompt_len) on the model's device. Returns the new token ids; when one is in `stop_ids`
    it ends generation and is the last id returned. `lock` (if given) is held for the whole loop."""
    stop = set(int(i) for i in stop_ids)
    new: list[int] = []
    with (lock or contextlib.nullcontext()), torch.inference_mode():
        ids, cache = input_ids, None
        for _ in range(max_new_tokens):
            logits, cache = _next_logits(model, ids, cache)
            token_id = int(logits.argmax())
            new.append(token_id)
            if token_id in stop:
                break
            ids = torch.tensor([[token_id]], device=input_ids.device)
    return new


def decode_stream(model, decode: Callable[[list[int]], str], input_ids: torch.Tensor, settings: SamplingSettings,
                  stop_ids: set[int], cancel: threading.Event, lock: threading.RLock) -> Iterator[GeneratedToken | StopHit]:
    """Generate token by token with a KV cache.  input_ids: (1, prompt_len).

    `decode` turns generated ids into text (special tokens skipped); `lock` is held for each forward pass.
    Every token goes through the sampling pipeline of core/serving/sampling.py. With stop sequences, a token whose
    text could be the start of one is held back until the next tokens show whether it is.
    """
    generator = None
    if settings.seed is not None:
        generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    stops = StopSequences(settings.stop_sequences)
    prompt_ids = input_ids[0].tolist()
    cache, ids = None, input_ids
    new_ids: list[int] = []
    text = ""                                  # all generated text so far (complete characters only)
    released = 0                               # characters of `text` already handed out with a token
    pending: list[GeneratedToken] = []         # tokens held back, their text not yet released
    for _ in range(settings.max_new_tokens):
        if cancel.is_set():
            return
        with lock, torch.inference_mode():
            logits, cache = _next_logits(model, ids, cache)
        logits = logits.float().cpu()                                               # (vocab,)
        probs = sampling_distribution(logits, settings, prompt_ids + new_ids, new_ids)  # (vocab,)
        token_id = int(probs.argmax()) if settings.greedy else choose_token(probs, generator)
        if token_id in stop_ids:
            break
        rank = int((logits > logits[token_id]).sum()) + 1
        model_prob = float(torch.softmax(logits, -1)[token_id])
        new_ids.append(token_id)
        # Decode everything so far; a half-finished character ("\ufffd" at the end) waits for the next token.
        decoded = decode(new_ids)
        if not decoded.endswith("\ufffd"):
            text = decoded
        pending.append(GeneratedToken(id=token_id, text="", prob=float(probs[token_id]), rank=rank,
                                      model_prob=model_prob))
        hit = stops.find(text, max(0, released - MAX_STOP_CHARS)) if stops.sequences else None
        if hit is not None:
            at, sequence = hit
            at = max(at, released)
            yield from _release(pending, text[released:at])
            yield StopHit(sequence=sequence, held_text=text[at:])
            return
        safe = len(text) - stops.pending(text)       # keep back what could still become a stop sequence
        if safe > released or not stops.sequences:
            yield from _release(pending, text[released:safe])
            released, pending = max(safe, released), []
        ids = torch.tensor([[token_id]], device=input_ids.device)
    yield from _release(pending, text[released:])


def _release(pending: list[GeneratedToken], new_text: str) -> Iterator[GeneratedToken]:
    """Hand out held-back tokens; the newest one carries the text released now."""
    for i, token in enumerate(pending):
        yield replace(token, text=new_text if i == len(pending) - 1 else "")


_DONE = object()
_STOP = object()           # put on the queue by close(): the worker ends


@dataclass
class _Request:
    run: Callable[[threading.Event], Iterator[GeneratedToken]] | None   # dropped once served (it holds the model)
    out: "queue.Queue"
    cancel: threading.Event


class GenerationStream:
    """Iterate over it to receive tokens as they are generated; `result` fills in as you go."""

    def __init__(self, request: _Request, result: GenerationResult):
        self._request = request
        self.result = result

    def __iter__(self) -> Iterator[GeneratedToken]:
        start = time.perf_counter()
        try:
            while True:
                item = self._request.out.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    self.result.stop_reason = f"error: {item}"
                    raise item
                if isinstance(item, StopHit):
                    self.result.stop_reason = "stop_sequence"
                    self.result.stop_sequence, self.result.stop_text = item.sequence, item.held_text
                    continue
                if not self.result.tokens:
                    self.result.seconds_to_first_token = time.perf_counter() - start
                self.result.tokens.append(item)
                yield item
            if not self.result.stop_reason:
                if self._request.cancel.is_set():
                    self.result.stop_reason = "cancelled"
                elif len(self.result.tokens) >= self.result.max_new_tokens > 0:
                    self.result.stop_reason = "max_new_tokens"
                else:
                    self.result.stop_reason = "eos"
        finally:
            # The reader went away (page closed, new click): tell the worker to stop early.
            if not self.result.stop_reason:
                self.result.stop_reason = "cancelled"
            self._request.cancel.set()
            self.result.seconds = time.perf_counter() - start

    def cancel(self) -> None:
        self._request.cancel.set()

    def collect(self) -> GenerationResult:
        for _ in self:
            pass
        return self.result


class GenerationQueue:
    """A FIFO of generation requests served by one background worker thread.

    The worker starts with the first request and ends after `idle_seconds` without one, or at `close()`.
    Between requests it holds nothing of the last one: a request's `run` closes over the model, and a worker
    that kept it would keep the model alive after its service is dropped (Streamlit's "Clear caches")."""

    def __init__(self, idle_seconds: float = 60.0):
        self.idle_seconds = idle_seconds
        self._queue: "queue.Queue[_Request]" = queue.Queue()
        self._lock = threading.Lock()           # guards _worker and _closed against submit/idle-exit races
        self._worker: threading.Thread | None = None
        self._current: _Request | None = None
        self._closed = False

    def submit(self, run: Callable[[threading.Event], Iterator[GeneratedToken]], result: GenerationResult) -> GenerationStream:
        request = _Request(run=run, out=queue.Queue(), cancel=threading.Event())
        with self._lock:
            if self._closed:
                raise ServiceClosed()
            self._queue.put(request)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="genai-lab-generation", daemon=True)
                self._worker.start()
        return GenerationStream(request, result)

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    @property
    def worker(self) -> threading.Thread | None:
        """The worker thread; None before the first request, after `idle_seconds` without one, and after close()."""
        return self._worker

    def close(self, timeout: float = 10.0) -> bool:
        """Refuse new requests, cancel the waiting and the running one, and end the worker thread.

        Readers of cancelled requests see stop_reason "cancelled". Returns True when no worker is left."""
        with self._lock:
            self._closed = True
            worker = self._worker
        while True:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                break
            if request is not _STOP:
                request.cancel.set()
                request.run = None
                request.out.put(_DONE)
        current = self._current
        if current is not None:
            current.cancel.set()
        self._queue.put(_STOP)
        if worker is None or worker is threading.current_thread():
            return True
        worker.join(timeout)
        return not worker.is_alive()

    def _serve(self) -> None:
        while True:
            try:
                request = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():     # nothing came meanwhile: end; the next submit starts a worker
                        self._worker = None
                        return
                continue
            if request is _STOP:
                with self._lock:
                    self._worker = None
                return
            self._current = request
            try:
                if self._closed:
                    request.cancel.set()
                if not request.cancel.is_set() and request.run is not None:
                    for token in request.run(request.cancel):
                        request.out.put(token)
            except Exception as exc:  # reported to the reader, the worker keeps serving others
                request.out.put(exc)
            finally:
                request.run = None
                request.out.put(_DONE)
                self._current = request = None
