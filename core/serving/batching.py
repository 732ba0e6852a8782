"""Continuous batching: one worker serves every session's chat generations in shared forward passes.

A request is data — prompt ids, sampling settings (seed, penalties, stop sequences), stop ids — not a closure.
The worker keeps a batch of running sequences and, between decode steps, admits waiting requests (up to
`max_batch`) and drops the ones that ended or were cancelled, so a newcomer never waits for the others to finish:

    admit:  read the newcomers' prompts together (left-padded, up to 8 per forward pass; an idle worker waits a few
            milliseconds for requests arriving together) → their first tokens → merge their KV cache into the
            batch's, left-padded to the longer of the two (padding is masked out)
    step:   feed every running sequence's last token in one forward pass (B, 1) with a (B, L) attention mask and
            per-row positions → (B, vocab) scores → plain greedy rows take their top token together, on the
            model's device; each other row's `SequenceDecoder` runs its own sampling pipeline
    drop:   rows that hit a stop id, a stop sequence, max_new_tokens, or whose reader left; columns that are
            padding in every remaining row are cut from the left of the cache

Each row's token choice runs through the same `SequenceDecoder` as the single-sequence reference loop
(`generation.decode_stream`), so temperature, top-k/p, penalties, stop sequences and the seed apply per user, and
the same prompt + settings + seed give the same tokens (tests/core/serving/test_batching.py).

Why not transformers' continuous batching (`generate_batch` / `ContinuousBatchingManager`)? On this 2-core CPU it
ran 8 answers at 25.9 tok/s against 41.6 for one padded `model.generate` of the same prompts (bench/serving.py
measured both): its paged cache pays off on GPUs with many sequences, not here. This dynamic-cache batch is a
page of code, uses the model's own attention, and keeps the per-user sampling pipeline.

Back-pressure: at most `max_waiting` requests wait (a further one raises `ServiceBusy` with a message to show);
each stream can tell how many requests are ahead of it (`GenerationStream.ahead`).
"""
from __future__ import annotations

import atexit
import itertools
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from core.serving.generation import DONE as _DONE
from core.serving.generation import GenerationResult, GenerationStream, SequenceDecoder, ServiceClosed, greedy_choices
from core.serving.heap import release_freed_memory
from core.serving.sampling import SamplingSettings


