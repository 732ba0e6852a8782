"""Page 9's policy update, the deck's step 4, small enough to watch on a CPU: a LoRA adapter on a private copy of
SmolLM2 learns to write what the reward model likes, with the deck's KL penalty to the frozen reference.

The objective is the deck's: maximise reward − β · KL(policy ‖ reference). One step:

1. one prompt; the policy samples k completions at temperature 1 (so they are the policy's own choices);
2. the reward model scores each: r_i = RM(prompt, completion_i);
3. the reference is the same copy with the adapter switched off (peft's `disable_adapter`, so no second model in
   memory); KL_i = Σ_t KL(π(·|y_<t) ‖ π_ref(·|y_<t)) over the completion's tokens, exact over the vocabulary;
4. each completion's KL-penalised reward, as trl's RLOO trainer computes it: R_i = r_i − β · KL_i (the exact KL
   per position, which trl's sampled log-ratio log π(y_t) − log π_ref(y_t) estimates);
5. REINFORCE with a leave-one-out baseline ("RLOO", Ahmadian et al. 2024 — PPO's simpler cousin, no value network):
   A_i = R_i − mean of the other k − 1 penalised rewards, loss −mean_i A_i · Σ_t log π(y_t | y_<t). So an answer
   that beats the others on reward but drifted far from the reference can still be pushed down;
6. one Adam step on the LoRA matrices. The page shows r, KL and the shaped reward R = r − β · KL.

With β = 0 nothing holds the policy near the reference, so it drifts toward whatever the reward model over-rewards;
with β > 0 drifting costs reward. Every `eval_every` steps the policy answers held-out prompts greedily, scored by the
reward model and the toxicity classifier (step 0 is the reference). The reward model and the toxicity score are
passed in as functions (texts → numbers), so this module needs no encoder of its own.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
import yaml

MAX_BETA = 10.0


def _prompts(kind: str) -> tuple[str, ...]:
    from core.labs.rlhf.reward import DATA
    return tuple(yaml.safe_load((DATA / "prompts.yaml").read_text(encoding="utf-8"))[kind])


def training_prompts() -> tuple[str, ...]:
    """The prompts the policy practises on (the labeling demo's prompts)."""
    return _prompts("prompts")


def held_out_prompts() -> tuple[str, ...]:
    """Prompts the policy never trains on, answered before and after the update."""
    return _prompts("held_out")


class PolicyError(ValueError):
    """Settings the policy update cannot use; the message is one sentence for the learner."""


@dataclass(frozen=True)
class PolicySettings:
    beta: float = 0.2              # KL weight; 0 lets the policy drift freely
    steps: int = 24
    samples: int = 4               # completions per prompt (k)
    max_new_tokens: int = 24
    lr: float = 5e-3
    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ("q_proj", "v_proj")
    seed: int = 0
    sample_every: int = 4          # a sample completion is kept every this many steps
    eval_every: int = 12           # held-out prompts are answered and scored every this many steps


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def check(settings: PolicySettings) -> PolicySettings:
    if not _number(settings.beta) or not 0 <= settings.beta <= MAX_BETA:
        raise PolicyError(f"β (the KL weight) must be a number from 0 to {MAX_BETA:g}.")
    if not isinstance(settings.steps, int) or not 1 <= settings.steps <= 200:
        raise PolicyError("The policy update needs 1 to 200 steps.")
    if not isinstance(settings.samples, int) or not 2 <= settings.samples <= 8:
        raise PolicyError("Each step needs 2 to 8 completions per prompt (the baseline is the mean of the others).")
    if not isinstance(settings.max_new_tokens, int) or not 4 <= settings.max_new_tokens <= 128:
        raise PolicyError("Completions must be 4 to 128 tokens long.")
    if not _number(settings.lr) or not 0 < settings.lr <= 1:
        raise PolicyError("The learning rate must be above 0 and at most 1.")
    if not isinstance(settings.eval_every, int) or settings.eval_every < 1:
        raise PolicyError("Held-out prompts are scored every 1 or more steps.")
    if not isinstance(settings.rank, int) or not 1 <= settings.rank <= 64:
        raise PolicyError("The LoRA rank must be 1 to 64.")
    return settings


# ------------------------------------------------------------------------------------------------------ maths

def token_kl(policy_logits: torch.Tensor, reference_logits: torch.Tensor) -> torch.Tensor:
    """KL(π ‖ π_ref) at every position, exact over the vocabulary: Σ_v π(v) (log π(v) − log π_ref(v)). -> (...,)"""
    logp = F.log_softmax(policy_logits.float(), dim=-1)
    logq = F.log_softmax(reference_logits.float(), dim=-1)
    p = logp.exp()
    return torch.where(p > 0, p * (logp - logq), torch.zeros_like(p)).sum(-1)     # 0 · log 0 = 0 (removed tokens)


def leave_one_out(rewards: torch.Tensor) -> torch.Tensor:
    """Each reward minus the mean of the others (RLOO's baseline). rewards: (k,) with k ≥ 2."""
    k = rewards.shape[0]
    return rewards - (rewards.sum() - rewards) / (k - 1)


def reinforce_loss(token_logprobs: torch.Tensor, mask: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """−mean_i A_i · Σ_t log π(y_t): pushes up completions that beat their baseline, down the others."""
    return -(advantages.detach() * (token_logprobs * mask).sum(-1)).mean()


def shaped_rewards(rewards: torch.Tensor, token_kls: torch.Tensor, mask: torch.Tensor, beta: float) -> torch.Tensor:
    """R_i = r_i − β · Σ_t KL_t over each completion's own tokens (padding excluded). -> (k,)"""
    return rewards - beta * (token_kls * mask).sum(-1)


def policy_loss(token_logprobs: torch.Tensor, token_kls: torch.Tensor, mask: torch.Tensor, rewards: torch.Tensor,
                beta: float) -> torch.Tensor:
    """The step's loss, RLOO's: REINFORCE with advantages = leave-one-out of the KL-penalised rewards
    (r − β · Σ_t KL_t). The advantages are constants (no gradient flows through the KL or the scores); what the
    gradient does is raise the log-probability of completions whose penalised reward beats the others' and lower
    the rest."""
    advantages = leave_one_out(shaped_rewards(rewards, token_kls.detach(), mask, beta))
    return reinforce_loss(token_logprobs, mask, advantages)


# ------------------------------------------------------------------------------------------------------ model work

def without_stops(logits: torch.Tensor, stops: set[int]) -> torch.Tensor:
    """The logits with the stop tokens made impossible (−inf): the distribution the training answers were drawn
    from. -> same shape, float."""
    out = logits.float().clone()
    if stops:
        out[..., sorted(stops)] = float("-inf")
    return out


def stop_ids(tokenizer) -> set[int]:
    ids = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
    return {int(i) for i in ids if isinstance(i, int) and i >= 0}


@torch.no_grad()
def sample(model, prompt: Sequence[int], k: int, max_new_tokens: int, stops: set[int],
           generator: torch.Generator | None, temperature: float = 1.0,
           min_new_tokens: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """k completions of one prompt with a KV cache: (tokens (k, T), mask (k, T)); the stop token is kept in the mask
    (stopping is one of the policy's choices) and everything after it is padding. temperature 0 is greedy. The stop
    tokens cannot be chosen before `min_new_tokens` tokens."""
    device = next(model.parameters()).device
    ids = torch.tensor([list(prompt)] * k, device=device)
    out = model(input_ids=ids, use_cache=True)
    tokens, mask = [], []
    alive = torch.ones(k, dtype=torch.bool, device=device)
    pad = next(iter(stops)) if stops else 0
    banned = torch.tensor(sorted(stops), device=device, dtype=torch.long)
    for position in range(max_new_tokens):
        logits = out.logits[:, -1].float()
        if position < min_new_tokens and len(banned):
            logits[:, banned] = float("-inf")
        if temperature > 0:
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(device)
        else:
            nxt = logits.argmax(-1)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, pad))
        tokens.append(nxt)
        mask.append(alive.clone())
        alive = alive & ~torch.isin(nxt, torch.tensor(sorted(stops), device=device))
        if not alive.any():
            break
        out = model(input_ids=nxt[:, None], cache=out.cache, use_cache=True)
    return torch.stack(tokens, 1), torch.stack(mask, 1).float()


@torch.no_grad()
def greedy(model, prompts: Sequence[Sequence[int]], max_new_tokens: int, stops: set[int]) -> list[list[int]]:
    """The greedy completion of every prompt, all in one batch: prompts are padded on the left (masked, with
    positions counted from each prompt's first real token), so one pass per new token serves them all."""
    device = next(model.parameters()).device
    width = max(len(p) for p in prompts)
    pad = next(iter(stops)) if stops else 0
    ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompts], device=device)
    attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=attention, position_ids=positions, use_cache=True)
    done = torch.zeros(len(prompts), dtype=torch.bool, device=device)
    stop_tensor = torch.tensor(sorted(stops), device=device)
    new: list[list[int]] = [[] for _ in prompts]
    for _ in range(max_new_tokens):
        nxt = out.logits[:, -1].argmax(-1)
        for i, token in enumerate(nxt.tolist()):
            if not done[i] and token not in stops:
                new[i].append(token)
        done |= torch.isin(nxt, stop_tensor)
        if done.all():
            break
        attention = torch.cat([attention, torch.ones(len(prompts), 1, dtype=attention.dtype, device=device)], 1)
        positions = positions[:, -1:] + 1
        out = model(input_ids=nxt[:, None], attention_mask=attention, position_ids=positions, cache=out.cache,
                    use_cache=True)
    return new


