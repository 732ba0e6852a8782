"""RLHF lab timings and results on this machine: the reward model's training time and accuracy, then the
policy update (LoRA + KL penalty, RLOO) with β = 0 and β > 0 — seconds per step, reward and KL per step, samples, and
the held-out reward and toxicity of the reference and the policy.

Usage: .venv/bin/python -m bench.rlhf_policy [--betas 0 0.1] [--steps 16] [--lr 3e-3] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from core.labs.rlhf import policy, reward, toxicity
from core.serving.model_service import ModelService
from core.serving.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--betas", type=float, nargs="+", default=[0.0, policy.PolicySettings().beta])
    parser.add_argument("--steps", type=int, default=policy.PolicySettings().steps)
    parser.add_argument("--lr", type=float, default=policy.PolicySettings().lr)
    parser.add_argument("--seed", type=int, default=policy.PolicySettings().seed)
    parser.add_argument("--samples", type=int, default=policy.PolicySettings().samples)
    parser.add_argument("--tokens", type=int, default=policy.PolicySettings().max_new_tokens)
    parser.add_argument("--rank", type=int, default=policy.PolicySettings().rank)
    args = parser.parse_args()
    svc = ModelService(Settings.from_env())
    tok = svc.tokenizer()

    t0 = time.perf_counter()
    pairs = reward.shipped_pairs()
    chosen = svc.embed([reward.text_of(p.prompt, p.chosen) for p in pairs])
    rejected = svc.embed([reward.text_of(p.prompt, p.rejected) for p in pairs])
    embed_s = time.perf_counter() - t0
    tr = [i for i, p in enumerate(pairs) if p.split == "train"]
    te = [i for i, p in enumerate(pairs) if p.split == "test"]
    rm = reward.train(chosen[tr], rejected[tr], chosen[te], rejected[te])
    print(f"reward model: MiniLM read {2 * len(pairs)} replies in {embed_s:.1f} s; trained in {rm.seconds:.2f} s; "
          f"accuracy train {rm.train_accuracy:.0%}, held-out {rm.test_accuracy:.0%}")
    shipped = toxicity.sentences()
    tv = svc.embed([s.text for s in shipped])
    ty = np.array([s.toxic for s in shipped], dtype=float)
    tr_t = [i for i, s in enumerate(shipped) if s.split == "train"]
    te_t = [i for i, s in enumerate(shipped) if s.split == "test"]
    clf = toxicity.train(tv[tr_t], ty[tr_t], tv[te_t], ty[te_t])
    print(f"toxicity classifier: held-out {clf.test_accuracy:.0%}")

    def reward_fn(prompt, replies):
        return rm.model.score(svc.embed([reward.text_of(prompt, r) for r in replies]))

    def toxicity_fn(replies):
        return clf.probability(svc.embed(list(replies)))

    for beta in args.betas:
        settings = policy.PolicySettings(beta=beta, steps=args.steps, lr=args.lr, seed=args.seed,
                                         samples=args.samples, max_new_tokens=args.tokens,
                                         rank=args.rank, alpha=2.0 * args.rank)
        t0 = time.perf_counter()
        result = policy.run(svc.decoder_copy(), tok, policy.training_prompts(), reward_fn, settings,
                            held_out=policy.held_out_prompts(), toxicity_fn=toxicity_fn)
        total = time.perf_counter() - t0
        print(f"\nβ = {beta:g}: {total:.1f} s in all, {result.seconds_per_step:.2f} s/step, "
              f"{result.trainable:,} trainable")
        for s in result.steps:
            print(f"  step {s.step:3d}  reward {s.reward:+.2f}  KL {s.kl:6.2f}  shaped {s.shaped:+.2f}  "
                  f"len {s.length:5.1f}  repeated {s.repeated:.2f}  {s.seconds:.1f} s"
                  + (f"  | {s.sample[:90]!r}" if s.sample else ""))
        for step, ev in result.checkpoints:
            name = "reference" if step == 0 else f"policy after step {step}"
            print(f"  {name}: held-out reward {ev.mean_reward:+.2f}, P(toxic) {ev.mean_toxicity:.0%}")
            for p, r in zip(ev.prompts[:2], ev.replies[:2]):
                print(f"    {p[:40]!r} -> {r[:100]!r}")

if __name__ == "__main__":
    main()
