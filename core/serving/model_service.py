"""The one model service of the process, shared by every browser session.

It knows the registry, loads each model lazily on first use (once, even when many sessions
ask at the same moment), and answers typed requests: tokenize, embed, attentions,
next-token scores and streaming chat generation. Pages never hold a model.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from enum import Enum
from typing import Sequence

import numpy as np
import torch

from core.serving.device import describe_device, pick_device, set_torch_threads
from core.serving.batching import BatchScheduler, GenerationRequest
from core.serving.generation import GenerationResult, GenerationStream, ServiceClosed, greedy_continue
from core.serving.loaders import ModelFiles, Progress, no_progress, load_model, load_tokenizer, resolve_files
from core.serving.openai_backend import OpenAIBackend, RemoteModelError
from core.serving.registry import ModelSpec, Registry, load_registry
from core.serving.sampling import SamplingSettings
from core.serving.settings import Settings
from core.serving.tokens import Token, Tokenization, readable_piece

MAX_TEXT_CHARS = 200_000   # longer input is refused with a message rather than tokenized


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


def _is_byte_level(tokenizer) -> bool:
    """Byte-level BPE vocabularies write a leading space as "Ġ"; WordPiece ones never do."""
    return any(piece.startswith("Ġ") for piece in tokenizer.get_vocab())


def _eager_attentions(net, ids: torch.Tensor) -> np.ndarray:
    """Attention weights (layers, heads, seq, seq) for `ids`. Call with the model's slot.lock held.

    Only the eager implementation returns attention weights; sdpa is faster for everything else. Every
    forward pass holds slot.lock, so switching here cannot affect another request."""
    net.set_attn_implementation("eager")
    try:
        out = net(input_ids=ids, output_attentions=True)
    finally:
        net.set_attn_implementation("sdpa")
    return torch.stack(out.attentions, dim=1)[0].float().cpu().numpy()


def _local_only(spec: ModelSpec) -> None:
    """Tokens, attention, scores and weights exist only for models loaded in this process."""
    if spec.remote:
        raise RemoteModelError(f"{spec.label} runs on a model server ({spec.base_url}), which sends text only: "
                               "this view needs a model loaded in the app. Pick a local model for it.")


class ModelService:
    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or load_registry(settings.registry_path)
        self.device = pick_device(settings.device)
        self.torch_threads = set_torch_threads(settings.torch_threads)   # process-wide; GENAI_LAB_TORCH_THREADS
        self._slots = {name: _Slot(spec) for name, spec in self.registry.models.items()}
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
            if slot.state == LoadState.READY:
                slot.state, slot.message = LoadState.NOT_LOADED, "released"
        self.__dict__.pop("_embedding_norms", None)
        return ended

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- state -------------------------------------------------------------------------
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
        slot = self._slots[self.registry.get(name).name]
        if slot.spec.remote:          # a server holds the weights: nothing on disk or in memory here
            return ModelStatus(name=slot.spec.name, label=slot.spec.label, kind=slot.spec.kind, state=slot.state,
                               message=slot.message or f"served by {slot.spec.base_url}", disk_bytes=0, parameters=0,
                               memory_bytes=0, load_seconds=slot.load_seconds)
        if slot.disk_bytes is None:
            try:
                slot.disk_bytes = self._files(slot).disk_bytes
            except Exception:  # a missing package shows as 0 bytes here and as an error when loading
                slot.disk_bytes = 0
        disk = slot.disk_bytes
        model = slot.model
        params = sum(p.numel() for p in model.parameters()) if model is not None else 0
        memory = sum(p.numel() * p.element_size() for p in model.parameters()) if model is not None else 0
        return ModelStatus(name=slot.spec.name, label=slot.spec.label, kind=slot.spec.kind, state=slot.state,
                           message=slot.message, disk_bytes=disk, parameters=params, memory_bytes=memory,
                           load_seconds=slot.load_seconds)

    def statuses(self) -> list[ModelStatus]:
        return [self.status(name) for name in self._slots]

    def is_ready(self, name: str | None = None, kind: str = "causal-lm") -> bool:
        return self._slot(name, kind).state == LoadState.READY

    # ---- loading -----------------------------------------------------------------------
    def _files(self, slot: _Slot) -> ModelFiles:
        if slot.files is None:
            slot.files = resolve_files(slot.spec)
        return slot.files

    def _tokenizer(self, slot: _Slot, progress: Progress = no_progress):
        _local_only(slot.spec)
        if slot.tokenizer is None:
            with slot.lock:
                if slot.tokenizer is None:
                    slot.tokenizer = load_tokenizer(slot.spec, self._files(slot), self.settings.cache_dir, progress)
        return slot.tokenizer

    def _model(self, slot: _Slot, progress: Progress = no_progress):
        _local_only(slot.spec)
        net = slot.model                 # read once: close() may set slot.model to None at any moment
        if net is not None:
            return net
        with slot.lock:  # a second session asking meanwhile waits here and then reuses the model
            if self._closed:
                raise ServiceClosed()
            if slot.model is None:
                def report(fraction: float, message: str) -> None:
                    slot.message = message
                    progress(fraction, message)
                slot.state = LoadState.LOADING
                t0 = time.perf_counter()
                try:
                    self._tokenizer(slot, report)
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

    def load(self, name: str | None = None, kind: str = "causal-lm", progress: Progress = no_progress) -> ModelStatus:
        slot = self._slot(name, kind)
        if slot.spec.remote:
            return self._check_remote(slot, progress)
        self._model(slot, progress)
        return self.status(slot.spec.name)

    # A fast (Rust) tokenizer raises "Already borrowed" when one thread changes its padding or truncation
    # while another uses it, so every use goes through these methods, one thread at a time.
    def _encode(self, slot: _Slot, text, **kwargs):
        tok = self._tokenizer(slot)
        with slot.tokenizer_lock:
            return tok(text, **kwargs)

    def _pieces(self, slot: _Slot, ids: Sequence[int]) -> list[str]:
        tok = self._tokenizer(slot)
        with slot.tokenizer_lock:
            return tok.convert_ids_to_tokens([int(i) for i in ids])

    def _decode(self, slot: _Slot, ids: Sequence[int]) -> str:
        tok = self._tokenizer(slot)
        with slot.tokenizer_lock:
            return tok.decode(list(ids), skip_special_tokens=True)

    def tokenizer(self, name: str | None = None, kind: str = "causal-lm"):
        return self._tokenizer(self._slot(name, kind))

    def context_window(self, slot: _Slot) -> int:
        if not slot.window:
            slot.window = self._find_context_window(slot)
        return slot.window

    def _find_context_window(self, slot: _Slot) -> int:
        """Tokens the model reads at once, found without loading the weights when possible."""
        if slot.spec.kind == "sentence-encoder" and slot.spec.max_seq_length:
            return slot.spec.max_seq_length
        if slot.model is not None:
            return int(slot.model.config.max_position_embeddings)
        tok = self._tokenizer(slot)
        limit = getattr(tok, "model_max_length", 0) or 0
        if 0 < limit < 1_000_000:
            return int(limit)
        from transformers import AutoConfig
        files = self._files(slot)
        return int(AutoConfig.from_pretrained(files.hub_id or files.folder).max_position_embeddings)

    def model_config(self, name: str | None = None, kind: str = "causal-lm"):
        """The loaded model's transformers config (loads the model when needed: a GGUF source has no config.json)."""
        return self._model(self._slot(name, kind)).config

    # ---- requests ----------------------------------------------------------------------
    def tokenize(self, text: str, model: str | None = None, kind: str = "causal-lm") -> Tokenization:
        """Split `text` with a model's tokenizer, as the model itself would (special tokens included)."""
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
        slot = self._slot(model, kind)
        tok = self._tokenizer(slot)
        byte_level = self._byte_level(slot, tok)
        enc = self._encode(slot, text, return_offsets_mapping=True, return_special_tokens_mask=True, add_special_tokens=True,
                  truncation=False, verbose=False)
        pieces = self._pieces(slot, enc["input_ids"])
        tokens = tuple(
            Token(id=int(i), piece=p, text=p if special else readable_piece(p, byte_level),
                  start=int(s), end=int(e), special=bool(special))
            for i, p, (s, e), special in zip(enc["input_ids"], pieces, enc["offset_mapping"], enc["special_tokens_mask"]))
        return Tokenization(model=slot.spec.name, algorithm="byte-level BPE" if byte_level else "WordPiece",
                            tokens=tokens, n_chars=len(text), context_window=self.context_window(slot))

    def _byte_level(self, slot: _Slot, tok) -> bool:
        if slot.byte_level is None:
            with slot.tokenizer_lock:
                slot.byte_level = _is_byte_level(tok)
        return slot.byte_level

    def _stop_ids(self, slot: _Slot) -> set[int]:
        """Token ids that end a chat answer: the tokenizer's end-of-sequence and ChatML's end markers."""
        tok = self._tokenizer(slot)
        with slot.tokenizer_lock:
            candidates = [tok.eos_token_id] + tok.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
        return {i for i in candidates if isinstance(i, int) and i >= 0 and i != tok.unk_token_id}

    def token_texts(self, ids: Sequence[int], model: str | None = None) -> list[str]:
        slot = self._slot(model, "causal-lm")
        tok = self._tokenizer(slot)
        byte_level = self._byte_level(slot, tok)
        return [readable_piece(p, byte_level) for p in self._pieces(slot, ids)]

    def embed(self, sentences: Sequence[str], model: str | None = None, batch_size: int = 32) -> np.ndarray:
        """Sentence embeddings: mean of the token vectors (padding ignored), L2-normalised. -> (n, dim)"""
        if isinstance(sentences, str) or not all(isinstance(s, str) for s in sentences):
            raise TypeError("sentences must be a list of strings")
        slot = self._slot(model, "sentence-encoder")
        net = self._model(slot)
        if not sentences:
            return np.zeros((0, net.config.hidden_size), dtype=np.float32)
        out = []
        for i in range(0, len(sentences), batch_size):
            batch = self._encode(slot, list(sentences[i:i + batch_size]), padding=True, truncation=True,
                        max_length=self.context_window(slot), return_tensors="pt").to(self.device)
            with slot.lock, torch.inference_mode():
                hidden = net(**batch).last_hidden_state                    # (b, seq, dim)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (b, seq, 1)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)   # (b, dim)
            out.append(torch.nn.functional.normalize(mean, dim=-1).float().cpu().numpy())
        return np.concatenate(out)

    def attentions(self, text: str, model: str | None = None, kind: str = "causal-lm",
                   max_tokens: int = 256) -> Attentions:
        """Attention weights of every layer and head for `text` (cut to `max_tokens` tokens)."""
        slot = self._slot(model, kind)
        net, tok = self._model(slot), self._tokenizer(slot)
        ids = self._encode(slot, text, add_special_tokens=True, return_tensors="pt")["input_ids"]
        n = ids.shape[1]
        if n == 0:
            raise ValueError("the text has no tokens")
        max_tokens = min(max_tokens, self.context_window(slot))
        ids = ids[:, :max_tokens].to(self.device)
        with slot.lock, torch.inference_mode():
            weights = _eager_attentions(net, ids)
        byte_level = self._byte_level(slot, tok)
        texts = [readable_piece(p, byte_level) for p in self._pieces(slot, ids[0].tolist())]
        return Attentions(tokens=tuple(texts), weights=weights, truncated_from=n if n > max_tokens else 0)

    def chat_prompt(self, messages: Sequence[dict], model: str | None = None) -> str:
        """The exact text the model receives for a chat: the chat template applied to `messages`."""
        slot = self._slot(model, "causal-lm")
        tok = self._tokenizer(slot)
        template = None if slot.spec.chat_template == "builtin" else slot.spec.chat_template
        if template is None and not getattr(tok, "chat_template", None):
            # A base model without a template: plain "role: content" lines.
            return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        return tok.apply_chat_template(list(messages), chat_template=template, tokenize=False,
                                       add_generation_prompt=True)

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
        if slot.spec.remote:          # backend: openai — the server applies the chat template and generates
            if self._closed:
                raise ServiceClosed()
            if prefill:
                raise ValueError("a remote model cannot continue a prefilled reply")
            return self._remote(slot).generate(messages, settings)
        net = self._model(slot)
        ids = self._encode(slot, self.chat_prompt(messages, slot.spec.name) + prefill, add_special_tokens=False,
                           return_tensors="pt")["input_ids"]
        ids, dropped = fit_to_window(ids, int(net.config.max_position_embeddings), settings.max_new_tokens)
        result = GenerationResult(prompt_tokens=ids.shape[1], max_new_tokens=settings.max_new_tokens,
                                  truncated_prompt_tokens=dropped)
        request = GenerationRequest(prompt_ids=tuple(ids[0].tolist()), settings=settings,
                                    stop_ids=frozenset(self._stop_ids(slot)))
        tok, tok_lock = self._tokenizer(slot), slot.tokenizer_lock

        def decode(new_ids: list[int]) -> str:
            with tok_lock:
                return tok.decode(list(new_ids), skip_special_tokens=True)
        return self._scheduler(slot).submit(request, result, decode, owner=owner, replace=replace)

    def _remote(self, slot: _Slot) -> OpenAIBackend:
        """The client of a `backend: openai` model (core/serving/openai_backend.py), made on first use."""
        backends = self.__dict__.setdefault("_remote_backends", {})
        backend = backends.get(slot.spec.name)
        if backend is None:
            backend = backends.setdefault(slot.spec.name, OpenAIBackend.from_spec(slot.spec))
        return backend

    def _check_remote(self, slot: _Slot, progress: Progress = no_progress) -> ModelStatus:
        """`load()` of a remote model: no weights to load here; ask the server whether it answers (GET /models)."""
        if self._closed:
            raise ServiceClosed()
        progress(0.5, f"Asking the model server at {slot.spec.base_url}…")
        t0 = time.perf_counter()
        try:
            served = self._remote(slot).check()
        except RemoteModelError as exc:
            slot.state, slot.message = LoadState.FAILED, str(exc)
            raise
        slot.load_seconds = time.perf_counter() - t0
        listed = "" if not served or slot.spec.model in served else f" (it lists {', '.join(served[:3])})"
        slot.state, slot.message = LoadState.READY, f"served by {slot.spec.base_url}{listed}"
        progress(1.0, slot.message)
        return self.status(slot.spec.name)

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

    # ---- private copies of the decoder for the quantization lab (issue 5) ----------------------
    def decoder_copy(self, model: str | None = None, progress: Progress = no_progress):
        """A deep copy of the loaded decoder, owned by the caller: quantize it freely, the shared one never changes."""
        import copy

        slot = self._slot(model, "causal-lm")
        net = self._model(slot, progress)
        with slot.lock, torch.inference_mode(False):
            return copy.deepcopy(net)

    def borrowed_decoder(self, model: str | None = None):
        """`with service.borrowed_decoder() as net:` — the shared decoder for read-only forward passes.

        Holds the model's lock for the whole block (other requests wait), so keep the block short and never
        change the model inside it."""
        import contextlib

        slot = self._slot(model, "causal-lm")
        net = self._model(slot)

        @contextlib.contextmanager
        def hold():
            with slot.lock:
                yield net
        return hold()

    def encode_ids(self, text: str, model: str | None = None) -> list[int]:
        """Token ids of raw `text` for the decoder (no special tokens, no chat template; see chat_ids)."""
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
        slot = self._slot(model, "causal-lm")
        return [int(i) for i in self._encode(slot, text, add_special_tokens=False)["input_ids"]]

    @property
    def queued_generations(self) -> int:
        """Generation requests waiting to start (all decoders)."""
        with self._schedulers_lock:
            return sum(s.waiting for s in self._schedulers.values())

    @property
    def running_generations(self) -> int:
        with self._schedulers_lock:
            return sum(s.running for s in self._schedulers.values())

    # ---- token-level access for the sampling lab and step-through generation (issue 4) ------
    def chat_ids(self, messages: Sequence[dict], model: str | None = None) -> list[int]:
        """Token ids of the templated chat prompt, exactly as `generate` feeds them (before window fitting)."""
        slot = self._slot(model, "causal-lm")
        text = self.chat_prompt(messages, slot.spec.name)
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"the prompt is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
        return [int(i) for i in self._encode(slot, text, add_special_tokens=False)["input_ids"]]

    def next_token_logits(self, ids: Sequence[int], model: str | None = None) -> np.ndarray:
        """The model's raw scores for the token after `ids` (a token-id sequence).  -> (vocab,) float32

        A sequence longer than the window keeps its end. Callers cache the result per (model, ids)."""
        slot = self._slot(model, "causal-lm")
        net = self._model(slot)
        ids = [int(i) for i in ids]
        if not ids:
            raise ValueError("the prompt is empty")
        window = int(net.config.max_position_embeddings)
        x = torch.tensor([ids[-window:]], device=self.device)                  # (1, seq)
        with slot.lock, torch.inference_mode():
            logits = net(input_ids=x).logits[0, -1].float().cpu()              # (vocab,)
        return logits.numpy()

    def continuation_logprobs(self, context_ids: Sequence[int], continuations: Sequence[Sequence[int]],
                              model: str | None = None) -> list[np.ndarray]:
        """How likely the model finds each continuation after the context: for each continuation, the log-probability
        of each of its tokens given the context and the continuation's earlier tokens.  -> [(len(c),) float64]

        The way benchmark harnesses score a multiple-choice question. The context goes through the model once; its
        last position scores every continuation's first token (all a one-token answer like " A" needs). Longer
        continuations then run as one right-padded batch on top of the context's KV cache, repeated per row; the
        padding comes after the real tokens, so under the causal mask it changes none of their results. A context
        longer than the window keeps its end."""
        slot = self._slot(model, "causal-lm")
        if slot.spec.remote:
            raise ValueError(f"{slot.spec.name} runs on a remote server, which gives no scores for given text")
        net = self._model(slot)
        context = [int(i) for i in context_ids]
        conts = [[int(i) for i in c] for c in continuations]
        if not context:
            raise ValueError("the context is empty")
        if not conts or any(not c for c in conts):
            raise ValueError("each continuation needs at least one token")
        window = int(net.config.max_position_embeddings)
        longest = max(len(c) for c in conts)
        if longest >= window:
            raise ValueError(f"a continuation of {longest} tokens does not fit the {window}-token window")
        context = context[-(window - longest):]
        with slot.lock, torch.inference_mode():
            out = net(input_ids=torch.tensor([context], device=self.device), use_cache=longest > 1)
            first = torch.log_softmax(out.logits[0, -1].double(), dim=-1)                 # (vocab,)
            scores = [[float(first[c[0]])] for c in conts]
            rest = [c[:-1] for c in conts]              # the tokens whose next-token scores are still needed
            width = max(len(r) for r in rest)
            if width:
                ids = torch.zeros((len(conts), width), dtype=torch.long)                  # (n, width), right-padded
                mask = torch.zeros((len(conts), len(context) + width), dtype=torch.long)
                mask[:, :len(context)] = 1
                for i, r in enumerate(rest):
                    ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
                    mask[i, len(context):len(context) + len(r)] = 1
                cache = out.cache
                cache.batch_repeat_interleave(len(conts))
                logits = net(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                             cache=cache, use_cache=True).logits                # (n, width, vocab)
                logp = torch.log_softmax(logits.double(), dim=-1)
                for i, c in enumerate(conts):
                    # position j of row i scores token c[j + 1]
                    scores[i] += [float(logp[i, j, c[j + 1]]) for j in range(len(c) - 1)]
        return [np.array(s, dtype=np.float64) for s in scores]

    def decode_ids(self, ids: Sequence[int], model: str | None = None) -> str:
        """Text of generated token ids (special tokens skipped)."""
        return self._decode(self._slot(model, "causal-lm"), [int(i) for i in ids])

    def stop_token_ids(self, model: str | None = None) -> set[int]:
        """Token ids that end a chat answer (end of sequence, ChatML's end markers)."""
        return self._stop_ids(self._slot(model, "causal-lm"))

    def context_window_of(self, model: str | None = None) -> int:
        """Tokens the decoder reads at once (prompt + answer)."""
        return self.context_window(self._slot(model, "causal-lm"))

    # ---- embeddings and attention for the "inside the transformer" demos (issue 3) ---------
    def token_embeddings(self, text: str, model: str | None = None, max_tokens: int = 256) -> "TokenEmbeddings":
        """Each token of `text` and its row of the input embedding matrix (before any layer runs)."""
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        slot = self._slot(model, "causal-lm")
        net, tok = self._model(slot), self._tokenizer(slot)
        ids = self._encode(slot, text[:MAX_TEXT_CHARS], add_special_tokens=True)["input_ids"]
        if not ids:
            raise ValueError("the text has no tokens")
        kept = [int(i) for i in ids[:max_tokens]]
        with slot.lock, torch.inference_mode():
            table = net.get_input_embeddings().weight                                 # (vocab, dim)
            vectors = table[torch.tensor(kept, device=table.device)].float().cpu().numpy()  # (n, dim)
        byte_level = self._byte_level(slot, tok)
        texts = tuple(readable_piece(p, byte_level) for p in self._pieces(slot, kept))
        return TokenEmbeddings(ids=tuple(kept), tokens=texts, vectors=vectors,
                               truncated_from=len(ids) if len(ids) > max_tokens else 0)

    def nearest_tokens(self, token_id: int, n: int = 10, model: str | None = None) -> list[tuple[int, str, float]]:
        """The n vocabulary entries whose input embeddings are closest (cosine) to token `token_id`'s."""
        slot = self._slot(model, "causal-lm")
        net = self._model(slot)
        with slot.lock, torch.inference_mode():
            table = net.get_input_embeddings().weight                                 # (vocab, dim)
            if not 0 <= int(token_id) < table.shape[0]:
                raise ValueError(f"token id must be between 0 and {table.shape[0] - 1}")
            cache = self.__dict__.setdefault("_embedding_norms", {})
            if slot.spec.name not in cache:
                cache[slot.spec.name] = table.float().norm(dim=1)                     # (vocab,)
            norms = cache[slot.spec.name]
            scores = (table.float() @ table[int(token_id)].float()) / (norms * norms[int(token_id)]).clamp(min=1e-12)
            scores[int(token_id)] = -float("inf")                                     # not its own neighbour
            top = torch.topk(scores, max(0, min(int(n), table.shape[0] - 1)))
        ids = top.indices.cpu().tolist()
        return list(zip(ids, self.token_texts(ids, slot.spec.name), top.values.cpu().tolist()))

    def attentions_with_continuation(self, text: str, max_new_tokens: int = 20, model: str | None = None,
                                     max_tokens: int = 256) -> tuple[Attentions, int]:
        """Greedily continue `text`, then the attention of every layer and head over prompt + continuation.

        Returns the attentions and how many of their tokens are the prompt (the rest were generated).
        """
        slot = self._slot(model, "causal-lm")
        net, tok = self._model(slot), self._tokenizer(slot)
        ids = self._encode(slot, text, add_special_tokens=True, return_tensors="pt")["input_ids"]   # (1, n)
        n = ids.shape[1]
        if n == 0:
            raise ValueError("the text has no tokens")
        max_tokens = min(max_tokens, self.context_window(slot))
        if not 1 <= max_new_tokens < max_tokens:
            raise ValueError(f"max_new_tokens must be between 1 and {max_tokens - 1}")
        prompt = ids[:, :max_tokens - max_new_tokens].to(self.device)
        with slot.lock, torch.inference_mode():
            new = greedy_continue(net, prompt, max_new_tokens, self._stop_ids(slot))   # ends with the stop token, if any
            full = torch.cat([prompt, torch.tensor([new], dtype=prompt.dtype, device=prompt.device)], dim=1)
            weights = _eager_attentions(net, full)                                 # over (1, n + generated)
        byte_level = self._byte_level(slot, tok)
        texts = [readable_piece(p, byte_level) for p in self._pieces(slot, full[0].tolist())]
        return (Attentions(tokens=tuple(texts), weights=weights, truncated_from=n if n > prompt.shape[1] else 0),
                prompt.shape[1])

    # ---- vocabulary listing for the masked-LM demo (issue 3, page 5) -------------------------
    def vocabulary(self, model: str | None = None, kind: str = "sentence-encoder") -> list[str]:
        """Every vocabulary piece of a model's tokenizer, ordered by token id."""
        slot = self._slot(model, kind)
        tok = self._tokenizer(slot)
        with slot.tokenizer_lock:
            vocab = tok.get_vocab()
        return [piece for piece, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


@dataclass(frozen=True)
class TokenEmbeddings:
    ids: tuple[int, ...]         # token ids, in order
    tokens: tuple[str, ...]      # readable token texts
    vectors: np.ndarray          # (n, dim): each token's row of the input embedding matrix
    truncated_from: int          # original token count when cut to max_tokens, else 0