class ServiceBusy(RuntimeError):
    """Too many generation requests are waiting; the message says so in words a participant understands."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt_ids: tuple[int, ...]
    settings: SamplingSettings
    stop_ids: frozenset[int] = frozenset()


@dataclass(eq=False)
class _Row:
    request: GenerationRequest
    decode: Callable[[list[int]], str]
    out: "queue.Queue" = field(default_factory=queue.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    number: int = 0                      # arrival order, for "n ahead of you"
    decoder: SequenceDecoder | None = None
    owner: object = None                 # who asked (a browser session): its next request replaces this one

    def send(self, items) -> None:
        for item in items:
            self.out.put(item)


PREFILL_GROUP = 8          # newcomers whose prompts are read in one forward pass
GATHER_GAP_S = 0.005       # an idle worker that gets a request waits this long for another one to read with it,
GATHER_MAX_S = 0.05        # and gathers at most this long (a lone user's first token comes ≤ 5 ms later)

_LIVE: "weakref.WeakSet[BatchScheduler]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """End every worker before the interpreter shuts down: a daemon thread still inside torch at that moment
    makes the process abort ("terminate called without an active exception", exit code 134)."""
    for scheduler in list(_LIVE):
        scheduler.close(timeout=5)


class BatchScheduler:
    """Serves generation requests for one model in batches. The worker thread starts with the first request and
    ends after `idle_seconds` without any, or at `close()`; it keeps no request (and no model) once served."""

    def __init__(self, source: Callable[[], tuple | None], max_batch: int = 32, max_waiting: int = 256,
                 idle_seconds: float = 60.0):
        # source() -> (model, lock held for each forward pass), or None once the model is gone. Asked at every step
        # and never stored, so an idle worker keeps no model alive (a dropped service is freed at once).
        self._source = source
        self.max_batch, self.max_waiting, self.idle_seconds = max_batch, max_waiting, idle_seconds
        self._waiting: "queue.Queue[_Row]" = queue.Queue()
        self._lock = threading.Lock()            # guards _worker, _closed, _rows against submit/close/idle races
        self._worker: threading.Thread | None = None
        self._closed = False
        self._rows: list[_Row] = []              # running (for close and for counting)
        # each owner's requests not yet freed (weak: a served and read request drops out by itself; see submit)
        self._owned: dict[object, "weakref.WeakSet[_Row]"] = {}
        self._numbers = itertools.count()
        self._served_number = -1                 # highest arrival number admitted so far
        self.steps = 0                           # decode steps run (for benches and tests)
        self.prefills = 0                        # prompt-reading passes run
        self.largest_batch = 0
        _LIVE.add(self)

    # ---- the public side ---------------------------------------------------------------------------------------
    def submit(self, request: GenerationRequest, result: GenerationResult,
               decode: Callable[[list[int]], str], owner: object = None, replace: bool = True) -> GenerationStream:
        """Queue a request; `decode` turns its generated ids into text (special tokens skipped).

        `owner` (a browser session's id): one generation per owner at a time. With `replace`, the owner's earlier
        requests still waiting or running are cancelled (their streams end with stop reason "cancelled"), so a
        second click replaces the first instead of queueing behind it; `replace=False` adds to them (the n
        answers of one "sample n" click)."""
        with self._lock:
            if self._closed:
                raise ServiceClosed()
            if owner is not None and replace:
                for earlier in list(self._owned.pop(owner, ())):
                    earlier.cancel.set()
            if self._waiting.qsize() >= self.max_waiting:
                raise ServiceBusy(f"The model is busy: {self.max_waiting} requests are already waiting. "
                                  "Try again in a moment.")
            row = _Row(request=request, decode=decode, number=next(self._numbers), owner=owner)
            if owner is not None:
                for gone in [o for o, rows in self._owned.items() if not rows]:   # owners whose rows were freed
                    del self._owned[gone]
                self._owned.setdefault(owner, weakref.WeakSet()).add(row)
            self._waiting.put(row)
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name="genai-lab-generation", daemon=True)
                self._worker.start()
        return GenerationStream(row, result, ahead=lambda: self._ahead(row))

    @property
    def waiting(self) -> int:
        return self._waiting.qsize()

    @property
    def running(self) -> int:
        return len(self._rows)

    @property
    def worker(self) -> threading.Thread | None:
        return self._worker

    def _ahead(self, row: _Row) -> int:
        """Requests that will be admitted before this one (0 once it runs)."""
        if row.decoder is not None or row.number <= self._served_number:
            return 0
        return max(0, row.number - self._served_number - 1)

    def close(self, timeout: float = 10.0) -> bool:
        """Refuse new requests, cancel waiting and running ones, end the worker, drop the model. True if it ended."""
        with self._lock:
            self._closed = True
            worker = self._worker
            rows = list(self._rows)
        for row in rows:
            row.cancel.set()
        self._drain_waiting()
        self._waiting.put(None)                  # wakes an idle worker
        if worker is None or worker is threading.current_thread():
            return True
        worker.join(timeout)
        return not worker.is_alive()

    def _drain_waiting(self) -> None:
        while True:
            try:
                row = self._waiting.get_nowait()
            except queue.Empty:
                return
            if row is not None:
                row.cancel.set()
                row.out.put(_DONE)

    # ---- the worker --------------------------------------------------------------------------------------------
    def _serve(self) -> None:
        batch = _Batch()
        try:
            while True:
                if not self._admit(batch):
                    return
                if batch.rows:
                    self._decode_step(batch)
                    if not batch.rows and self._waiting.empty():
                        release_freed_memory()     # the room's answers are done: hand the KV caches' memory back
        finally:
            for row in batch.rows:
                row.cancel.set()
                row.out.put(_DONE)
            with self._lock:
                self._rows = []
                self._worker = None if self._worker is threading.current_thread() else self._worker
            self._drain_waiting()

    def _admit(self, batch: "_Batch") -> bool:
        """Take waiting requests into the batch; False when the worker should end (closed, or idle too long)."""
        newcomers: list[_Row] = []
        gather_until = 0.0
        while len(batch.rows) + len(newcomers) < self.max_batch:
            try:
                if not batch.rows and not newcomers:          # idle: wait for the first request
                    row = self._waiting.get(timeout=self.idle_seconds)
                    gather_until = time.monotonic() + GATHER_MAX_S
                elif not batch.rows and time.monotonic() < gather_until:
                    # A room pressing Generate together: their requests arrive a few milliseconds apart. Reading
                    # them in one pass beats reading the first alone and the rest after it (one pass less).
                    row = self._waiting.get(timeout=GATHER_GAP_S)
                else:
                    row = self._waiting.get_nowait()
            except queue.Empty:
                if batch.rows or newcomers:
                    break
                with self._lock:
                    if self._waiting.empty():        # nothing came meanwhile: end; the next submit starts a worker
                        self._worker = None
                        return False
                continue
            if row is None or self._closed:
                for r in newcomers + ([row] if row is not None else []):
                    r.out.put(_DONE)
                return False
            self._served_number = max(self._served_number, row.number)
            if row.cancel.is_set():
                row.out.put(_DONE)
                continue
            newcomers.append(row)
        for start in range(0, len(newcomers), PREFILL_GROUP):
            self._prefill(batch, newcomers[start:start + PREFILL_GROUP])
        return True

    def _prefill(self, batch: "_Batch", rows: list[_Row]) -> None:
        """Read the newcomers' prompts in one forward pass (left-padded), choose their first tokens, join the batch."""
        source = self._source()
        if source is None:
            for row in rows:
                row.out.put(ServiceClosed())
                row.out.put(_DONE)
            return
        model, lock = source
        device = next(model.parameters()).device
        longest = max(len(row.request.prompt_ids) for row in rows)
        ids = torch.tensor([[0] * (longest - len(r.request.prompt_ids)) + list(r.request.prompt_ids) for r in rows])
        mask = torch.tensor([[0] * (longest - len(r.request.prompt_ids)) + [1] * len(r.request.prompt_ids)
                             for r in rows])                                              # (k, n)
        positions = (mask.cumsum(1) - 1).clamp(min=0)                                       # (k, n)
        try:
            with lock, torch.inference_mode():
                out = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                            use_cache=True)
        except Exception as exc:  # reported to these readers; the running batch carries on
            for row in rows:
                row.out.put(exc)
                row.out.put(_DONE)
            return
        self.prefills += 1
        for row in rows:
            request = row.request
            row.decoder = SequenceDecoder(row.decode, list(request.prompt_ids), request.settings, request.stop_ids)
        choices = _choose(rows, out.logits[:, -1])
        keep = []
        for i, row in enumerate(rows):
            row.send(choices[i])
            if row.decoder.done or row.cancel.is_set():
                row.out.put(_DONE)
            else:
                keep.append(i)
        group = _Batch()
        group.rows, group.cache, group.mask = list(rows), out.cache, mask
        if len(keep) < len(rows):
            group.select(keep)
        if group.rows:
            batch.merge(group)
        with self._lock:
            self._rows = list(batch.rows)
        self.largest_batch = max(self.largest_batch, len(batch.rows))

    def _decode_step(self, batch: "_Batch") -> None:
        source = self._source()
        if source is None:
            for row in batch.rows:
                row.out.put(ServiceClosed())
                row.out.put(_DONE)
            batch.clear()
            return
        model, lock = source
        device = next(model.parameters()).device
        ids = torch.tensor([[row.decoder.last_id] for row in batch.rows], device=device)   # (B, 1)
        positions = batch.mask.sum(-1, keepdim=True).to(device)                            # (B, 1) real tokens so far
        mask = torch.cat([batch.mask, torch.ones(len(batch.rows), 1, dtype=batch.mask.dtype)], dim=1)  # (B, L + 1)
        try:
            with lock, torch.inference_mode():
                out = model(input_ids=ids, attention_mask=mask.to(device), position_ids=positions, cache=batch.cache,
                            use_cache=True)
        except Exception as exc:  # every running reader hears of it; the worker serves the next requests
            for row in batch.rows:
                row.out.put(exc)
                row.out.put(_DONE)
            batch.clear()
            with self._lock:
                self._rows = []
            return
        self.steps += 1
        batch.cache, batch.mask = out.cache, mask
        choices = _choose(batch.rows, out.logits[:, -1])
        keep = []
        for i, row in enumerate(batch.rows):
            if not row.cancel.is_set():
                row.send(choices[i])
            if row.decoder.done or row.cancel.is_set():
                row.out.put(_DONE)
            else:
                keep.append(i)
        if len(keep) < len(batch.rows):
            batch.select(keep)
            with self._lock:
                self._rows = list(batch.rows)