def completion_logits(model, prompt: Sequence[int], tokens: torch.Tensor) -> torch.Tensor:
    """The logits that predicted each completion token: (k, T, vocab)."""
    k, t = tokens.shape
    ids = torch.cat([torch.tensor([list(prompt)] * k, device=tokens.device), tokens], dim=1)
    logits = model(input_ids=ids).logits
    return logits[:, len(prompt) - 1: len(prompt) - 1 + t]


def texts_of(tokenizer, tokens: torch.Tensor, mask: torch.Tensor) -> list[str]:
    out = []
    for row, m in zip(tokens.tolist(), mask.tolist()):
        kept = [t for t, keep in zip(row, m) if keep]
        out.append(tokenizer.decode(kept, skip_special_tokens=True).strip())
    return out


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True)
    return [int(i) for i in tokenizer(text, add_special_tokens=False)["input_ids"]]


# ------------------------------------------------------------------------------------------------------ the run

@dataclass
class Step:
    step: int
    prompt: str
    reward: float                  # mean reward-model score of the k completions
    kl: float                      # mean KL to the reference, summed over each completion's tokens
    shaped: float                  # mean r − β·KL
    length: float                  # mean completion length in tokens
    repeated: float                # share of repeated word pairs in the completions (a sign of degeneration)
    seconds: float
    sample: str = ""               # the first completion, every `sample_every` steps


