"""Page 9's policy update: the KL, the baseline and the loss against direct computations, and a few real steps on a
tiny Llama with SmolLM2's vocabulary (the reward here is a plain function of the text: the test needs a number per
reply, not a trained reward model)."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from core.labs.rlhf import policy
from core.labs.rlhf.policy import PolicyError, PolicySettings


def test_token_kl_equals_a_direct_computation_on_fixed_logits():
    p_logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    q_logits = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    expected = []
    for a, b in zip(p_logits.tolist(), q_logits.tolist()):
        zp, zq = sum(math.exp(x) for x in a), sum(math.exp(x) for x in b)
        p = [math.exp(x) / zp for x in a]
        q = [math.exp(x) / zq for x in b]
        expected.append(sum(pi * math.log(pi / qi) for pi, qi in zip(p, q)))
    got = policy.token_kl(p_logits, q_logits)
    assert got.tolist() == pytest.approx(expected, abs=1e-6)
    assert got[1] == pytest.approx(0.0, abs=1e-7)          # identical distributions
    assert float(got[0]) > 0                               # KL is never negative
    # and torch's own KL agrees
    ref = torch.nn.functional.kl_div(torch.log_softmax(q_logits, -1), torch.log_softmax(p_logits, -1),
                                     log_target=True, reduction="none").sum(-1)
    assert got.tolist() == pytest.approx(ref.tolist(), abs=1e-6)


def test_leave_one_out_baseline():
    rewards = torch.tensor([1.0, 2.0, 3.0, 6.0])
    got = policy.leave_one_out(rewards)
    assert got.tolist() == pytest.approx([1 - 11 / 3, 2 - 10 / 3, 3 - 9 / 3, 6 - 6 / 3])
    assert float(policy.leave_one_out(torch.tensor([5.0, 5.0])).abs().sum()) == 0   # equal rewards teach nothing


def test_reinforce_loss_pushes_up_the_completion_with_a_positive_advantage():
    logprobs = torch.tensor([[-1.0, -2.0], [-1.5, -0.5]], requires_grad=True)
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    advantages = torch.tensor([1.0, -1.0])
    loss = policy.reinforce_loss(logprobs, mask, advantages)
    assert float(loss) == pytest.approx(-(1.0 * -3.0 + -1.0 * -1.5) / 2)
    loss.backward()
    # gradient descent raises the log-probs of the good completion and lowers the bad one's; padding gets nothing
    assert (logprobs.grad[0] < 0).all() and logprobs.grad[1, 0] > 0 and logprobs.grad[1, 1] == 0


def test_the_advantage_is_rloo_of_the_kl_penalised_reward_as_trl_computes_it():
    """trl's RLOO trainer: rlhf_reward = score − β · Σ_t KL_t, baseline = mean of the other k − 1, advantage =
    rlhf_reward − baseline; loss = −mean advantage · Σ_t log π. Worked by hand here."""
    logprobs = torch.tensor([[-1.0, -2.0], [-1.5, -0.5], [-0.2, -0.3]], requires_grad=True)
    kls = torch.tensor([[0.2, 0.4], [0.1, 9.0], [3.0, 2.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])          # the 9.0 is padding and must not count
    rewards = torch.tensor([2.0, 1.0, 3.0])
    beta = 0.5
    penalised = [2.0 - 0.5 * 0.6, 1.0 - 0.5 * 0.1, 3.0 - 0.5 * 5.0]     # 1.7, 0.95, 0.5
    advantages = [penalised[i] - (sum(penalised) - penalised[i]) / 2 for i in range(3)]
    sums = [-3.0, -1.5, -0.5]
    expected = -sum(a * s for a, s in zip(advantages, sums)) / 3
    assert policy.shaped_rewards(rewards, kls, mask, beta).tolist() == pytest.approx(penalised)
    loss = policy.policy_loss(logprobs, kls, mask, rewards, beta)
    assert float(loss) == pytest.approx(expected)
    loss.backward()
    # the highest raw reward (3.0) drifted furthest (KL 5): penalised, it is the worst answer and is pushed down
    assert advantages[2] < 0 and (logprobs.grad[2] > 0).all()
    assert (logprobs.grad[0] < 0).all()                                  # the best penalised answer goes up
    # at β = 0 the advantage is the raw rewards' leave-one-out and the same answer is pushed up
    logprobs.grad = None
    policy.policy_loss(logprobs, kls, mask, rewards, 0.0).backward()
    assert (logprobs.grad[2] < 0).all()


def test_the_kl_is_a_constant_of_the_loss():
    logprobs = torch.tensor([[-1.0, -2.0], [-1.5, -0.5]], requires_grad=True)
    kls = torch.tensor([[0.2, 0.4], [0.1, 0.3]], requires_grad=True)
    policy.policy_loss(logprobs, kls, torch.ones(2, 2), torch.tensor([1.0, 0.0]), 0.5).backward()
    assert kls.grad is None and logprobs.grad is not None


@pytest.mark.parametrize("change, words", [
    (dict(beta=-0.1), "β"), (dict(beta=float("nan")), "β"), (dict(beta=float("inf")), "β"), (dict(beta=11.0), "β"),
    (dict(beta=True), "β"), (dict(steps=0), "steps"), (dict(steps=2.5), "steps"), (dict(samples=1), "completions"),
    (dict(max_new_tokens=2), "tokens"), (dict(lr=0.0), "learning rate"), (dict(lr=float("nan")), "learning rate"),
    (dict(rank=0), "rank"),
])
def test_bad_settings_get_a_sentence(change, words):
    with pytest.raises(PolicyError, match=words):
        policy.check(PolicySettings(**change))


def test_repeated_share():
    assert policy.repeated_share("the cat sat on the mat") == 0
    assert policy.repeated_share("yes yes yes yes yes") == pytest.approx(3 / 4)
    assert policy.repeated_share("") == 0


def test_sample_masks_everything_after_the_stop_token(tiny, tokenizer):
    stops = policy.stop_ids(tokenizer)
    ids = policy.prompt_ids(tokenizer, "Hi")
    gen = torch.Generator().manual_seed(0)
    tokens, mask = policy.sample(tiny, ids, 3, 8, stops, gen)
    assert tokens.shape == mask.shape and tokens.shape[0] == 3 and tokens.shape[1] <= 8
    for row, m in zip(tokens.tolist(), mask.tolist()):
        kept = [t for t, keep in zip(row, m) if keep]
        assert m == sorted(m, reverse=True)                 # kept tokens come first, padding after
        assert all(t not in stops for t in kept[:-1])         # only the last kept token may be a stop
    again = policy.sample(tiny, ids, 3, 8, stops, torch.Generator().manual_seed(0))
    assert torch.equal(again[0], tokens)                     # the seed decides the samples
    greedy = policy.sample(tiny, ids, 2, 6, stops, None, temperature=0)[0]
    assert torch.equal(greedy[0], greedy[1])


def test_training_answers_cannot_stop_early(tiny, tokenizer):
    """With the KL summed over an answer's tokens, stopping early would be the cheapest answer: training samples are
    all max_new_tokens long, whatever probability the stop tokens get."""
    stops = policy.stop_ids(tokenizer)
    ids = policy.prompt_ids(tokenizer, "Hi")
    with torch.no_grad():                                  # make the stop token the model's favourite
        tiny_copy = copy.deepcopy(tiny)
        tiny_copy.lm_head.bias = torch.nn.Parameter(torch.zeros(tiny_copy.lm_head.out_features))
        for i in stops:
            tiny_copy.lm_head.bias[i] = 50.0
    free = policy.sample(tiny_copy, ids, 2, 8, stops, torch.Generator().manual_seed(0))[1]
    assert free.sum(-1).tolist() == [1.0, 1.0]              # allowed to stop, it stops at once
    tokens, mask = policy.sample(tiny_copy, ids, 2, 8, stops, torch.Generator().manual_seed(0), min_new_tokens=8)
    assert mask.sum(-1).tolist() == [8.0, 8.0] and not any(t in stops for t in tokens.flatten().tolist())


def test_a_short_run_trains_only_the_adapter_and_starts_at_kl_zero(tiny, tokenizer):
    base = {k: v.clone() for k, v in tiny.state_dict().items()}

    def reward_fn(prompt, replies):          # likes replies with many letters "e"
        return np.array([r.count("e") / 4 for r in replies], dtype=np.float32)

    def toxicity_fn(replies):
        return np.full(len(replies), 0.25)

    seen = []
    settings = PolicySettings(beta=0.1, steps=3, samples=3, max_new_tokens=6, lr=5e-2, sample_every=2)
    result = policy.run(tiny, tokenizer, ["Hi", "Say something"], reward_fn, settings, held_out=["Hello"],
                        toxicity_fn=toxicity_fn, on_update=lambda r: seen.append(r.phase))
    assert result.state == "done" and len(result.steps) == 3
    assert result.steps[0].kl == pytest.approx(0.0, abs=1e-5)   # LoRA starts as a no-op (B = 0)
    assert result.steps[-1].kl > 0                              # ...and the policy moved
    assert all(s.shaped == pytest.approx(s.reward - 0.1 * s.kl, abs=1e-5) for s in result.steps)
    assert result.steps[0].sample is not None and result.steps[1].sample and result.steps[2].sample
    assert result.before.prompts == ("Hello",) and len(result.after.replies) == 1
    assert result.before.mean_toxicity == pytest.approx(0.25)
    assert result.trainable > 0 and any(p.startswith("step") for p in seen)
    # the base weights (LoRA wraps them) did not change
    wrapped = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
               for k, v in tiny.state_dict().items() if "lora_" not in k}
    assert all(torch.equal(wrapped[k], v) for k, v in base.items() if k in wrapped)


def test_a_cancelled_run_stops_before_the_next_step(tiny, tokenizer):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 1

    result = policy.run(tiny, tokenizer, ["Hi"], lambda p, r: np.zeros(len(r)),
                        PolicySettings(steps=5, samples=2, max_new_tokens=4), cancelled=cancelled)
    assert result.state == "cancelled" and len(result.steps) == 1 and result.after is None


def test_no_prompts_is_refused(tiny, tokenizer):
    with pytest.raises(PolicyError, match="prompt"):
        policy.run(tiny, tokenizer, [], lambda p, r: np.zeros(len(r)), PolicySettings(steps=1))


def test_shipped_prompts_are_split():
    train, held = policy.training_prompts(), policy.held_out_prompts()
    assert len(train) >= 8 and len(held) >= 4 and not set(train) & set(held)


def test_batched_greedy_equals_one_prompt_at_a_time(tiny, tokenizer):
    stops = policy.stop_ids(tokenizer)
    prompts = [policy.prompt_ids(tokenizer, p) for p in ("Hi", "How do I make a cup of tea, please?", "Why?")]
    batched = policy.greedy(tiny, prompts, 6, stops)
    for ids, got in zip(prompts, batched):
        tokens, mask = policy.sample(tiny, ids, 1, 6, stops, None, temperature=0)
        alone = [t for t, keep in zip(tokens[0].tolist(), mask[0].tolist()) if keep and t not in stops]
        assert got == alone


def test_removed_stop_tokens_leave_the_kl_finite_and_get_no_gradient():
    logits = torch.tensor([[[1.0, 2.0, 3.0, 0.5]]], requires_grad=True)
    reference = torch.tensor([[[0.5, 2.0, 1.0, 0.0]]])
    kl = policy.token_kl(policy.without_stops(logits, {2}), policy.without_stops(reference, {2}))
    p = torch.softmax(torch.tensor([1.0, 2.0, 0.5]), -1)
    q = torch.softmax(torch.tensor([0.5, 2.0, 0.0]), -1)
    assert float(kl) == pytest.approx(float((p * (p / q).log()).sum()), abs=1e-6)
    logprob = torch.log_softmax(policy.without_stops(logits, {2}), -1)[0, 0, 1]
    logprob.backward()
    assert logits.grad[0, 0, 2] == 0                     # the stop token's logit is left as it was
