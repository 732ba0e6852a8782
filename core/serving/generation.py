"""Streaming text generation and the queue that serves every session's requests.

Chat generations are served in batches by core/serving/batching.py; readers receive a
`GenerationStream` of `GeneratedToken`s either way.

`greedy_continue` is the one greedy decoding loop (attention continuation, quantization
answers); `decode_stream` is the sampling loop behind chat generation. Both step with `_next_logits`.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace

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
    has_probabilities: bool = True     # False when a remote server sent no probabilities (tokens' prob, rank = 0)

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


def greedy_choices(logits: torch.Tensor) -> tuple[list[int], list[float]]:
    """The top-scoring token of each row and its probability under the model (softmax of the raw scores).

    logits: (B, vocab) on any device; only B ids and B probabilities come back to the CPU (on a GPU the scores
    never leave the device)."""
    logits = logits.float()
    top, ids = logits.max(dim=-1)                                           # (B,), (B,)
    probs = torch.exp(top - torch.logsumexp(logits, dim=-1))                # (B,)
    return ids.tolist(), probs.tolist()


class HeldText:
    """Hands out a growing text token by token, holding back what could be the start of a stop sequence.

    `push(token, text)` takes the next token and all the text so far; it returns the items to send: tokens
    (the newest carrying the text released now) and, on a hit, a StopHit, after which `hit` is True. Used by the
    local decoder (SequenceDecoder) and the remote backend (core/serving/openai_backend.py)."""

    def __init__(self, sequences=()):
        self.stops = StopSequences(sequences)
        self.text = ""                             # all text so far
        self.released = 0                          # characters of `text` already handed out with a token
        self.pending: list[GeneratedToken] = []    # tokens held back, their text not yet released
        self.hit = False

    def push(self, token: GeneratedToken, text: str) -> list[GeneratedToken | StopHit]:
        self.text = text
        self.pending.append(replace(token, text=""))
        found = self.stops.find(text, max(0, self.released - MAX_STOP_CHARS)) if self.stops.sequences else None
        if found is not None:
            at, sequence = found
            at = max(at, self.released)
            items: list = list(_release(self.pending, text[self.released:at]))
            self.pending, self.hit = [], True
            return items + [StopHit(sequence=sequence, held_text=text[at:])]
        safe = len(text) - self.stops.pending(text)       # keep back what could still become a stop sequence
        if safe > self.released or not self.stops.sequences:
            items = list(_release(self.pending, text[self.released:safe]))
            self.released, self.pending = max(safe, self.released), []
            return items
        return []

    def flush(self) -> list[GeneratedToken]:
        """The text ended: release what was held back."""
        items = list(_release(self.pending, self.text[self.released:])) if not self.hit else []
        self.pending, self.released = [], len(self.text)
        return items


class SequenceDecoder:
    """One sequence's side of decoding: choose each token from the model's scores and turn tokens into stream items.

    Shared by the single-sequence loop (`decode_stream`, the readable reference) and the batched scheduler
    (core/serving/batching.py), so both apply the same sampling pipeline, seed, penalties, stop ids and stop
    sequences. `step(logits)` takes the scores for this sequence's next token (vocab,) on the CPU and returns the
    items to send (GeneratedToken / StopHit); `done` is True once the sequence has ended. With stop sequences, a
    token whose text could be the start of one is held back until the next tokens show whether it is."""

    def __init__(self, decode: Callable[[list[int]], str], prompt_ids: list[int], settings: SamplingSettings,
                 stop_ids: Collection[int]):
        self.decode, self.prompt_ids, self.settings = decode, list(prompt_ids), settings
        self.stop_ids = frozenset(int(i) for i in stop_ids)
        self.generator = None if settings.seed is None else torch.Generator(device="cpu").manual_seed(settings.seed)
        self.held = HeldText(settings.stop_sequences)
        self.new_ids: list[int] = []
        self.text = ""                             # all generated text so far (complete characters only)
        self.done = False

    @property
    def last_id(self) -> int:
        return self.new_ids[-1]

    @property
    def plain_greedy(self) -> bool:
        """Greedy with no penalties: the token is simply the top-scoring one, with probability 1 and rank 1, so a
        batch can choose it for many rows in one tensor operation on the model's device (`greedy_choices`)."""
        s = self.settings
        return s.greedy and s.repetition_penalty == 1.0 and s.frequency_penalty == 0 and s.presence_penalty == 0

    def step(self, logits: torch.Tensor) -> list[GeneratedToken | StopHit]:
        """logits: (vocab,) float, the model's raw scores for the next token (the sampling pipeline runs on the
        CPU: pass them there unless the decoder is `plain_greedy`)."""
        if self.plain_greedy:
            (token_id,), (model_prob,) = greedy_choices(logits[None])
            return self.accept(token_id, 1.0, 1, model_prob)
        settings = self.settings
        probs = sampling_distribution(logits, settings, self.prompt_ids + self.new_ids, self.new_ids)  # (vocab,)
        token_id = int(probs.argmax()) if settings.greedy else choose_token(probs, self.generator)
        rank = int((logits > logits[token_id]).sum()) + 1
        model_prob = float(torch.softmax(logits, -1)[token_id])
        return self.accept(token_id, float(probs[token_id]), rank, model_prob)

    def accept(self, token_id: int, prob: float, rank: int, model_prob: float) -> list[GeneratedToken | StopHit]:
        """Take the chosen token: end on a stop id, else extend the text and return the items to send."""
        if token_id in self.stop_ids:
            return self.finish()
        self.new_ids.append(token_id)
        # Decode everything so far; a half-finished character ("\ufffd" at the end) waits for the next token.
        decoded = self.decode(self.new_ids)
        if not decoded.endswith("\ufffd"):
            self.text = decoded
        items = self.held.push(GeneratedToken(id=token_id, text="", prob=prob, rank=rank, model_prob=model_prob),
                               self.text)
        if self.held.hit:
            self.done = True
            return items
        if len(self.new_ids) >= self.settings.max_new_tokens:
            return items + self.finish()
        return items

    def finish(self) -> list[GeneratedToken]:
        """End the sequence: release what was held back."""
        items = self.held.flush() if not self.done else []
        self.done = True
        return items


