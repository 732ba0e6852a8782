"""The one model service of the process, shared by every browser session.

It knows the registry, loads each model lazily on first use (once, even when many sessions ask at the same
moment), and answers typed requests: tokenize, embed, attentions, next-token scores and streaming chat generation.
Pages never hold a model.

Each registered model is reached through a `Backend`, picked once when the service is made: `LocalBackend` for a
model loaded in this process (its chats go to the batch scheduler, core/serving/batching.py) and `RemoteBackend`
for a `backend: openai` entry (its chats go to a model server, core/serving/openai_backend.py). Whatever reads a
model's weights, tokenizer or attention asks the backend for its `LocalModel`; a remote backend has none and
says so in one error. The views that only some labs need (embeddings, neighbours, log-probabilities of given
continuations...) are functions over a `LocalModel` in core/serving/inspection.py.
"""
from __future__ import annotations

import contextlib
import copy
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import numpy as np
import torch

from core.serving.batching import BatchScheduler, GenerationRequest
from core.serving.device import describe_device, pick_device, set_torch_threads
from core.serving.generation import GenerationResult, GenerationStream, ServiceClosed
from core.serving.loaders import ModelFiles, Progress, load_model, load_tokenizer, no_progress, resolve_files
from core.serving.openai_backend import OpenAIBackend, RemoteModelError
from core.serving.registry import ModelSpec, Registry, load_registry
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings
from core.serving.tokens import Token, Tokenization, readable_piece

MAX_TEXT_CHARS = 200_000   # longer input is refused with a message rather than tokenized


def check_text(text: str, what: str = "text") -> None:
    """Refuse what is not a string, or a string longer than MAX_TEXT_CHARS, with a message that names it."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"{what} is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")


def fit_to_window(ids: torch.Tensor, window: int, max_new_tokens: int) -> tuple[torch.Tensor, int]:
    """Cut a prompt (1, n) so prompt + generated tokens fit the window; keep its end, where the question is.

    Returns the kept ids and how many tokens were dropped from the start.
    """
    if not 0 < max_new_tokens < window:
        raise ValueError(f"max_new_tokens must be between 1 and {window - 1}")
    budget = window - max_new_tokens
    dropped = max(0, ids.shape[1] - budget)
    return ids[:, dropped:], dropped


class LoadState(str, Enum):
    NOT_LOADED = "not loaded"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    label: str
    kind: str
    state: LoadState
    message: str            # the latest progress message, or the error
    disk_bytes: int         # size of the files the model comes from
    parameters: int         # 0 until loaded
    memory_bytes: int       # bytes of the loaded weights (0 until loaded)
    load_seconds: float


@dataclass(frozen=True)
class Attentions:
    tokens: tuple[str, ...]      # readable token texts, in order
    weights: np.ndarray          # (layers, heads, seq, seq); each row sums to 1
    truncated_from: int          # original token count when the input was cut to max_tokens, else 0


class _Slot:
    """One registered model's loading state."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.lock = threading.RLock()          # held while loading; also serialises forward passes
        self.tokenizer_lock = threading.Lock() # fast tokenizers fail ("Already borrowed") when shared by threads
        self.disk_bytes: int | None = None
        self.files: ModelFiles | None = None
        self.tokenizer = None
        self.model = None
        self.state = LoadState.NOT_LOADED
        self.message = ""
        self.load_seconds = 0.0
        self.byte_level: bool | None = None    # known once the tokenizer is loaded
        self.window: int = 0                   # context window in tokens, once known
        self.derived: dict = {}                # computed from the loaded weights (inspection.py); dropped with them
        self.backend: Backend | None = None    # set once by ModelService.__init__


def _is_byte_level(tokenizer) -> bool:
    """Byte-level BPE vocabularies write a leading space as "Ġ"; WordPiece ones never do."""
    return any(piece.startswith("Ġ") for piece in tokenizer.get_vocab())


