"""Page 9 demo "labeling": rank SmolLM2's completions the way the deck's labelers do, and see the ranking become
pairwise training data (y_j preferred). Rankings are saved in the app's database (SQLite or PostgreSQL) under the
browser's id (a typed name only labels them: typing someone's name neither shows nor replaces their rankings), and
their pairs join the reward model's training on the next demo."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, heartbeat, identity, keys, palette
from components.common.decoder import ensure_decoder
from components.common.text import literal
from components.labs.rlhf import cache
from components.labs.rlhf.cache import StoreError
from core.labs.rlhf import agreement
from core.labs.rlhf.pairs import RankingError, ties, to_pairs

KEY = "rlhf_label"
NAME = "rlhf_labeler"            # the name labels are saved under when the learner is not in a room or the quiz
NAME_BOX = "rlhf_labeler_box"    # its text box (a widget's value goes when the widget is not drawn; NAME stays)
MAX_NAME = 40
N = 3
NAMES = "ABCDEFGH"
ROUND_REFRESH_S = 3.0            # how often a room's labeling round is checked (new round, closed, rankings in)

INSTRUCTIONS = """
- Rank the responses by which one gives the **best answer** to the prompt.
- "Best" means (a) **correct** and (b) **informative**.
- Equally good, no clear winner? Give them the **same rank** — sparingly.
- Nonsensical, irrelevant, confusing, or not answering the prompt? Mark it **F** (fail) instead of ranking it.
- **Longer is not always better**: a short, coherent answer can beat a long one.
"""


def room_of_session() -> tuple[str, bool]:
    """(the room this session labels in, whether it presents it); ("", False) outside a workshop."""
    if st.session_state.get(keys.PRESENTER_OK) and st.session_state.get(keys.PRESENTER_ROOM):
        return str(st.session_state[keys.PRESENTER_ROOM]), True
    return str(st.session_state.get(keys.WS_ROOM) or ""), False


def show() -> None:
    st.markdown("#### Try it: label SmolLM2's answers like a labeler")
    room, presenter = room_of_session()
    if room and not presenter:
        heartbeat.live(f"{KEY}_round", lambda: _participant(room), ROUND_REFRESH_S, lambda: _round_signature(room))
        return
    _own(room, presenter)


def _own(room: str, presenter: bool) -> None:
    """Pick a prompt, sample completions once for the server, rank them; a presenter can hand them to the room."""
    prompt = st.selectbox("Prompt", cache.prompts(), key=f"{KEY}_prompt")
    if not st.toggle(f"Sample {N} completions", key=f"{KEY}_on",
                     help="Everyone who picks this prompt ranks the same completions: they are sampled once for "
                          "the server (different seeds and temperatures)."):
        st.caption(f"Switch on to let SmolLM2 write {N} answers (about 15 seconds on a CPU the first time).")
        if presenter:
            st.fragment(_round_panel)(room, None, None)
        return
    service = app_cache.model_service_or_none()
    if service is None or not ensure_decoder(service, service.registry.default_decoder):
        return
    with errors.shown("The completions could not be sampled"):
        with st.spinner(f"SmolLM2 writes {N} answers…"):
            samples = cache.completions(prompt, N)
        if presenter:
            st.fragment(_round_panel)(room, prompt, [s[0] for s in samples])
        _label(prompt, samples, room, everyone=not presenter)     # the presenter's panel draws the room's


def _participant(room: str) -> None:
    """A workshop participant: the presenter's labeling round when there is one (redrawn when the round opens or
    closes, checked every few seconds), else labeling on their own."""
    current = _room_round(room)
    if current is None:
        st.caption("When the presenter launches a labeling round, everyone in the room ranks the same answers here. "
                   "Until then, label on your own:")
        _own(room, False)
        return
    state = "open: rank the answers and save" if current.open else "closed: rankings are no longer saved"
    st.markdown(f"**Labeling round {current.id} from the presenter** — {state}.")
    st.markdown("**Prompt:**")
    st.text(current.prompt)
    _label(current.prompt, [(t, None, None) for t in current.completions], room, current)


def _round_signature(room: str):
    """What a participant's round panel shows of the room: the round and whether it is open (others' rankings show
    at the participant's own next click, not on every one of a room's 100 saves)."""
    current = _room_round(room)
    return None if current is None else (current.id, current.open)


def _room_round(room: str):
    """The room's labeling round; the last one this session saw when the store does not answer for a moment (a
    busy database must not swap a participant's half-ranked round for the own-labeling screen: the radios would
    then leave the page and lose their choices)."""
    seen = f"{KEY}_last_round_{room}"
    try:
        st.session_state[seen] = cache.room_round(room)
    except StoreError:
        pass
    return st.session_state.get(seen)


def _label(prompt: str, samples, room: str, current=None, everyone: bool = True) -> None:
    """Rank `samples` [(text, temperature, seed)], see the pairs, save under the labeler's name (in `room`, and for
    the labeling round `current` when there is one), and see everyone's rankings of the same answers."""
    n = len(samples)
    names = [f"Completion {NAMES[i]}" for i in range(n)]
    choices = ("—",) + tuple(range(1, n + 1)) + ("F",)
    tag = f"r{current.id}" if current is not None else prompt
    left, right = st.columns([3, 2])
    ranking = {}
    with left:
        for name, (text, temperature, seed) in zip(names, samples):
            st.markdown(f"**{name}**" + (f" · temperature {temperature:g}, seed {seed}" if temperature is not None
                                         else ""))
            st.text(text or "(empty reply)")
            choice = st.radio(f"Rank of {name}", choices, horizontal=True, key=f"{KEY}_{tag}_{name}",
                              label_visibility="collapsed")
            if choice != "—":
                ranking[name] = choice
    with right:
        st.markdown("**Labeling instructions**")
        st.markdown(INSTRUCTIONS)
    texts = [s[0] for s in samples]
    if len(ranking) < n:
        st.caption(f"Rank every completion (1 = best) or mark it F; {n - len(ranking)} to go.")
        if everyone:
            _everyone(prompt, texts, names, room)
        return
    try:
        pairs = to_pairs(ranking, names)
        tied = ties(ranking, names)
    except RankingError as exc:
        st.warning(str(exc))
        return
    st.markdown(f"**Your ranking as pairs** — {n} completions give up to {n} × {n - 1} / 2 = {n * (n - 1) // 2} "
                f"pairs; yours gives {len(pairs)}" + (f" ({tied} tie{'s' if tied > 1 else ''} gives no "
                                                      "preference)" if tied else "") + ".")
    st.dataframe([{"y_j (preferred)": p.preferred, "y_k": p.other, "why": p.reason} for p in pairs],
                 hide_index=True, width="stretch")
    if not _known_name():
        if NAME_BOX not in st.session_state:
            st.session_state[NAME_BOX] = st.session_state.get(NAME, "")
        st.text_input("Your name next to your labels (optional)", key=NAME_BOX, max_chars=MAX_NAME,
                      on_change=lambda: st.session_state.__setitem__(NAME, st.session_state[NAME_BOX]),
                      help="Your labels are saved for this browser and survive a reload or a server restart, "
                           "whatever you type here: the name only says how they are shown.")
    closed = current is not None and not current.open
    st.button("Save my ranking", key=f"{KEY}_add_{tag}", disabled=not pairs or closed, type="primary",
              on_click=_save, args=(prompt, texts, dict(ranking), room, current, len(pairs), tag))
    outcome = st.session_state.get(f"{KEY}_saved_{tag}")
    if outcome:
        getattr(st, outcome[0])(outcome[1])
    if everyone:
        _everyone(prompt, texts, names, room)


