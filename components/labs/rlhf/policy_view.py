"""Page 9 demo "policy": the deck's step 4 live — a LoRA adapter on a private copy of SmolLM2 trained against the
reward model with the KL penalty to the frozen reference (β on a slider), as one job on the server's training queue.
Every session sees the server's latest run; finished runs stay, so β = 0 and β > 0 can be laid side by side.

core.labs.rlhf is imported inside the functions: it imports torch, which a view must not load at import time."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components.common import cache as app_cache
from components.common import errors, roles, training
from components.common.text import literal
from components.labs.rlhf import cache
from components.labs.rlhf.shared import POLICY_KIND, trained_model

KEY = "rlhf_policy"
BETAS = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
RATES = (1e-3, 3e-3, 5e-3, 1e-2, 3e-2)
REFRESH_S = 1.5
WINDOW = 4                      # steps in the moving average (each step is one prompt, so single steps are noisy)


def _settings():
    from core.labs.rlhf.policy import PolicySettings
    base = PolicySettings()
    cols = st.columns(4)
    beta = cols[0].select_slider("β, the KL weight", BETAS, base.beta, key=f"{KEY}_beta",
                                 help="Shaped reward = reward − β × KL. At 0 nothing keeps the policy near the "
                                      "reference model.")
    steps = cols[1].slider("Steps", 4, 64, base.steps, 4, key=f"{KEY}_steps",
                           help="One step = one prompt, several sampled answers, one update.")
    lr = cols[2].select_slider("Learning rate", RATES, base.lr, format_func=lambda v: f"{v:g}", key=f"{KEY}_lr")
    seed = cols[3].number_input("Seed", 0, 9_999, base.seed, key=f"{KEY}_seed")
    with st.expander("More settings: answers per prompt, answer length, LoRA rank"):
        c = st.columns(3)
        samples = c[0].slider("Answers per prompt (k)", 2, 8, base.samples, key=f"{KEY}_k",
                              help="Each answer's baseline is the mean reward of the other k − 1.")
        tokens = c[1].slider("Answer length (tokens)", 8, 64, base.max_new_tokens, 4, key=f"{KEY}_tokens")
        rank = c[2].select_slider("LoRA rank", (1, 2, 4, 8, 16, 32), base.rank, key=f"{KEY}_rank")
    return PolicySettings(beta=float(beta), steps=int(steps), lr=float(lr), seed=int(seed), samples=int(samples),
                          max_new_tokens=int(tokens), rank=int(rank), alpha=2.0 * int(rank))


def _start(settings) -> None:
    from core.labs.rlhf import policy
    from core.labs.rlhf.reward import text_of
    policy.check(settings)
    with st.spinner("Preparing the reward model and the toxicity score…"):
        reward_model = trained_model()           # this session's reward model (its own labels included)
        classifier = cache.toxicity_classifier()

    def work(ctx, service):
        def reward_fn(prompt, replies):
            return reward_model.score(service.embed([text_of(prompt, r) for r in replies]))

        def toxicity_fn(replies):
            return classifier.probability(service.embed(list(replies)))

        return policy.run(service.decoder_copy(), service.tokenizer(), policy.training_prompts(), reward_fn,
                          settings, held_out=policy.held_out_prompts(), toxicity_fn=toxicity_fn,
                          on_update=lambda r: ctx.update(run=r), cancelled=ctx.cancelled)

    training.start(POLICY_KIND, "policy update", work)


# -------------------------------------------------------------------------------------------------------- charts

def moving(values, window: int = WINDOW) -> list[float]:
    out = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1): i + 1]
        out.append(float(np.mean(part)))
    return out


def _label(run) -> str:
    return f"β = {run.settings.beta:g}"


def progress_chart(runs):
    """Reward (moving average) and KL per step, one line per run: the latest solid, earlier ones dashed."""
    palette = ("#C62828", "#1565C0", "#2E7D32", "#6A1B9A", "#EF6C00", "#00838F")
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"Reward-model score (mean of {WINDOW} steps)",
                                                         "KL to the reference (per answer)"))
    for i, run in enumerate(runs):
        x = [s.step for s in run.steps]
        colour = palette[i % len(palette)]
        dash = "solid" if i == len(runs) - 1 else "dash"
        fig.add_trace(go.Scatter(x=x, y=moving([s.reward for s in run.steps]), name=_label(run),
                                 mode="lines", line=dict(color=colour, width=3, dash=dash), legendgroup=str(i)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=[s.kl for s in run.steps], name=_label(run), showlegend=False,
                                 mode="lines+markers", line=dict(color=colour, width=3, dash=dash),
                                 legendgroup=str(i)), row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_layout(title="The policy update: what the reward model says, and how far the policy drifted",
                      height=400, margin=dict(l=10, r=10, t=80, b=40), legend=dict(orientation="h", y=-0.25))
    return fig


def held_out_chart(run):
    b, a = run.before, run.after
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Mean reward (higher = the reward model likes it)",
                                                        "Mean P(toxic) (the toxicity score)"))
    names = ["reference (before)", f"policy, {_label(run)} (after)"]
    colours = ["#90A4AE", "#5B3CC4"]
    fig.add_trace(go.Bar(x=names, y=[b.mean_reward, a.mean_reward], marker_color=colours, showlegend=False,
                         text=[f"{b.mean_reward:+.2f}", f"{a.mean_reward:+.2f}"], textposition="outside",
                         cliponaxis=False), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=[b.mean_toxicity, a.mean_toxicity], marker_color=colours, showlegend=False,
                         text=[f"{b.mean_toxicity:.0%}", f"{a.mean_toxicity:.0%}"], textposition="outside",
                         cliponaxis=False), row=1, col=2)
    top = max(abs(b.mean_reward), abs(a.mean_reward), 0.5) * 1.4
    fig.update_yaxes(range=[-top, top], row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1], row=1, col=2)
    fig.update_layout(title=f"{len(b.prompts)} held-out prompts the policy never trained on: before and after",
                      height=360, margin=dict(l=10, r=10, t=80, b=40))
    return fig


# --------------------------------------------------------------------------------------------------------- views

def _comparable(run) -> list:
    """Finished runs on this server with the same steps, learning rate, seed and sizes as `run` (the latest per β),
    `run` last."""
    same = {}
    for r in training.finished_results(POLICY_KIND):
        if r is run or r.state != "done":
            continue
        a, b = r.settings, run.settings
        if (a.steps, a.lr, a.seed, a.samples, a.max_new_tokens, a.rank) == \
                (b.steps, b.lr, b.seed, b.samples, b.max_new_tokens, b.rank) and a.beta != b.beta:
            same[a.beta] = r
    return [same[k] for k in sorted(same)] + [run]


def observations(run) -> list[str]:
    """Plain sentences computed from the run's numbers."""
    steps = run.steps
    if len(steps) < 2:
        return []
    n = min(WINDOW, len(steps) // 2) or 1
    first, last = steps[:n], steps[-n:]
    out = [f"Reward-model score: **{np.mean([s.reward for s in first]):+.2f}** over the first {n} steps, "
           f"**{np.mean([s.reward for s in last]):+.2f}** over the last {n}. KL to the reference: "
           f"{np.mean([s.kl for s in first]):.2f} → **{np.mean([s.kl for s in last]):.2f}** (nats per answer). "
           f"Answer length {np.mean([s.length for s in first]):.0f} → {np.mean([s.length for s in last]):.0f} "
           f"tokens; repeated word pairs {np.mean([s.repeated for s in first]):.0%} → "
           f"{np.mean([s.repeated for s in last]):.0%}."]
    if run.before is not None and run.after is not None:
        from core.labs.rlhf.policy import repeated_share
        r0, r1 = run.before.mean_reward, run.after.mean_reward
        repeated = float(np.mean([repeated_share(r) for r in run.after.replies]))
        kl = float(np.mean([s.kl for s in last]))
        if r1 > r0 and (repeated > 0.3 or kl > 40):
            how = (f"{repeated:.0%} of their word pairs are repeats" if repeated > 0.3
                   else f"they drifted far from the reference (KL {kl:.0f})")
            out.append(f"**Reward hacking**: the reward model scores the policy's held-out answers higher than the "
                       f"reference's ({r0:+.2f} → {r1:+.2f}) although {how}. It never saw text like this in its "
                       "240 pairs, so nothing taught it to score it low — the policy found that gap.")
        elif r1 > r0:
            out.append(f"The held-out reward rose ({r0:+.2f} → {r1:+.2f}) with the KL at {kl:.1f}: read the answers "
                       "below to judge whether they really got better.")
        else:
            out.append(f"The held-out reward did not rise ({r0:+.2f} → {r1:+.2f}): at this scale, a couple of dozen "
                       "steps of one prompt each are noisy. Try more steps, a smaller β or another seed.")
    return out


def checkpoint_rows(run) -> list[dict]:
    """One row per checkpoint: mean reward and toxicity over the held-out prompts, and the first two answers."""
    rows = []
    for step, ev in run.checkpoints:
        row = {"step": step, "mean reward": round(ev.mean_reward, 2), "mean P(toxic)": f"{ev.mean_toxicity:.0%}"}
        for prompt, reply in list(zip(ev.prompts, ev.replies))[:2]:
            row[prompt] = reply
        rows.append(row)
    return rows


def _results(run, live: bool) -> None:
    if run.steps:
        st.plotly_chart(progress_chart(_comparable(run) if not live else [run]), width="stretch", key=f"{KEY}_chart")
        for line in observations(run):
            st.markdown(line)
        st.markdown("**The policy's own answers while it trains** (one sampled answer every few steps):")
        st.dataframe([{"step": s.step, "prompt": s.prompt, "answer": s.sample, "reward": round(s.reward, 2),
                       "KL": round(s.kl, 2)} for s in run.steps if s.sample], hide_index=True, width="stretch")
    if len(run.checkpoints) > 1 or (live and run.checkpoints):
        st.markdown("**Held-out prompts at each checkpoint** (greedy answers to prompts the policy never trains on; "
                    "step 0 is the reference):")
        st.dataframe(checkpoint_rows(run), hide_index=True, width="stretch")
    if live or run.before is None or run.after is None:
        return
    st.plotly_chart(held_out_chart(run), width="stretch", key=f"{KEY}_held")
    st.dataframe([{"prompt": p, "reference's answer": rb, "policy's answer": ra, "reward before": round(wb, 2),
                   "reward after": round(wa, 2), "P(toxic) before": f"{tb:.0%}", "P(toxic) after": f"{ta:.0%}"}
                  for p, rb, ra, wb, wa, tb, ta in zip(run.before.prompts, run.before.replies, run.after.replies,
                                                       run.before.rewards, run.after.rewards, run.before.toxicity,
                                                       run.after.toxicity)], hide_index=True, width="stretch")
    st.caption("Greedy answers (always the most likely token), so before and after differ only by the adapter. "
               "Read them: a higher reward is only good news if the answers really got better.")


def _panel() -> None:
    shown = training.panel(POLICY_KIND, "The policy update", KEY, "run",
                           empty="No policy update has run on this server yet. Press **Start the policy update** "
                                 "(about two minutes with the defaults on a 2-core CPU; about 5 seconds a step).",
                           detail=lambda run: f" (β = {run.settings.beta:g})",
                           cancelled_note=" The steps it finished are below; the adapter was dropped.")
    if shown is None:
        return
    snap, run = shown
    if run is None:
        return
    done = len(run.steps)
    st.progress(min(done / run.settings.steps, 1.0),
                text=f"{literal(run.phase)} · {done} of {run.settings.steps} steps"
                     + (f" · {run.seconds_per_step:.1f} s/step" if done else ""))
    _results(run, live=not snap.finished)


def show() -> None:
    st.markdown("#### Try it: RLHF's policy update, with the KL penalty on a slider")
    st.markdown(
        "A private copy of SmolLM2 gets a LoRA adapter — the **policy** — and practises on the labeling demo's "
        "prompts. The same copy with the adapter switched off is the frozen **reference**. Each step:\n"
        "1. the policy writes *k* answers to one prompt;\n"
        "2. the reward model above scores each;\n"
        "3. the KL divergence between the policy's and the reference's next-token probabilities is added up over "
        "each answer, and **β × KL** is subtracted from its reward;\n"
        "4. answers whose penalised reward beats the mean of the others' become more likely, the rest less likely, "
        "so a high-scoring answer that drifted far can still lose (REINFORCE with a "
        "leave-one-out baseline — a simpler cousin of PPO that needs no value network).\n\n"
        "Try **β = 0** first, then the same seed with a larger β, and compare the two lines.")
    settings = _settings()
    if roles.start_button("Start the policy update", f"{KEY}_start", type="primary", icon=":material/rocket_launch:"):
        from core.labs.rlhf.policy import PolicyError
        service = app_cache.model_service_or_none()
        if service is not None:
            with errors.shown("The policy update could not start"):
                try:
                    _start(settings)
                except PolicyError as exc:
                    st.warning(str(exc))
    training.live(POLICY_KIND, KEY, _panel, REFRESH_S)