def eager_attentions(net, ids: torch.Tensor) -> np.ndarray:
    """Attention weights (layers, heads, seq, seq) for `ids`. Call with the model's lock held.

    Only the eager implementation returns attention weights; sdpa is faster for everything else. Every
    forward pass holds the model's lock, so switching here cannot affect another request."""
    net.set_attn_implementation("eager")
    try:
        out = net(input_ids=ids, output_attentions=True)
    finally:
        net.set_attn_implementation("sdpa")
    return torch.stack(out.attentions, dim=1)[0].float().cpu().numpy()


# ---- a model loaded in this process ----------------------------------------------------------------------------
class LocalModel:
    """A model loaded in this process, as the service lends it: its network, its tokenizer, and the locks that
    guard them. Tokenizer calls go through it one thread at a time (a fast tokenizer raises "Already borrowed"
    when one thread changes its padding or truncation while another uses it); a forward pass holds `lock`, or
    runs inside `with model.borrow() as net:`. The weights and tokenizer load on first use, once."""

    def __init__(self, service: "ModelService", slot: _Slot):
        self._service, self._slot = service, slot

    @property
    def spec(self) -> ModelSpec:
        return self._slot.spec

    @property
    def name(self) -> str:
        return self._slot.spec.name

    @property
    def device(self) -> torch.device:
        return self._service.device

    @property
    def lock(self) -> threading.RLock:
        """Held for every forward pass of this model (and while it loads)."""
        return self._slot.lock

    @property
    def derived(self) -> dict:
        """A cache of values computed from the weights (e.g. embedding norms); emptied when the service closes."""
        return self._slot.derived

    def tokenizer(self, progress: Progress = no_progress):
        return self._service._load_tokenizer(self._slot, progress)

    def net(self, progress: Progress = no_progress):
        """The loaded network (loads it on first use)."""
        return self._service._load_weights(self._slot, progress)

    def borrow(self, progress: Progress = no_progress):
        """`with model.borrow() as net:` — the shared network for read-only forward passes.

        Loads it now; holds its lock for the whole block (other requests wait), so keep the block short and never
        change the model inside it."""
        net, lock = self.net(progress), self._slot.lock

        @contextlib.contextmanager
        def hold() -> Iterator:
            with lock:
                yield net
        return hold()

    def encode(self, text, **kwargs):
        tok = self.tokenizer()
        with self._slot.tokenizer_lock:
            return tok(text, **kwargs)

    def pieces(self, ids: Sequence[int]) -> list[str]:
        tok = self.tokenizer()
        with self._slot.tokenizer_lock:
            return tok.convert_ids_to_tokens([int(i) for i in ids])

    def decode(self, ids: Sequence[int]) -> str:
        tok = self.tokenizer()
        with self._slot.tokenizer_lock:
            return tok.decode(list(ids), skip_special_tokens=True)

    def vocabulary(self) -> dict[str, int]:
        tok = self.tokenizer()
        with self._slot.tokenizer_lock:
            return tok.get_vocab()

    def byte_level(self) -> bool:
        slot = self._slot
        if slot.byte_level is None:
            tok = self.tokenizer()
            with slot.tokenizer_lock:
                slot.byte_level = _is_byte_level(tok)
        return slot.byte_level

    def readable(self, ids: Sequence[int]) -> list[str]:
        """The readable text of each token id (byte pieces as <F0>, a leading space as a space)."""
        byte_level = self.byte_level()
        return [readable_piece(p, byte_level) for p in self.pieces(ids)]

    def stop_ids(self) -> set[int]:
        """Token ids that end a chat answer: the tokenizer's end-of-sequence and ChatML's end markers."""
        tok = self.tokenizer()
        with self._slot.tokenizer_lock:
            candidates = [tok.eos_token_id] + tok.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
        return {i for i in candidates if isinstance(i, int) and i >= 0 and i != tok.unk_token_id}

    def context_window(self) -> int:
        """Tokens the model reads at once, found without loading the weights when possible."""
        slot = self._slot
        if not slot.window:
            slot.window = self._find_context_window()
        return slot.window

    def _find_context_window(self) -> int:
        slot = self._slot
        if slot.spec.kind == "sentence-encoder" and slot.spec.max_seq_length:
            return slot.spec.max_seq_length
        if slot.model is not None:
            return int(slot.model.config.max_position_embeddings)
        tok = self.tokenizer()
        limit = getattr(tok, "model_max_length", 0) or 0
        if 0 < limit < 1_000_000:
            return int(limit)
        from transformers import AutoConfig
        files = self._service._files(slot)
        return int(AutoConfig.from_pretrained(files.hub_id or files.folder).max_position_embeddings)

    def chat_prompt(self, messages: Sequence[dict]) -> str:
        """The exact text the model receives for a chat: the chat template applied to `messages`."""
        tok = self.tokenizer()
        template = None if self.spec.chat_template == "builtin" else self.spec.chat_template
        if template is None and not getattr(tok, "chat_template", None):
            # A base model without a template: plain "role: content" lines.
            return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        return tok.apply_chat_template(list(messages), chat_template=template, tokenize=False,
                                       add_generation_prompt=True)