def _save(prompt, texts, ranking, room, current, n_pairs, tag) -> None:
    """The Save button's callback. Callbacks run before the script and are never cut short by the next rerun (a
    heartbeat tick arriving mid-run used to end the run between the write and its "Saved" message: the ranking was
    kept but its owner never saw it); the outcome stays in session state for every later run to show."""
    result, name = f"{KEY}_saved_{tag}", labeler()
    try:
        if current is not None:
            now = cache.rounds().current(room)
            if now is None or now.id != current.id or not now.open:
                st.session_state[result] = ("warning", "The presenter closed this round before you saved, so your "
                                                       "ranking was not saved (it is still on your screen).")
                return
        cache.labels().record(identity.key(), name, prompt, texts, ranking, room=room)
        cache.labels_changed()                    # everyone's distribution counts this ranking from now
        st.session_state[result] = ("success", f"Saved for {literal(name)}: {n_pairs} pair(s). Ranking the same "
                                               "answers again replaces this ranking. Your saved pairs join the "
                                               "reward model's training below.")
    except StoreError as exc:
        st.session_state[result] = ("warning", f"The labels database did not answer, so the ranking was not saved: "
                                               f"{literal(str(exc))}")


def _round_panel(room: str, prompt: str | None, texts: list[str] | None) -> None:
    """The presenter's labeling round: launch one with the completions on screen, close it, watch rankings arrive."""
    try:
        current = cache.room_round(room)
    except StoreError as exc:
        st.warning(f"The workshop database did not answer: {exc}")
        return
    with st.container(border=True):
        st.markdown(f"**Labeling round for room {literal(room)}**")
        failed = st.session_state.pop(f"{KEY}_store_error", None)
        if failed:
            st.warning(f"The workshop database did not answer, so the round did not change: {failed}")
        if current is not None and current.open:
            heartbeat.beat(f"{KEY}_presenter_beat", ROUND_REFRESH_S)
            count = len(_saved(room, current.prompt, list(current.completions)))
            st.markdown(f"Round {current.id} is **open**: {count} ranking(s) saved so far. Everyone in the room sees "
                        "these answers on this page.")
        elif current is not None:
            count = len(_saved(room, current.prompt, list(current.completions)))
            st.markdown(f"Round {current.id} is closed with {count} ranking(s).")
        else:
            st.markdown("No round yet: sample completions, then launch a round so the whole room ranks them.")
        cols = st.columns(2)
        cols[0].button("Launch a round with these answers", key=f"{KEY}_launch", disabled=texts is None,
                       icon=":material/how_to_vote:", on_click=_store_call, args=("open", room, prompt, texts))
        cols[1].button("Close the round", key=f"{KEY}_close", disabled=current is None or not current.open,
                       icon=":material/lock:", on_click=_store_call, args=("close", room))
        if current is not None:
            names = [f"Completion {NAMES[i]}" for i in range(len(current.completions))]
            if texts is None or list(current.completions) != texts:
                st.caption(f"Round {current.id}'s prompt: {literal(current.prompt)}")
            _everyone(current.prompt, list(current.completions), names, room, key=f"{KEY}_round_everyone")


