"""Looking inside a model the service holds: what some labs show beside chat generation.

Each function borrows the model from the service (`service.local_model(name)`, core/serving/model_service.py),
tokenizes through it (one thread at a time) and holds the model's lock only for the forward pass, as every request
of the service does. A model on a server (`backend: openai`) has no weights here: these functions then raise the
remote backend's RemoteModelError, which says so in words.

    token_embeddings, nearest_tokens       the input embedding matrix (inside a transformer)
    attentions_with_continuation           attention over a prompt and its greedy continuation (inside a transformer)
    vocabulary                             a tokenizer's pieces (model cards & architectures: the masked-LM demo)
    continuation_logprobs                  log-probabilities of given continuations (evaluation: benchmarks)
    model_config                           the loaded model's transformers config (fine-tuning)
    decode_ids                             the text of token ids (quantization: the generated answers)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.serving.generation import greedy_continue
from core.serving.model_service import MAX_TEXT_CHARS, Attentions, ModelService, eager_attentions


@dataclass(frozen=True)
class TokenEmbeddings:
    ids: tuple[int, ...]         # token ids, in order
    tokens: tuple[str, ...]      # readable token texts
    vectors: np.ndarray          # (n, dim): each token's row of the input embedding matrix
    truncated_from: int          # original token count when cut to max_tokens, else 0


def token_embeddings(service: ModelService, text: str, model: str | None = None,
                     max_tokens: int = 256) -> TokenEmbeddings:
    """Each token of `text` and its row of the input embedding matrix (before any layer runs)."""
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    local = service.local_model(model, "causal-lm")
    net = local.net()
    ids = local.encode(text[:MAX_TEXT_CHARS], add_special_tokens=True)["input_ids"]
    if not ids:
        raise ValueError("the text has no tokens")
    kept = [int(i) for i in ids[:max_tokens]]
    with local.lock, torch.inference_mode():
        table = net.get_input_embeddings().weight                                 # (vocab, dim)
        vectors = table[torch.tensor(kept, device=table.device)].float().cpu().numpy()  # (n, dim)
    return TokenEmbeddings(ids=tuple(kept), tokens=tuple(local.readable(kept)), vectors=vectors,
                           truncated_from=len(ids) if len(ids) > max_tokens else 0)


def nearest_tokens(service: ModelService, token_id: int, n: int = 10,
                   model: str | None = None) -> list[tuple[int, str, float]]:
    """The n vocabulary entries whose input embeddings are closest (cosine) to token `token_id`'s."""
    local = service.local_model(model, "causal-lm")
    net = local.net()
    with local.lock, torch.inference_mode():
        table = net.get_input_embeddings().weight                                 # (vocab, dim)
        if not 0 <= int(token_id) < table.shape[0]:
            raise ValueError(f"token id must be between 0 and {table.shape[0] - 1}")
        if "embedding_norms" not in local.derived:
            local.derived["embedding_norms"] = table.float().norm(dim=1)          # (vocab,)
        norms = local.derived["embedding_norms"]
        scores = (table.float() @ table[int(token_id)].float()) / (norms * norms[int(token_id)]).clamp(min=1e-12)
        scores[int(token_id)] = -float("inf")                                     # not its own neighbour
        top = torch.topk(scores, max(0, min(int(n), table.shape[0] - 1)))
    ids = top.indices.cpu().tolist()
    return list(zip(ids, local.readable(ids), top.values.cpu().tolist()))


def attentions_with_continuation(service: ModelService, text: str, max_new_tokens: int = 20,
                                 model: str | None = None, max_tokens: int = 256) -> tuple[Attentions, int]:
    """Greedily continue `text`, then the attention of every layer and head over prompt + continuation.

    Returns the attentions and how many of their tokens are the prompt (the rest were generated).
    """
    local = service.local_model(model, "causal-lm")
    net = local.net()
    ids = local.encode(text, add_special_tokens=True, return_tensors="pt")["input_ids"]   # (1, n)
    n = ids.shape[1]
    if n == 0:
        raise ValueError("the text has no tokens")
    max_tokens = min(max_tokens, local.context_window())
    if not 1 <= max_new_tokens < max_tokens:
        raise ValueError(f"max_new_tokens must be between 1 and {max_tokens - 1}")
    prompt = ids[:, :max_tokens - max_new_tokens].to(local.device)
    with local.lock, torch.inference_mode():
        new = greedy_continue(net, prompt, max_new_tokens, local.stop_ids())   # ends with the stop token, if any
        full = torch.cat([prompt, torch.tensor([new], dtype=prompt.dtype, device=prompt.device)], dim=1)
        weights = eager_attentions(net, full)                                 # over (1, n + generated)
    texts = local.readable(full[0].tolist())
    return (Attentions(tokens=tuple(texts), weights=weights, truncated_from=n if n > prompt.shape[1] else 0),
            prompt.shape[1])


def vocabulary(service: ModelService, model: str | None = None, kind: str = "sentence-encoder") -> list[str]:
    """Every vocabulary piece of a model's tokenizer, ordered by token id (the weights are not loaded)."""
    vocab = service.local_model(model, kind).vocabulary()
    return [piece for piece, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


def continuation_logprobs(service: ModelService, context_ids: Sequence[int], continuations: Sequence[Sequence[int]],
                          model: str | None = None) -> list[np.ndarray]:
    """How likely the model finds each continuation after the context: for each continuation, the log-probability
    of each of its tokens given the context and the continuation's earlier tokens.  -> [(len(c),) float64]

    The way benchmark harnesses score a multiple-choice question. The context goes through the model once; its
    last position scores every continuation's first token (all a one-token answer like " A" needs). Longer
    continuations then run as one right-padded batch on top of the context's KV cache, repeated per row; the
    padding comes after the real tokens, so under the causal mask it changes none of their results. A context
    longer than the window keeps its end."""
    local = service.local_model(model, "causal-lm")
    net = local.net()
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
    device = local.device
    with local.lock, torch.inference_mode():
        out = net(input_ids=torch.tensor([context], device=device), use_cache=longest > 1)
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
            logits = net(input_ids=ids.to(device), attention_mask=mask.to(device),
                         cache=cache, use_cache=True).logits                # (n, width, vocab)
            logp = torch.log_softmax(logits.double(), dim=-1)
            for i, c in enumerate(conts):
                # position j of row i scores token c[j + 1]
                scores[i] += [float(logp[i, j, c[j + 1]]) for j in range(len(c) - 1)]
    return [np.array(s, dtype=np.float64) for s in scores]


def model_config(service: ModelService, name: str | None = None, kind: str = "causal-lm"):
    """The loaded model's transformers config (loads the model when needed: a GGUF source has no config.json)."""
    return service.local_model(name, kind).net().config


def decode_ids(service: ModelService, ids: Sequence[int], model: str | None = None) -> str:
    """Text of generated token ids (special tokens skipped)."""
    return service.local_model(model, "causal-lm").decode([int(i) for i in ids])