# ---- how a model answers ---------------------------------------------------------------------------------------
class Backend(Protocol):
    """How one registered model answers: in this process, or on a model server. Picked once per model."""

    def load(self, progress: Progress) -> None:
        """Make the model ready to answer (load its weights, or ask its server); updates the slot's state."""

    def generate(self, messages: Sequence[dict], settings: SamplingSettings, prefill: str, owner: object,
                 replace: bool) -> GenerationStream:
        """Start a chat answer (messages and prefill already checked by the service)."""

    def local(self) -> LocalModel:
        """The model's weights and tokenizer in this process; RemoteModelError when it has none here."""

    def status(self) -> ModelStatus:
        """The model's state, with the sizes this backend knows."""


class LocalBackend:
    """A model loaded in this process; its chats go through the service's batch scheduler."""

    def __init__(self, service: "ModelService", slot: _Slot):
        self._service, self._slot = service, slot
        self._model = LocalModel(service, slot)

    def load(self, progress: Progress) -> None:
        self._model.net(progress)

    def local(self) -> LocalModel:
        return self._model

    def generate(self, messages: Sequence[dict], settings: SamplingSettings, prefill: str, owner: object,
                 replace: bool) -> GenerationStream:
        model, slot = self._model, self._slot
        net = model.net()
        ids = model.encode(model.chat_prompt(messages) + prefill, add_special_tokens=False,
                           return_tensors="pt")["input_ids"]
        ids, dropped = fit_to_window(ids, int(net.config.max_position_embeddings), settings.max_new_tokens)
        result = GenerationResult(prompt_tokens=ids.shape[1], max_new_tokens=settings.max_new_tokens,
                                  truncated_prompt_tokens=dropped)
        request = GenerationRequest(prompt_ids=tuple(ids[0].tolist()), settings=settings,
                                    stop_ids=frozenset(model.stop_ids()))
        tok, tok_lock = model.tokenizer(), slot.tokenizer_lock

        def decode(new_ids: list[int]) -> str:   # keeps the tokenizer only: a queued request never holds the service
            with tok_lock:
                return tok.decode(list(new_ids), skip_special_tokens=True)
        return self._service._scheduler(slot).submit(request, result, decode, owner=owner, replace=replace)

    def status(self) -> ModelStatus:
        slot = self._slot
        if slot.disk_bytes is None:
            try:
                slot.disk_bytes = self._service._files(slot).disk_bytes
            except Exception:  # a missing package shows as 0 bytes here and as an error when loading
                slot.disk_bytes = 0
        model = slot.model
        params = sum(p.numel() for p in model.parameters()) if model is not None else 0
        memory = sum(p.numel() * p.element_size() for p in model.parameters()) if model is not None else 0
        return ModelStatus(name=slot.spec.name, label=slot.spec.label, kind=slot.spec.kind, state=slot.state,
                           message=slot.message, disk_bytes=slot.disk_bytes, parameters=params, memory_bytes=memory,
                           load_seconds=slot.load_seconds)