def _store_call(method: str, *args) -> None:
    """A button's callback (it runs before the rerun, so the panel draws the new state at once)."""
    try:
        getattr(cache.rounds(), method)(*args)
        cache.round_changed()                     # the panels show the new round at once, not a second later
    except StoreError as exc:
        st.session_state[f"{KEY}_store_error"] = str(exc)


def _saved(room: str, prompt: str, texts: list[str]) -> list[dict]:
    try:
        return [r for r in cache.room_labels(room or None)
                if r["prompt"] == prompt and r["completions"] == texts]
    except StoreError:
        return []


def _everyone(prompt: str, texts: list[str], names: list[str], room: str, key: str = f"{KEY}_everyone") -> None:
    """Every saved ranking of these completions (in this room, when in one): distribution and agreement."""
    rankings = [r["ranking"] for r in _saved(room, prompt, texts) if sorted(r["ranking"]) == names]
    if not rankings:
        return
    where = f"in room {room}" if room else "on this server"
    st.markdown(f"**Everyone's rankings of these answers** — {len(rankings)} labeler(s) {literal(where)}")
    table = agreement.distribution(rankings, names)
    cats = agreement.categories(len(names))
    fig = go.Figure()
    for j, cat in enumerate(cats):
        fail = cat == "F"
        fig.add_trace(go.Bar(x=names, y=[row[j] for row in table], name="F (fail)" if fail else f"rank {cat}",
                             marker_color=palette.FAIL if fail else palette.RANKS[j % len(palette.RANKS)],
                             marker_pattern_shape=palette.FAIL_PATTERN if fail else ""))
    fig.update_layout(barmode="stack", height=300, margin=dict(l=10, r=10, t=30, b=30),
                      legend=dict(orientation="h", y=-0.2), yaxis=dict(title="labelers", dtick=1))
    st.plotly_chart(fig, width="stretch", key=key)
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



def _name_in(key: str) -> str:
    value = st.session_state.get(key)
    return " ".join(value.split())[:MAX_NAME] if isinstance(value, str) else ""


def _known_name() -> str:
    """The workshop nickname or the quiz name, when the learner gave one elsewhere."""
    return _name_in(keys.WS_NAME) or _name_in(keys.QUIZ_LEARNER)


def labeler() -> str:
    """How this session's labels are shown: the workshop nickname, the quiz name, the one typed here (its box, read
    first: the Save button's callback may run before the box's own), or "anonymous". Only a name: labels are saved
    under the browser's id (identity.key)."""
    return _known_name() or _name_in(NAME_BOX) or _name_in(NAME) or "anonymous"


def pairs_of(rows: list[dict]) -> list[tuple[str, str, str]]:
    """(prompt, preferred, other) from saved rankings (rows of core.labs.rlhf.labels.Labels)."""
    out = []
    for row in rows:
        names = sorted(row["ranking"])
        texts = dict(zip(names, row["completions"]))
        try:
            out += [(row["prompt"], texts[p.preferred], texts[p.other]) for p in to_pairs(row["ranking"], names)]
        except (RankingError, KeyError):
            continue
    return out


def my_pairs() -> list[tuple[str, str, str]]:
    """The pairs from every ranking this browser saved (none when the database is down)."""
    try:
        return pairs_of(cache.labels().rows(identity.key()))
    except StoreError:
        return []


def room_pairs() -> tuple[str, list[tuple[str, str, str]]]:
    """(the room, the pairs from every ranking saved in it); ("", []) outside a workshop."""
    room, _ = room_of_session()
    if not room:
        return "", []
    try:
        return room, pairs_of(cache.labels().rows(room=room))
    except StoreError:
        return room, []
