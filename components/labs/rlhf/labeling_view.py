"""Page 9 demo "labeling": rank SmolLM2's completions the way the deck's labelers do, and see the ranking become
pairwise training data (y_j preferred). The pairs join this session's reward model training on the next demo."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from components.common import errors
from components.common.decoder import ensure_decoder
from components.labs.rlhf import cache

KEY = "rlhf_label"
MY_PAIRS = "rlhf_my_pairs"       # [(prompt, preferred text, other text)] this session labelled
N = 3
NAMES = "ABCDEFGH"
CHOICES = ("—", 1, 2, 3, "F")

INSTRUCTIONS = """
- Rank the responses by which one gives the **best answer** to the prompt.
- "Best" means (a) **correct** and (b) **informative**.
- Equally good, no clear winner? Give them the **same rank** — sparingly.
- Nonsensical, irrelevant, confusing, or not answering the prompt? Mark it **F** (fail) instead of ranking it.
- **Longer is not always better**: a short, coherent answer can beat a long one.
"""


def show() -> None:
    from core.labs.rlhf.pairs import RankingError, ties, to_pairs
    st.markdown("#### Try it: label SmolLM2's answers like a labeler")
    prompts = cache.prompts()
    prompt = st.selectbox("Prompt", prompts, key=f"{KEY}_prompt")
    if not st.toggle(f"Sample {N} completions", key=f"{KEY}_on",
                     help="Everyone who picks this prompt ranks the same completions: they are sampled once for "
                          "the server (different seeds and temperatures)."):
        st.caption(f"Switch on to let SmolLM2 write {N} answers (about 15 seconds on a CPU the first time).")
        return
    service = app_cache.model_service_or_none()
    if service is None or not ensure_decoder(service, service.registry.default_decoder):
        return
    with errors.shown("The completions could not be sampled"):
        with st.spinner(f"SmolLM2 writes {N} answers…"):
            samples = cache.completions(prompt, N)
        names = [f"Completion {NAMES[i]}" for i in range(N)]
        left, right = st.columns([3, 2])
        ranking = {}
        with left:
            for name, (text, temperature, seed) in zip(names, samples):
                st.markdown(f"**{name}** · temperature {temperature:g}, seed {seed}")
                st.text(text or "(empty reply)")
                choice = st.radio(f"Rank of {name}", CHOICES, horizontal=True, key=f"{KEY}_{prompt}_{name}",
                                  label_visibility="collapsed")
                if choice != "—":
                    ranking[name] = choice
        with right:
            st.markdown("**Labeling instructions**")
            st.markdown(INSTRUCTIONS)
        if len(ranking) < N:
            st.caption(f"Rank every completion (1 = best) or mark it F; {N - len(ranking)} to go.")
            return
        try:
            pairs = to_pairs(ranking, names)
            tied = ties(ranking, names)
        except RankingError as exc:
            st.warning(str(exc))
            return
        text = dict(zip(names, (s[0] for s in samples)))
        st.markdown(f"**Your ranking as pairs** — {N} completions give up to {N} × {N - 1} / 2 = {N * (N - 1) // 2} "
                    f"pairs; yours gives {len(pairs)}" + (f" ({tied} tie{'s' if tied > 1 else ''} gives no "
                                                          "preference)" if tied else "") + ".")
        st.dataframe([{"y_j (preferred)": p.preferred, "y_k": p.other, "why": p.reason} for p in pairs],
                     hide_index=True, width="stretch")
        if st.button("Add these pairs to my reward-model training", key=f"{KEY}_add", disabled=not pairs):
            mine = st.session_state.setdefault(MY_PAIRS, [])
            new = [(prompt, text[p.preferred], text[p.other]) for p in pairs]
            fresh = [p for p in new if p not in mine]
            mine.extend(fresh)
            st.success(f"{len(fresh)} pair(s) added ({len(mine)} of yours in all). "
                       + ("The ones already added were skipped. " if len(fresh) < len(new) else "")
                       + "They join the training set of the reward model below.")
        elif st.session_state.get(MY_PAIRS):
            st.caption(f"You have added {len(st.session_state[MY_PAIRS])} pair(s) so far.")