class RemoteBackend:
    """A `backend: openai` model: a server holds the weights and sends text only (core/serving/openai_backend.py)."""

    def __init__(self, slot: _Slot):
        self._slot = slot
        self.client = OpenAIBackend.from_spec(slot.spec)

    def load(self, progress: Progress) -> None:
        """No weights to load here: ask the server whether it answers (GET /models)."""
        slot = self._slot
        progress(0.5, f"Asking the model server at {slot.spec.base_url}…")
        t0 = time.perf_counter()
        try:
            served = self.client.check()
        except RemoteModelError as exc:
            slot.state, slot.message = LoadState.FAILED, str(exc)
            raise
        slot.load_seconds = time.perf_counter() - t0
        listed = "" if not served or slot.spec.model in served else f" (it lists {', '.join(served[:3])})"
        slot.state, slot.message = LoadState.READY, f"served by {slot.spec.base_url}{listed}"
        progress(1.0, slot.message)

    def local(self) -> LocalModel:
        spec = self._slot.spec
        raise RemoteModelError(f"{spec.label} runs on a model server ({spec.base_url}), which sends text only: "
                               "this view needs a model loaded in the app. Pick a local model for it.")

    def generate(self, messages: Sequence[dict], settings: SamplingSettings, prefill: str, owner: object,
                 replace: bool) -> GenerationStream:
        """The server applies the chat template and schedules its own requests (the owner is not used)."""
        if prefill:
            raise ValueError("a remote model cannot continue a prefilled reply")
        return self.client.generate(messages, settings)

    def status(self) -> ModelStatus:
        """Nothing on disk or in memory here."""
        slot = self._slot
        return ModelStatus(name=slot.spec.name, label=slot.spec.label, kind=slot.spec.kind, state=slot.state,
                           message=slot.message or f"served by {slot.spec.base_url}", disk_bytes=0, parameters=0,
                           memory_bytes=0, load_seconds=slot.load_seconds)


