"""Page 9 demos "reward-model" (train a reward model on preference pairs, live, and score any reply) and
"best-of-n" (sample n answers from SmolLM2, let the reward model pick one).

core.labs.rlhf is imported inside the functions: it imports torch, which a view must not load at import time."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, training
from components.common.decoder import ensure_decoder
from components.labs.rlhf import cache
from components.labs.rlhf.labeling_view import room_of_session
from components.labs.rlhf.shared import POLICY_KIND, TRAINED, train_reward_model, trained_model

KEY = "rlhf_reward"
AXIS_COLOURS = {"helpful": "#1565C0", "polite": "#2E7D32", "succinct": "#EF6C00", "room": "#6A1B9A"}

PROBES = (
    ("How do I boil an egg?", "Put the egg in boiling water for about nine minutes, then cool it in cold water."),
    ("How do I boil an egg?", "Figure it out yourself, it is not hard, honestly."),
    ("How do I boil an egg?", "Put the egg in the freezer for nine minutes, then cool it in cold water."),
    ("How do I boil an egg?", "Great question! Thank you so much for asking, I am happy to help you today."),
)


def _loss_chart(run):
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=run.epochs, y=run.train_loss, name="training pairs", mode="lines",
                             line=dict(color="#5B3CC4", width=3)))
    if run.test_loss:
        fig.add_trace(go.Scatter(x=run.epochs, y=run.test_loss, name="held-out pairs", mode="lines",
                                 line=dict(color="#00897B", width=3, dash="dash")))
    fig.add_hline(y=0.6931, line_dash="dot", line_color="#9E9E9E", annotation_text="chance: ln 2 ≈ 0.693",
                  annotation_position="top right")
    fig.update_layout(title="Bradley–Terry loss −log σ(r_j − r_k) while the reward model trains", height=360,
                      margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(title_text="epoch (one pass over every training pair)")
    fig.update_yaxes(title_text="loss", rangemode="tozero")
    return fig


def _axis_chart(rows):
    fig = go.Figure()
    fig.add_trace(go.Bar(x=[r["axis"] for r in rows], y=[r["reward model"] for r in rows], name="reward model",
                         marker_color="#5B3CC4", text=[f"{r['reward model']:.0%}" for r in rows],
                         textposition="outside", cliponaxis=False))
    fig.add_trace(go.Bar(x=[r["axis"] for r in rows], y=[r["longer reply wins"] for r in rows],
                         name="no model: the longer reply wins", marker_color="#BDBDBD",
                         text=[f"{r['longer reply wins']:.0%}" for r in rows], textposition="outside",
                         cliponaxis=False))
    fig.add_hline(y=0.5, line_dash="dot", line_color="#757575")
    fig.update_layout(title="Held-out pairs where the preferred reply gets the higher reward", barmode="group",
                      height=360, margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.2))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.15])
    return fig


SOURCES = {"none": "none (only the shipped pairs)", "mine": "mine", "room": "everyone's in my workshop room"}


def _score(model, prompt: str, reply: str) -> float:
    from core.labs.rlhf import reward
    return float(model.score(cache.vectors((reward.text_of(prompt, reply),)))[0])


def show() -> None:
    from core.labs.rlhf import reward
    st.markdown("#### Try it: train a reward model on preference pairs")
    st.markdown("The shipped set has 240 pairs of replies written for this app, each along one axis: **helpful** vs "
                "unhelpful, **polite** vs rude, **succinct** vs rambling (180 to train, 60 held out). Your own pairs "
                "from the labeling demo above join the training set. MiniLM reads *question + answer* and stays "
                "frozen; one layer on its sentence vector (385 numbers) learns the reward.")
    cols = st.columns(3)
    epochs = cols[0].slider("Epochs", 10, 1000, 300, 10, key=f"{KEY}_epochs")
    lr = cols[1].select_slider("Learning rate", (0.001, 0.005, 0.01, 0.05, 0.1, 0.5), 0.05, key=f"{KEY}_lr")
    room = room_of_session()[0]
    sources = ["none", "mine"] + (["room"] if room else [])
    source = cols[2].selectbox("Add the labels saved above", sources, index=len(sources) - 1,
                               format_func=SOURCES.get, key=f"{KEY}_source",
                               help="The pairs from the rankings saved in the labeling demo: yours, or (in a "
                                    "workshop) the whole room's — one click trains the room's reward model.")
    if st.button("Train the reward model", type="primary", key=f"{KEY}_train", icon=":material/model_training:"):
        service = app_cache.model_service_or_none()
        if service is not None:
            with errors.shown("The reward model could not be trained"), st.spinner("MiniLM reads the pairs…"):
                st.session_state[TRAINED] = train_reward_model(int(epochs), float(lr), str(source))
    if TRAINED not in st.session_state:
        st.caption("Press the button: about 10 seconds the first time on a CPU (MiniLM reads 480 replies once for "
                   "the whole server), then under a second.")
        return
    run, rows, mine = st.session_state[TRAINED]
    m = st.columns(4)
    m[0].metric("training pairs", f"{run.n_train:,}", help=f"{mine} of them from the labeling demo")
    m[1].metric("train accuracy", f"{run.train_accuracy:.0%}")
    m[2].metric("held-out accuracy", f"{run.test_accuracy:.0%}", help="chance is 50%")
    m[3].metric("training time", f"{run.seconds:.2f} s")
    st.plotly_chart(_loss_chart(run), width="stretch", key=f"{KEY}_loss")
    st.plotly_chart(_axis_chart(rows), width="stretch", key=f"{KEY}_axes")
    st.caption("The grey bars need no model: on the succinct axis, always preferring the shorter reply is enough, "
               "so a reward model that learned “short is good” would look clever there. On the other axes the "
               "longer reply wins about half the time by design, so only content can separate them.")
    st.markdown("**Score any reply** — the reward is the model's one scalar score (unbounded, not a probability): "
                "higher means it looks more like the replies people preferred.")
    prompt = st.text_input("Prompt", "How do I boil an egg?", max_chars=300, key=f"{KEY}_prompt")
    reply = st.text_area("Reply", "Put the egg in boiling water for about nine minutes.",
                         max_chars=reward.MAX_TEXT_CHARS, key=f"{KEY}_reply")
    try:
        reward.check_text(reply)
        reward.check_text(prompt)
    except reward.RewardError as exc:
        st.warning(str(exc))
        return
    with errors.shown("The reply could not be scored"):
        st.metric("reward", f"{_score(run.model, prompt, reply):+.2f}")
        scores = [_score(run.model, p, r) for p, r in PROBES]
        right, rude, wrong, flattery = scores
        verdict = ("the wrong answer (an egg in the freezer) even scores **above** the right one"
                   if wrong >= right else "the wrong answer (an egg in the freezer) scores close to the right one"
                   if right - wrong < 1 else "this time the wrong answer scores clearly below the right one")
        st.markdown(f"**Where it fails**: the same question, four replies. Here {verdict} ({wrong:+.2f} against "
                    f"{right:+.2f}): the reward model judges how a reply reads, not whether it is true. Rudeness it "
                    f"catches ({rude:+.2f}); empty flattery gets {flattery:+.2f}.")
        st.dataframe([{"reply": r, "reward": round(v, 2)} for (p, r), v in zip(PROBES, scores)],
                     hide_index=True, width="stretch")


def show_best_of_n() -> None:
    st.markdown("#### Try it: best-of-n, the simplest use of a reward model")
    st.markdown("Sample several answers, score each with the reward model, keep the best. No weights change: the "
                "reward model only chooses. (RLHF proper goes further and trains the model to write such answers "
                "in the first place.)")
    cols = st.columns([3, 1])
    prompt = cols[0].selectbox("Prompt", cache.prompts(), key="rlhf_bon_prompt")
    n = cols[1].slider("n", 2, 8, 4, key="rlhf_bon_n")
    if not st.button(f"Sample {n} answers and pick one", key="rlhf_bon_run", icon=":material/trophy:"):
        return
    service = app_cache.model_service_or_none()
    if service is None or not ensure_decoder(service, service.registry.default_decoder):
        return
    with errors.shown("Best-of-n could not run"):
        with st.spinner("Training the reward model…"):
            model = trained_model()
        with st.spinner(f"SmolLM2 writes {n} answers at once…"):
            samples = cache.completions(prompt, n)
        scored = sorted(((_score(model, prompt, text), text, t, seed) for text, t, seed in samples), reverse=True)
        fig = go.Figure(go.Bar(x=[s[0] for s in scored][::-1], y=[f"#{i + 1} (T {s[2]:g})" for i, s in
                                                                  enumerate(scored)][::-1], orientation="h",
                               marker_color=["#2E7D32" if i == len(scored) - 1 else "#B0BEC5"
                                             for i in range(len(scored))],
                               text=[f"{s[0]:+.2f}" for s in scored][::-1], textposition="outside",
                               cliponaxis=False))
        fig.update_layout(title="Reward of each sampled answer (the best is chosen)", height=80 + 40 * n,
                          margin=dict(l=10, r=40, t=50, b=30))
        st.plotly_chart(fig, width="stretch", key="rlhf_bon_chart")
        st.dataframe([{"rank": i + 1, "reward": round(s[0], 2), "answer": s[1], "temperature": s[2]}
                      for i, s in enumerate(scored)], hide_index=True, width="stretch")


def show_toxicity() -> None:
    from core.labs.rlhf import reward
    st.markdown("#### Try it: a toxicity score")
    st.markdown("A small classifier over MiniLM's sentence vectors (logistic regression), trained on 120 sentences "
                "written for this app and tested on 40 more. It gives P(toxic) for any text — the kind of score used "
                "to compare a model before and after alignment.")
    if not st.toggle("Train the toxicity classifier", key="rlhf_tox_on"):
        st.caption("Switch on: a few seconds the first time (MiniLM reads 160 sentences once for the server).")
        return
    service = app_cache.model_service_or_none()
    if service is None:
        return
    with errors.shown("The toxicity classifier could not be trained"):
        clf = cache.toxicity_classifier()
        cols = st.columns(2)
        cols[0].metric("train accuracy", f"{clf.train_accuracy:.0%}")
        cols[1].metric("held-out accuracy", f"{clf.test_accuracy:.0%}", help="40 sentences, 20 of them toxic")
        text = st.text_input("Text to score", "Thanks, that was a really helpful answer.", max_chars=500,
                             key="rlhf_tox_text")
        try:
            reward.check_text(text)
        except reward.RewardError as exc:
            st.warning(str(exc))
            return
        st.metric("P(toxic)", f"{float(clf.probability(cache.vectors((text,)))[0]):.0%}")
        pairs, chosen, rejected = cache.pair_vectors()
        polite = [i for i, p in enumerate(pairs) if p.axis == "polite" and p.split == "test"]
        p_chosen = clf.probability(cache.vectors(tuple(pairs[i].chosen for i in polite)))
        p_rejected = clf.probability(cache.vectors(tuple(pairs[i].rejected for i in polite)))
        st.markdown(f"On the 20 held-out *polite vs rude* pairs of the reward model's data, the preferred replies "
                    f"average **{np.mean(p_chosen):.0%}** toxic and the rejected ones **{np.mean(p_rejected):.0%}**: "
                    "the score one would track while a policy is aligned.")
        st.caption("Its limits: 120 training sentences of everyday English, rudeness aimed at the reader. Sarcasm, "
                   "other languages, subtle harm and polite but dangerous advice are beyond it.")
        _aligned_toxicity()


def _aligned_toxicity() -> None:
    """The deck's evaluation on the server's latest finished policy update: P(toxic) before and after."""
    runs = [r for r in training.finished_results(POLICY_KIND) if r.after is not None]
    if not runs:
        st.caption("Run the policy update above: its held-out answers, before and after, are scored here.")
        return
    run = runs[-1]
    b, a = run.before, run.after
    st.markdown(f"**The latest policy update on this server** (β = {run.settings.beta:g}, {len(run.steps)} steps), "
                f"on {len(b.prompts)} held-out prompts: P(toxic) **{b.mean_toxicity:.0%}** for the reference's "
                f"answers, **{a.mean_toxicity:.0%}** for the policy's; reward {b.mean_reward:+.2f} → "
                f"{a.mean_reward:+.2f}.")
    st.dataframe([{"prompt": p, "reference": rb, "P(toxic) before": f"{tb:.0%}", "policy": ra,
                   "P(toxic) after": f"{ta:.0%}"}
                  for p, rb, tb, ra, ta in zip(b.prompts, b.replies, b.toxicity, a.replies, a.toxicity)],
                 hide_index=True, width="stretch")
    st.caption("Six prompts and a classifier that learned from 120 sentences: a difference of one answer is noise. "
               "Read the answers too — nonsense can score as harmless.")