@dataclass
class Evaluation:
    prompts: tuple[str, ...]
    replies: tuple[str, ...]
    rewards: tuple[float, ...]
    toxicity: tuple[float, ...]

    @property
    def mean_reward(self) -> float:
        return float(np.mean(self.rewards)) if self.rewards else float("nan")

    @property
    def mean_toxicity(self) -> float:
        return float(np.mean(self.toxicity)) if self.toxicity else float("nan")


@dataclass
class PolicyRun:
    settings: PolicySettings
    steps: list[Step] = field(default_factory=list)
    checkpoints: list[tuple[int, Evaluation]] = field(default_factory=list)   # (step, held-out answers); 0 = reference
    trainable: int = 0
    phase: str = "starting"
    state: str = "running"         # running, done, cancelled
    seconds: float = 0.0

    @property
    def before(self) -> Evaluation | None:
        return self.checkpoints[0][1] if self.checkpoints else None

    @property
    def after(self) -> Evaluation | None:
        """The last checkpoint's answers, once the run finished (None while it trains or after a cancel)."""
        if self.state != "done" or len(self.checkpoints) < 2:
            return None
        return self.checkpoints[-1][1]

    @property
    def seconds_per_step(self) -> float:
        return float(np.mean([s.seconds for s in self.steps])) if self.steps else float("nan")


def repeated_share(text: str) -> float:
    """Share of word pairs that already appeared earlier in the text: 0 for varied prose, near 1 for a loop."""
    words = text.lower().split()
    pairs = list(zip(words, words[1:]))
    if not pairs:
        return 0.0
    seen, repeats = set(), 0
    for p in pairs:
        repeats += p in seen
        seen.add(p)
    return repeats / len(pairs)


def make_policy(model, settings: PolicySettings):
    """`model` (a private copy) with a fresh LoRA adapter; only the adapter trains."""
    from peft import LoraConfig, TaskType, get_peft_model
    torch.manual_seed(settings.seed)
    model.requires_grad_(False)
    config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=0.0,
                        target_modules=list(settings.targets), task_type=TaskType.CAUSAL_LM)
    return get_peft_model(model, config)


def evaluate(policy, tokenizer, prompts: Sequence[str], reward_fn, toxicity_fn, max_new_tokens: int,
             reference: bool = False) -> Evaluation:
    """Greedy replies to `prompts` (the adapter off when `reference`), with their rewards and toxicity."""
    stops = stop_ids(tokenizer)
    policy.eval()
    ids = [prompt_ids(tokenizer, p) for p in prompts]
    if reference:
        with policy.disable_adapter():
            completions = greedy(policy, ids, max_new_tokens, stops)
    else:
        completions = greedy(policy, ids, max_new_tokens, stops)
    replies = [tokenizer.decode(c, skip_special_tokens=True).strip() for c in completions]
    rewards = [float(r) for p, reply in zip(prompts, replies) for r in reward_fn(p, [reply])]
    toxic = [float(t) for t in toxicity_fn(replies)] if toxicity_fn is not None else []
    return Evaluation(tuple(prompts), tuple(replies), tuple(rewards), tuple(toxic))


