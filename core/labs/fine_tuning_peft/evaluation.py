"""How page 7 scores a model before and after tuning: on the task, on general skills (forgetting), and by perplexity.

- Task: for each held-out review, the model's scores for the token after the prompt. "Answers with the label" is the
  share whose single most likely token is the right label word (what a program reading the reply needs); "picks the
  right label" only compares the label words with each other (does the model know the answer at all?).
- General skills: each question's options are scored by their mean log-probability after the question; the model
  is right when the true answer scores best (the way benchmark harnesses score multiple choice, page 8).
- Perplexity of an encyclopedic text: how surprised the model is by ordinary prose.
All in eval mode and without gradients; peft models (prompt tuning adds virtual positions in front) are handled.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.labs.fine_tuning_peft.data import Example, Question, prompt_ids


@dataclass(frozen=True)
class TaskScore:
    answers: float               # share whose top token is the right label
    picks: float                 # share where the right label beats the other labels
    predictions: tuple[str, ...]  # the top token's text per example


@dataclass(frozen=True)
class Scores:
    task: TaskScore | None
    general: float               # share of general questions answered right
    perplexity: float


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _padded(rows: Sequence[Sequence[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(list(r))
        mask[i, :len(r)] = 1
    return ids.to(device), mask.to(device)


def _logits(model, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, seq, vocab) logits aligned with `ids` (prompt tuning's virtual positions dropped)."""
    out = model(input_ids=ids, attention_mask=mask).logits
    return out[:, out.shape[1] - ids.shape[1]:].float()


def label_ids(tokenizer, labels: Sequence[str]) -> list[int]:
    """The single token of each label word as the answer's first token; ValueError if a label needs two."""
    out = []
    for label in labels:
        ids = tokenizer(label, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ValueError(f"The label {label!r} is {len(ids)} tokens; task scoring needs one-token labels.")
        out.append(int(ids[0]))
    return out


@torch.inference_mode()
def task_score(model, tokenizer, examples: Sequence[Example], labels: Sequence[str], batch: int = 16) -> TaskScore:
    model.eval()
    targets = label_ids(tokenizer, labels)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    answers = picks = 0
    predictions = []
    for i in range(0, len(examples), batch):
        chunk = examples[i:i + batch]
        rows = [prompt_ids(tokenizer, e.prompt) for e in chunk]
        ids, mask = _padded(rows, pad, _device(model))
        logits = _logits(model, ids, mask)
        last = torch.tensor([len(r) - 1 for r in rows], device=logits.device)
        scores = logits[torch.arange(len(rows), device=logits.device), last]          # (batch, vocab)
        top = scores.argmax(-1).tolist()
        among = scores[:, targets].argmax(-1).tolist()
        for e, t, a in zip(chunk, top, among):
            right = targets[list(labels).index(e.completion)]
            answers += t == right
            picks += targets[a] == right
            predictions.append(tokenizer.decode([t]))
    n = max(len(examples), 1)
    return TaskScore(answers / n, picks / n, tuple(predictions))


def _base_and_prefix(model):
    """(the transformers model that runs, the soft prompt to put in front or None): LoRA layers live inside the
    underlying model; a prompt-tuned model's virtual tokens are prepended by hand."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(model, "active_peft_config", None)
    prefix = model.get_prompt(batch_size=1) if config is not None and getattr(config, "is_prompt_learning", False) \
        else None
    return base, prefix


def _start(base, prefix, ids: torch.Tensor):
    """Run `ids` (1, n) after the optional soft prompt, keeping the KV cache."""
    embeds = base.get_input_embeddings()(ids)
    if prefix is not None:
        embeds = torch.cat([prefix.to(embeds.dtype), embeds], dim=1)
    return base(inputs_embeds=embeds, use_cache=True)


@torch.inference_mode()
def option_means(model, tokenizer, question: Question) -> list[float]:
    """Each option's mean log-probability per token after the question (chat template), in `question.options` order.

    The question runs once; its KV cache is repeated for the options, which run together as one small batch (four
    times fewer tokens than running question + option for every option)."""
    model.eval()
    base, prefix = _base_and_prefix(model)
    device = _device(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    context = torch.tensor([prompt_ids(tokenizer, question.question)], device=device)
    out = _start(base, prefix, context)
    first = F.log_softmax(out.logits[0, -1].float(), dim=-1)
    options = [tokenizer(o, add_special_tokens=False)["input_ids"] or [pad] for o in question.options]
    width = max(len(o) for o in options)
    scores = [float(first[o[0]]) for o in options]
    if width > 1:
        ids = torch.full((len(options), width), pad, dtype=torch.long, device=device)
        for i, o in enumerate(options):
            ids[i, :len(o)] = torch.tensor(o)
        cache = out.cache
        cache.batch_repeat_interleave(len(options))
        mask = torch.ones((len(options), cache.get_seq_length() + width), dtype=torch.long, device=device)
        logp = F.log_softmax(base(input_ids=ids, attention_mask=mask, cache=cache, use_cache=True).logits.float(),
                             dim=-1)
        for i, o in enumerate(options):
            scores[i] += sum(float(logp[i, j - 1, o[j]]) for j in range(1, len(o)))
    return [score / len(o) for score, o in zip(scores, options)]


def general_score(model, tokenizer, questions: Sequence[Question]) -> float:
    """Share of questions whose true answer (the first option) has the best mean log-probability."""
    right = 0
    for q in questions:
        means = option_means(model, tokenizer, q)
        right += max(range(len(means)), key=means.__getitem__) == 0
    return right / max(len(questions), 1)


@torch.inference_mode()
def perplexity(model, ids: Sequence[int], window: int = 256) -> float:
    """exp(mean next-token cross-entropy) over `ids`, in windows of `window` tokens."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, max(len(ids) - 1, 1), window):
        piece = torch.tensor([list(ids[start:start + window + 1])], device=_device(model))
        if piece.shape[1] < 2:
            break
        logits = _logits(model, piece[:, :-1], torch.ones_like(piece[:, :-1]))
        total += float(F.cross_entropy(logits[0], piece[0, 1:], reduction="sum"))
        count += piece.shape[1] - 1
    return math.exp(total / max(count, 1))


@torch.inference_mode()
def complete(model, tokenizer, prompt: str, max_new_tokens: int = 12) -> str:
    """The model's greedy reply to `prompt` (chat template), at most `max_new_tokens` tokens.

    A small loop with a KV cache on the underlying transformers model; a peft prompt-tuned model's soft prompt is put
    in front of the prompt's embeddings by hand (peft's own `generate` for prompt tuning was several times slower
    here). LoRA layers live inside the underlying model, so they apply as they are."""
    model.eval()
    stops = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
    base, prefix = _base_and_prefix(model)
    ids = torch.tensor([prompt_ids(tokenizer, prompt)], device=_device(model))
    out = _start(base, prefix, ids)
    new: list[int] = []
    for _ in range(max_new_tokens):
        token = int(out.logits[0, -1].argmax())
        if token in stops:
            break
        new.append(token)
        out = base(input_ids=torch.tensor([[token]], device=ids.device), cache=out.cache, use_cache=True)
    return tokenizer.decode(new, skip_special_tokens=True).strip()