# ---- the service -----------------------------------------------------------------------------------------------
class ModelService:
    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or load_registry(settings.registry_path)
        self.device = pick_device(settings.device)
        self.torch_threads = set_torch_threads(settings.torch_threads)   # process-wide; GENAI_LAB_TORCH_THREADS
        self._slots = {name: _Slot(spec) for name, spec in self.registry.models.items()}
        for slot in self._slots.values():
            slot.backend = RemoteBackend(slot) if slot.spec.remote else LocalBackend(self, slot)
        self._schedulers: dict[str, BatchScheduler] = {}      # one per decoder, made on its first generation
        self._schedulers_lock = threading.Lock()
        self._closed = False

    def close(self, timeout: float = 10.0) -> bool:
        """Release everything: cancel queued and running generations, end the worker thread, drop the models.

        Called when Streamlit drops the cached service ("Clear caches", components/common/cache.py), so the old
        models do not stay in memory next to the new service's. Afterwards loading a model or generating raises
        ServiceClosed (a page still holding this service shows a message; its next run gets the new one).
        Returns True when the worker thread has ended."""
        self._closed = True
        with self._schedulers_lock:
            schedulers = list(self._schedulers.values())
        ended = all([s.close(timeout) for s in schedulers])
        for slot in self._slots.values():
            # Not under slot.lock (a borrowed decoder may hold it for seconds): a forward pass in progress keeps
            # its own reference until it ends, and no load starts once _closed is set.
            slot.model = None
            slot.derived.clear()
            if slot.state == LoadState.READY:
                slot.state, slot.message = LoadState.NOT_LOADED, "released"
        return ended

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- state -------------------------------------------------------------------------------------------------
    @property
    def device_label(self) -> str:
        return describe_device(self.device)

    def _slot(self, name: str | None, kind: str) -> _Slot:
        name = name or (self.registry.default_decoder if kind == "causal-lm" else self.registry.default_encoder)
        spec = self.registry.get(name)
        if spec.kind != kind:
            raise ValueError(f"{name} is a {spec.kind}, not a {kind}")
        return self._slots[name]

    def status(self, name: str) -> ModelStatus:
        return self._slots[self.registry.get(name).name].backend.status()

    def statuses(self) -> list[ModelStatus]:
        return [self.status(name) for name in self._slots]

    def is_ready(self, name: str | None = None, kind: str = "causal-lm") -> bool:
        return self._slot(name, kind).state == LoadState.READY

    def local_model(self, name: str | None = None, kind: str = "causal-lm") -> LocalModel:
        """The model in this process, lent to code that reads its weights or tokenizer (inspection.py);
        RemoteModelError for a model on a server. Loads nothing by itself."""
        return self._slot(name, kind).backend.local()

    # ---- loading -----------------------------------------------------------------------------------------------
    def _files(self, slot: _Slot) -> ModelFiles:
        if slot.files is None:
            slot.files = resolve_files(slot.spec)
        return slot.files

    def _load_tokenizer(self, slot: _Slot, progress: Progress = no_progress):
        if slot.tokenizer is None:
            with slot.lock:
                if slot.tokenizer is None:
                    slot.tokenizer = load_tokenizer(slot.spec, self._files(slot), self.settings.cache_dir, progress)
        return slot.tokenizer

    def _load_weights(self, slot: _Slot, progress: Progress = no_progress):
        """The slot's network, loaded once: a second session asking meanwhile waits and then reuses it."""
        net = slot.model                 # read once: close() may set slot.model to None at any moment
        if net is not None:
            return net
        with slot.lock:
            if self._closed:
                raise ServiceClosed()
            if slot.model is None:
                def report(fraction: float, message: str) -> None:
                    slot.message = message
                    progress(fraction, message)
                slot.state = LoadState.LOADING
                t0 = time.perf_counter()
                try:
                    self._load_tokenizer(slot, report)
                    model = load_model(slot.spec, self._files(slot), self.settings.cache_dir, self.device, report)
                except Exception as exc:
                    slot.state, slot.message = LoadState.FAILED, f"{type(exc).__name__}: {exc}"
                    raise
                if self._closed:                  # closed while loading: do not keep the model
                    slot.state, slot.message = LoadState.NOT_LOADED, "released"
                    raise ServiceClosed()
                slot.load_seconds = time.perf_counter() - t0
                slot.model = model
                slot.state, slot.message = LoadState.READY, f"loaded in {slot.load_seconds:.1f} s"
                progress(1.0, slot.message)
            net = slot.model
        if net is None:
            raise ServiceClosed()
        return net

    def _model(self, slot: _Slot, progress: Progress = no_progress):
        """The slot's loaded network; RemoteModelError for a model on a server."""
        return slot.backend.local().net(progress)

    def load(self, name: str | None = None, kind: str = "causal-lm", progress: Progress = no_progress) -> ModelStatus:
        slot = self._slot(name, kind)
        if self._closed:
            raise ServiceClosed()
        slot.backend.load(progress)
        return self.status(slot.spec.name)

    def tokenizer(self, name: str | None = None, kind: str = "causal-lm"):
        return self.local_model(name, kind).tokenizer()

    # ---- requests ----------------------------------------------------------------------------------------------
    def tokenize(self, text: str, model: str | None = None, kind: str = "causal-lm") -> Tokenization:
        """Split `text` with a model's tokenizer, as the model itself would (special tokens included)."""
        check_text(text)
        local = self.local_model(model, kind)
        byte_level = local.byte_level()
        enc = local.encode(text, return_offsets_mapping=True, return_special_tokens_mask=True,
                           add_special_tokens=True, truncation=False, verbose=False)
        ids, pieces = enc["input_ids"], local.pieces(enc["input_ids"])
        tokens = tuple(
            Token(id=int(i), piece=p, text=p if special else readable_piece(p, byte_level),
                  start=int(s), end=int(e), special=bool(special))
            for i, p, (s, e), special in zip(ids, pieces, enc["offset_mapping"], enc["special_tokens_mask"]))
        return Tokenization(model=local.name, algorithm="byte-level BPE" if byte_level else "WordPiece",
                            tokens=tokens, n_chars=len(text), context_window=local.context_window())

    def token_texts(self, ids: Sequence[int], model: str | None = None) -> list[str]:
        return self.local_model(model, "causal-lm").readable(ids)

    def embed(self, sentences: Sequence[str], model: str | None = None, batch_size: int = 32) -> np.ndarray:
        """Sentence embeddings: mean of the token vectors (padding ignored), L2-normalised. -> (n, dim)"""
        if isinstance(sentences, str) or not all(isinstance(s, str) for s in sentences):
            raise TypeError("sentences must be a list of strings")
        local = self.local_model(model, "sentence-encoder")
        net = local.net()
        if not sentences:
            return np.zeros((0, net.config.hidden_size), dtype=np.float32)
        out = []
        for i in range(0, len(sentences), batch_size):
            batch = local.encode(list(sentences[i:i + batch_size]), padding=True, truncation=True,
                                 max_length=local.context_window(), return_tensors="pt").to(self.device)
            with local.lock, torch.inference_mode():
                hidden = net(**batch).last_hidden_state                    # (b, seq, dim)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (b, seq, 1)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)   # (b, dim)
            out.append(torch.nn.functional.normalize(mean, dim=-1).float().cpu().numpy())
        return np.concatenate(out)

    def attentions(self, text: str, model: str | None = None, kind: str = "causal-lm",
                   max_tokens: int = 256) -> Attentions:
        """Attention weights of every layer and head for `text` (cut to `max_tokens` tokens)."""
        local = self.local_model(model, kind)
        net = local.net()
        ids = local.encode(text, add_special_tokens=True, return_tensors="pt")["input_ids"]
        n = ids.shape[1]
        if n == 0:
            raise ValueError("the text has no tokens")
        max_tokens = min(max_tokens, local.context_window())
        ids = ids[:, :max_tokens].to(self.device)
        with local.lock, torch.inference_mode():
            weights = eager_attentions(net, ids)
        texts = local.readable(ids[0].tolist())
        return Attentions(tokens=tuple(texts), weights=weights, truncated_from=n if n > max_tokens else 0)

    def chat_prompt(self, messages: Sequence[dict], model: str | None = None) -> str:
        """The exact text the model receives for a chat: the chat template applied to `messages`."""
        return self.local_model(model, "causal-lm").chat_prompt(messages)

    def generate(self, messages: Sequence[dict], settings: SamplingSettings | None = None,
                 model: str | None = None, prefill: str = "", owner: object = None,
                 replace: bool = True) -> GenerationStream:
        """Queue a chat generation; iterate over the returned stream to receive tokens as they come.

        `prefill`: the start of the assistant's reply, written after the chat template's generation prompt; the
        model continues it (the stream holds only the continuation). A ReAct loop uses it to put the steps so
        far in the model's own turn.
        `owner`: who asks (a browser session's id). One generation per owner: a new request cancels the owner's
        earlier ones still waiting or running, unless `replace` is False (BatchScheduler.submit). A remote model's
        server does its own scheduling, so there the owner is not used."""
        settings = settings or SamplingSettings()
        if not messages or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
            raise ValueError("messages must be a non-empty list of {'role', 'content'} dicts")
        if not isinstance(prefill, str):
            raise ValueError("prefill must be a string")
        slot = self._slot(model, "causal-lm")
        if self._closed:
            raise ServiceClosed()
        return slot.backend.generate(messages, settings, prefill, owner, replace)

    def _scheduler(self, slot: _Slot) -> BatchScheduler:
        """The batch scheduler that serves this decoder's generations (core/serving/batching.py)."""
        name = slot.spec.name
        with self._schedulers_lock:
            if self._closed:
                raise ServiceClosed()
            if name not in self._schedulers:
                me = weakref.ref(self)

                def source():                      # never keeps the service (or its model) alive
                    service = me()
                    net = None if service is None or service._closed else service._slots[name].model
                    return None if net is None else (net, service._slots[name].lock)
                self._schedulers[name] = BatchScheduler(source, max_batch=self.settings.max_batch)
            return self._schedulers[name]

    @property
    def queued_generations(self) -> int:
        """Generation requests waiting to start (all decoders)."""
        with self._schedulers_lock:
            return sum(s.waiting for s in self._schedulers.values())

    @property
    def running_generations(self) -> int:
        with self._schedulers_lock:
            return sum(s.running for s in self._schedulers.values())

    # ---- private copies and borrowed decoders (labs that change or measure the weights) --------------------
    def decoder_copy(self, model: str | None = None, progress: Progress = no_progress):
        """A deep copy of the loaded decoder, owned by the caller: quantize it freely, the shared one never changes."""
        local = self.local_model(model, "causal-lm")
        net = local.net(progress)
        with local.lock, torch.inference_mode(False):
            return copy.deepcopy(net)

    def borrowed_decoder(self, model: str | None = None):
        """`with service.borrowed_decoder() as net:` — the shared decoder for read-only forward passes.

        Holds the model's lock for the whole block (other requests wait), so keep the block short and never
        change the model inside it."""
        return self.local_model(model, "causal-lm").borrow()

    # ---- token-level access for step-through generation and the sampling lab ------------------------------
    def encode_ids(self, text: str, model: str | None = None) -> list[int]:
        """Token ids of raw `text` for the decoder (no special tokens, no chat template; see chat_ids)."""
        check_text(text)
        local = self.local_model(model, "causal-lm")
        return [int(i) for i in local.encode(text, add_special_tokens=False)["input_ids"]]

    def chat_ids(self, messages: Sequence[dict], model: str | None = None) -> list[int]:
        """Token ids of the templated chat prompt, exactly as `generate` feeds them (before window fitting)."""
        local = self.local_model(model, "causal-lm")
        text = local.chat_prompt(messages)
        check_text(text, "the prompt")
        return [int(i) for i in local.encode(text, add_special_tokens=False)["input_ids"]]

    def next_token_logits(self, ids: Sequence[int], model: str | None = None) -> np.ndarray:
        """The model's raw scores for the token after `ids` (a token-id sequence).  -> (vocab,) float32

        A sequence longer than the window keeps its end. Callers cache the result per (model, ids)."""
        local = self.local_model(model, "causal-lm")
        net = local.net()
        ids = [int(i) for i in ids]
        if not ids:
            raise ValueError("the prompt is empty")
        window = int(net.config.max_position_embeddings)
        x = torch.tensor([ids[-window:]], device=self.device)                  # (1, seq)
        with local.lock, torch.inference_mode():
            logits = net(input_ids=x).logits[0, -1].float().cpu()              # (vocab,)
        return logits.numpy()

    def stop_token_ids(self, model: str | None = None) -> set[int]:
        """Token ids that end a chat answer (end of sequence, ChatML's end markers)."""
        return self.local_model(model, "causal-lm").stop_ids()

    def context_window_of(self, model: str | None = None) -> int:
        """Tokens the decoder reads at once (prompt + answer)."""
        return self.local_model(model, "causal-lm").context_window()