def decode_stream(model, decode: Callable[[list[int]], str], input_ids: torch.Tensor, settings: SamplingSettings,
                  stop_ids: set[int], cancel: threading.Event,
                  lock: threading.RLock) -> Iterator[GeneratedToken | StopHit]:
    """Generate one sequence token by token with a KV cache.  input_ids: (1, prompt_len).

    The reference decode loop: the batched scheduler (core/serving/batching.py) must give the same tokens for
    the same prompt, settings and seed (tests/core/serving/test_batching.py). `decode` turns generated ids into
    text (special tokens skipped); `lock` is held for each forward pass."""
    seq = SequenceDecoder(decode, input_ids[0].tolist(), settings, stop_ids)
    cache, ids = None, input_ids
    while not seq.done:
        if cancel.is_set():
            return
        with lock, torch.inference_mode():
            logits, cache = _next_logits(model, ids, cache)
        yield from seq.step(logits if seq.plain_greedy else logits.float().cpu())
        if not seq.done:
            ids = torch.tensor([[seq.last_id]], device=input_ids.device)


def _release(pending: list[GeneratedToken], new_text: str) -> Iterator[GeneratedToken]:
    """Hand out held-back tokens; the newest one carries the text released now."""
    for i, token in enumerate(pending):
        yield replace(token, text=new_text if i == len(pending) - 1 else "")


DONE = object()            # the last item of every stream (sent by the scheduler)


class GenerationStream:
    """Iterate over it to receive tokens as they are generated; `result` fills in as you go."""

    def __init__(self, request, result: GenerationResult, ahead: Callable[[], int] = lambda: 0):
        self._request = request          # has .out (a queue of items, DONE last) and .cancel (a threading.Event)
        self.result = result
        self._ahead = ahead

    @property
    def ahead(self) -> int:
        """How many requests will start before this one (0 once it is running)."""
        return self._ahead()

    def __iter__(self) -> Iterator[GeneratedToken]:
        start = time.perf_counter()
        try:
            while True:
                item = self._request.out.get()
                if item is DONE:
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

    def stop(self, wait_s: float = 2.0) -> None:
        """Cancel from another thread (a Stop button's callback) and wait up to `wait_s` for the reader to record
        the end, so a page drawn right after sees a finished result; if the reader is slow (its request still
        queued), the result is marked cancelled here."""
        self.cancel()
        deadline = time.monotonic() + wait_s
        while not self.result.stop_reason and time.monotonic() < deadline:
            time.sleep(0.02)                  # the reader's thread records the end within one decode step
        if not self.result.stop_reason:
            self.result.stop_reason = "cancelled"

    def collect(self) -> GenerationResult:
        for _ in self:
            pass
        return self.result