def run(model, tokenizer, prompts: Sequence[str], reward_fn: Callable[[str, list[str]], np.ndarray],
        settings: PolicySettings = PolicySettings(), *, held_out: Sequence[str] = (), toxicity_fn=None,
        on_update: Callable[[PolicyRun], None] = lambda r: None,
        cancelled: Callable[[], bool] = lambda: False) -> PolicyRun:
    """Train a LoRA policy on `model` (a private copy: it is changed) against `reward_fn(prompt, replies)`.

    `held_out` prompts are answered greedily by the reference before and the policy after, scored by the reward model
    and `toxicity_fn(replies)` (P(toxic) each), the deck's "evaluate the aligned model"."""
    check(settings)
    if not prompts:
        raise PolicyError("The policy update needs at least one prompt.")
    started = time.perf_counter()
    result = PolicyRun(settings)
    policy = make_policy(model, settings)
    result.trainable = sum(p.numel() for p in policy.parameters() if p.requires_grad)
    stops = stop_ids(tokenizer)

    def checkpoint(step: int) -> None:
        result.phase = ("the reference answers the held-out prompts" if step == 0
                        else f"step {step}: the policy answers the held-out prompts")
        on_update(result)
        result.checkpoints.append((step, evaluate(policy, tokenizer, held_out, reward_fn, toxicity_fn,
                                                  settings.max_new_tokens, reference=step == 0)))

    if held_out:
        checkpoint(0)
    optimizer = torch.optim.Adam([p for p in policy.parameters() if p.requires_grad], lr=settings.lr)
    order = list(prompts)
    random.Random(settings.seed).shuffle(order)
    generator = torch.Generator().manual_seed(settings.seed)
    for step in range(1, settings.steps + 1):
        if cancelled():
            result.state = "cancelled"
            break
        result.phase = f"step {step} of {settings.steps}"
        on_update(result)
        t0 = time.perf_counter()
        prompt = order[(step - 1) % len(order)]
        ids = prompt_ids(tokenizer, prompt)
        policy.eval()
        # Every training answer is max_new_tokens long. The KL is summed over an answer's tokens, so an answer that
        # stops early pays less penalty: allowed to stop, the policy at β = 0.2 learned to end every answer at once
        # (measured: empty answers from step 13 on). Held-out answers (greedy) still stop when the model says so.
        tokens, mask = sample(policy, ids, settings.samples, settings.max_new_tokens, stops, generator,
                              min_new_tokens=settings.max_new_tokens)
        replies = texts_of(tokenizer, tokens, mask)
        rewards = torch.tensor(np.asarray(reward_fn(prompt, replies), dtype=np.float32))
        policy.train()
        # The answers were drawn from the tokens that are not a stop: log-probabilities and KL are taken over that
        # same choice (stop tokens removed and the rest renormalised), so training leaves the stop tokens' logits
        # alone. Without this, every pushed-down token raised the stop token's share, and after 12 steps the
        # greedy held-out answers were empty at every β.
        logits = without_stops(completion_logits(policy, ids, tokens), stops)
        with torch.no_grad(), policy.disable_adapter():
            reference_logits = without_stops(completion_logits(policy, ids, tokens), stops)
        kls = token_kl(logits.detach(), reference_logits)      # a constant in the advantage, not a loss term
        logprobs = torch.log_softmax(logits.float(), -1).gather(-1, tokens[..., None]).squeeze(-1)
        loss = policy_loss(logprobs, kls, mask, rewards, settings.beta)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        kl = (kls.detach() * mask).sum(-1)
        result.steps.append(Step(
            step, prompt, float(rewards.mean()), float(kl.mean()),
            float(shaped_rewards(rewards, kls.detach(), mask, settings.beta).mean()),
            float(mask.sum(-1).mean()), float(np.mean([repeated_share(r) for r in replies])),
            time.perf_counter() - t0,
            replies[0] if (step == 1 or step % settings.sample_every == 0 or step == settings.steps) else ""))
        on_update(result)
        if held_out and (step % settings.eval_every == 0 or step == settings.steps) and not cancelled():
            checkpoint(step)
    if result.state == "running":
        result.state = "done"
    result.phase = result.state
    result.seconds = time.perf_counter() - started
    on_update(result)
    return result