def _choose(rows: list[_Row], logits: torch.Tensor) -> list[list]:
    """Each row's next token from the batch's scores (B, vocab), as the items its stream should receive.

    Plain greedy rows (the usual chat answer) are chosen together in two tensor operations on the model's device;
    rows with sampling or penalties copy their own scores to the CPU and run the sampling pipeline there."""
    items: list[list] = [[] for _ in rows]
    fast = [i for i, row in enumerate(rows) if row.decoder.plain_greedy and not row.cancel.is_set()]
    if fast:
        index = torch.tensor(fast, device=logits.device)
        ids, probs = greedy_choices(logits.index_select(0, index))
        for i, token_id, prob in zip(fast, ids, probs):
            items[i] = rows[i].decoder.accept(token_id, 1.0, 1, prob)
    chosen = set(fast)
    rest = [i for i, row in enumerate(rows) if i not in chosen and not row.cancel.is_set()]
    if rest:
        index = torch.tensor(rest, device=logits.device)
        scores = logits.index_select(0, index).float().cpu()                                # (len(rest), vocab)
        for j, i in enumerate(rest):
            items[i] = rows[i].decoder.step(scores[j])
    return items


class _Batch:
    """The running rows, their shared KV cache (DynamicCache, each layer (B, kv_heads, L, head_dim)) and the
    (B, L) attention mask that marks each row's real tokens (1) and its left padding (0)."""

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self.rows: list[_Row] = []
        self.cache = None
        self.mask: torch.Tensor | None = None       # (B, L) long, on the CPU

    def merge(self, other: "_Batch") -> None:
        """Append another batch's rows, left-padding the shorter cache and mask to the longer one's length."""
        if not self.rows:
            self.rows, self.cache, self.mask = list(other.rows), other.cache, other.mask
            return
        total = max(self.mask.shape[1], other.mask.shape[1])
        layers = []
        for mine, theirs in zip(self.cache.layers, other.cache.layers):
            keys = torch.cat([_left_pad(mine.keys, total), _left_pad(theirs.keys, total)], dim=0)
            values = torch.cat([_left_pad(mine.values, total), _left_pad(theirs.values, total)], dim=0)
            layers.append((keys, values))
        self.cache = _dynamic_cache(layers)
        self.mask = torch.cat([_left_pad(self.mask, total, dim=1), _left_pad(other.mask, total, dim=1)], dim=0)
        self.rows += other.rows

    def select(self, keep: list[int]) -> None:
        if not keep:
            self.clear()
            return
        index = torch.tensor(keep)
        self.rows = [self.rows[i] for i in keep]
        self.mask = self.mask[index]
        # Columns that are padding for every remaining row are dead weight: cut them.
        cut = int((self.mask.cumsum(1) == 0).sum(1).min())
        layers = []
        for layer in self.cache.layers:
            device_index = index.to(layer.keys.device)
            layers.append((layer.keys[device_index, :, cut:], layer.values[device_index, :, cut:]))
        self.cache = _dynamic_cache(layers)
        self.mask = self.mask[:, cut:]


def _left_pad(t: torch.Tensor, total: int, dim: int = 2) -> torch.Tensor:
    """Zeros in front along `dim` up to `total` (keys/values: dim 2 of (B, heads, L, head_dim); mask: dim 1)."""
    missing = total - t.shape[dim]
    if missing <= 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)


def _dynamic_cache(layers: list[tuple[torch.Tensor, torch.Tensor]]):
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=layers)
