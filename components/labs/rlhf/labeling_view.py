"""Page 9 demo "labeling": rank SmolLM2's completions the way the deck's labelers do, and see the ranking become
pairwise training data (y_j preferred). Rankings are saved in the app's store (SQLite or PostgreSQL) under the
learner's name — the workshop nickname or the quiz name when there is one — and their pairs join the reward model's
training on the next demo."""
from __future__ import annotations

import streamlit as st

from components.common import cache as app_cache
from components.common import errors, keys
from components.common.decoder import ensure_decoder
from components.labs.rlhf import cache

KEY = "rlhf_label"
NAME = "rlhf_labeler"            # the name labels are saved under when the learner is not in a room or the quiz
NAME_BOX = "rlhf_labeler_box"    # its text box (a widget's value goes when the widget is not drawn; NAME stays)
MAX_NAME = 40
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
        if not _known_name():
            if NAME_BOX not in st.session_state:
                st.session_state[NAME_BOX] = st.session_state.get(NAME, "")
            st.text_input("Your name, to keep your labels", key=NAME_BOX, max_chars=MAX_NAME,
                          on_change=lambda: st.session_state.__setitem__(NAME, st.session_state[NAME_BOX]),
                          help="Labels are saved under this name and survive a reload or a server restart.")
        name = labeler()
        if st.button("Save my ranking", key=f"{KEY}_add", disabled=not (pairs and name), type="primary"):
            from core.workshop.store import StoreError
            try:
                store().record_label(name, prompt, [s[0] for s in samples], ranking,
                                     room=st.session_state.get(keys.WS_ROOM) or "")
                st.success(f"Saved for {name}: {len(pairs)} pair(s). Ranking the same answers again replaces this "
                           "ranking. Your saved pairs join the reward model's training below.")
            except StoreError as exc:
                st.warning(f"The labels database did not answer, so the ranking was not saved: {exc}")
        elif not name:
            st.caption("Type a name to save your ranking.")
        _everyone(prompt, [s[0] for s in samples], names)


def _everyone(prompt: str, texts: list[str], names: list[str]) -> None:
    """Every saved ranking of these completions (in this room, when in one): distribution and agreement."""
    import plotly.graph_objects as go
    from core.labs.rlhf import agreement
    from core.workshop.store import StoreError
    room = st.session_state.get(keys.WS_ROOM) or None
    try:
        saved = [r for r in store().labels(room=room) if r["prompt"] == prompt and r["completions"] == texts]
    except StoreError:
        return
    rankings = [r["ranking"] for r in saved if sorted(r["ranking"]) == names]
    if not rankings:
        return
    where = f"in room {room}" if room else "on this server"
    st.markdown(f"**Everyone's rankings of these answers** — {len(rankings)} labeler(s) {where}")
    table = agreement.distribution(rankings, names)
    cats = agreement.categories(len(names))
    fig = go.Figure()
    colours = ("#2E7D32", "#9CCC65", "#FFB74D", "#E57373", "#BDBDBD", "#90A4AE", "#B0BEC5", "#CFD8DC")
    for j, cat in enumerate(cats):
        fig.add_trace(go.Bar(x=names, y=[row[j] for row in table], name=f"rank {cat}" if cat != "F" else "F (fail)",
                             marker_color="#C62828" if cat == "F" else colours[j % len(colours)]))
    fig.update_layout(barmode="stack", height=300, margin=dict(l=10, r=10, t=30, b=30),
                      legend=dict(orientation="h", y=-0.2), yaxis=dict(title="labelers", dtick=1))
    st.plotly_chart(fig, width="stretch", key=f"{KEY}_everyone")
    if len(rankings) < 2:
        st.caption("Agreement needs a second labeler: in a workshop, everyone who picks this prompt ranks these "
                   "same answers.")
        return
    kappa = agreement.fleiss_kappa(table)
    cols = st.columns(2)
    cols[0].metric("pairwise agreement", f"{agreement.pairwise_agreement(rankings, names):.0%}",
                   help="For every two labelers and every two answers: do they prefer the same one?")
    cols[1].metric("Fleiss' kappa", "—" if kappa != kappa else f"{kappa:.2f}",
                   help="1 = perfect agreement, 0 = what chance alone would give, below 0 = worse than chance.")


def store():
    from core.workshop.store import database_url
    return app_cache.store(database_url())


def _name_in(key: str) -> str:
    value = st.session_state.get(key)
    return " ".join(value.split())[:MAX_NAME] if isinstance(value, str) else ""


def _known_name() -> str:
    """The workshop nickname or the quiz name, when the learner gave one elsewhere."""
    return _name_in(keys.WS_NAME) or _name_in(keys.QUIZ_LEARNER)


def labeler() -> str:
    """The name this session's labels are saved under: the workshop nickname, the quiz name, or the one typed here."""
    return _known_name() or _name_in(NAME)


def my_pairs() -> list[tuple[str, str, str]]:
    """(prompt, preferred, other) from every ranking this labeler saved (none when nameless or the store is down)."""
    from core.labs.rlhf.pairs import RankingError, to_pairs
    from core.workshop.store import StoreError
    name = labeler()
    if not name:
        return []
    try:
        saved = store().labels(name)
    except StoreError:
        return []
    out = []
    for row in saved:
        names = sorted(row["ranking"])
        texts = dict(zip(names, row["completions"]))
        try:
            out += [(row["prompt"], texts[p.preferred], texts[p.other]) for p in to_pairs(row["ranking"], names)]
        except (RankingError, KeyError):
            continue
    return out
