"""What page 9's reward-model and policy demos share: this session's reward model and the policy update's job kind.

The policy update trains against the session's reward model, and the reward demo scores the server's latest
policy update; both take these from here, so neither view imports the other."""
from __future__ import annotations

import numpy as np
import streamlit as st

from components.labs.rlhf import cache
from components.labs.rlhf.labeling_view import my_pairs, room_of_session, room_pairs

POLICY_KIND = "rlhf-policy"      # the policy update's job kind on the server's training queue
TRAINED = "rlhf_reward_model"    # (Training, settings) of this session's latest reward model


def extra_pairs(source: str) -> list[tuple[str, str, str]]:
    """The labeling demo's pairs that join the shipped ones: "none", "mine" or the whole "room"'s."""
    if source == "mine":
        return my_pairs()
    if source == "room":
        return room_pairs()[1]
    return []


def train_reward_model(epochs: int, lr: float, source: str):
    """(run, held-out accuracy per axis, how many pairs came from the labeling demo)."""
    from core.labs.rlhf import reward  # imports torch: only when a reward model trains
    pairs, chosen, rejected = cache.pair_vectors()
    train_idx = [i for i, p in enumerate(pairs) if p.split == "train"]
    test_idx = [i for i, p in enumerate(pairs) if p.split == "test"]
    a, b = chosen[train_idx], rejected[train_idx]
    mine = extra_pairs(source)
    if mine:
        texts = tuple(reward.text_of(p, t) for p, good, bad in mine for t in (good, bad))
        v = cache.vectors(texts)
        a, b = np.concatenate([a, v[0::2]]), np.concatenate([b, v[1::2]])
    run = reward.train(a, b, chosen[test_idx], rejected[test_idx], epochs=epochs, lr=lr)
    rows = []
    test_pairs = [pairs[i] for i in test_idx]
    for axis in reward.AXES:
        idx = [k for k, p in enumerate(test_pairs) if p.axis == axis]
        rows.append({"axis": axis, "reward model": reward.accuracy(run.model, chosen[test_idx][idx],
                                                                   rejected[test_idx][idx]),
                     "longer reply wins": reward.longer_wins([test_pairs[k] for k in idx]), "pairs": len(idx)})
    return run, rows, len(mine)


def trained_model():
    """This session's reward model, training the default one first if there is none yet."""
    if TRAINED not in st.session_state:
        run, rows, mine = train_reward_model(300, 0.05, "room" if room_of_session()[0] else "mine")
        st.session_state[TRAINED] = (run, rows, mine)
    return st.session_state[TRAINED][0].model
