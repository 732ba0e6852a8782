"""Embedding demo: SmolLM2's token vectors and their nearest neighbours; MiniLM's sentence vectors
compared, projected to 2-D/3-D and searched."""
from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard
from components.common.decoder import insides_note
from components.common.text import literal
from components.labs.inside_transformer import cache
from core.labs.inside_transformer.embeddings import (
    MAX_SENTENCES,
    WordForm,
    cosine_matrix,
    duplicates,
    format_sentence_lines,
    min_points_for,
    parse_sentence_lines,
    pca,
    search,
    word_forms,
)
from core.serving.tokens import make_visible

MAX_TOKENS = 48            # rows drawn in the token heatmap
MAX_CHARS = 5_000          # token text beyond this is cut before tokenizing
MAX_WORD_CHARS = 200       # the neighbours' word box
MAX_SENTENCE_CHARS = 500   # one sentence; MiniLM reads at most 256 tokens anyway
ANNOTATE_UP_TO = 20        # write the numbers into the similarity matrix up to this many sentences
OWN = "Your own sentences"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def _label(token: str) -> str:
    """A token as plotly may draw it: whitespace made visible, markup escaped (plotly reads tags)."""
    return html.escape(make_visible(token)) or "∅"


def _short(text: str, n: int = 38) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


# ---- token embeddings ---------------------------------------------------------------------------
def token_heatmap(tokens, vectors: np.ndarray, dims: int) -> go.Figure:
    """Tokens (rows) × the first `dims` numbers of their embedding (columns), blue < 0 < red."""
    z = vectors[:, :dims]                                                     # (n, dims)
    limit = float(np.abs(z).max()) or 1.0
    labels = [f"{i}: {_label(t)}" for i, t in enumerate(tokens)]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(z.shape[1])), y=list(range(len(tokens))), colorscale="RdBu_r", zmid=0,
        zmin=-limit, zmax=limit, colorbar=dict(title="value"),
        customdata=np.array([[lab] * z.shape[1] for lab in labels]),
        hovertemplate="token %{customdata}<br>dimension %{x}<br>value %{z:.4f}<extra></extra>"))
    fig.update_yaxes(tickvals=list(range(len(tokens))), ticktext=labels, autorange="reversed", title="token")
    fig.update_xaxes(title=f"dimension (first {z.shape[1]} of {vectors.shape[1]})")
    fig.update_layout(height=max(260, 24 * len(tokens) + 130), margin=dict(l=10, r=10, t=30, b=10))
    return fig


def neighbours_chart(word: str, hits: list[tuple[int, str, float]]) -> go.Figure:
    labels = [f"{_label(text)} (id {i})" for i, text, _ in hits]
    fig = go.Figure(go.Bar(x=[s for _, _, s in hits], y=labels, orientation="h", marker_color="#1f77b4",
                           text=[f"{s:.3f}" for _, _, s in hits], textposition="outside",
                           hovertemplate="%{y}: cosine %{x:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=f"cosine similarity with {_label(word)}", range=[0, 1.1])
    fig.update_layout(height=max(220, 30 * len(hits) + 80), margin=dict(l=10, r=10, t=30, b=10))
    return fig


@st.fragment  # its widgets rerun only this part, not the page's other demos
def _token_part(service, key: str) -> None:
    st.markdown("##### Token embeddings (SmolLM2)")
    st.caption("Each token's ID picks one row of SmolLM2's 49,152 × 576 embedding table. Below are the first "
               "numbers of each row for your text: red is positive, blue negative.")
    st.session_state.setdefault(f"{key}_text", "The king and the queen ate pizza in Paris.")
    text = st.text_input("Text to embed", key=f"{key}_text", max_chars=None)
    text = guard.usable_text(text, "Type a few words above to see their token vectors.", MAX_CHARS)
    if text is None:
        return
    try:
        with st.spinner("Loading SmolLM2 (about 15 s the first time)…"):
            emb = cache.token_embeddings(text, MAX_TOKENS)
    except Exception as exc:
        errors.show("SmolLM2 could not embed this text", exc)
        return
    if emb.truncated_from:
        st.warning(f"Your text has {emb.truncated_from:,} tokens; the first {MAX_TOKENS} are drawn.")
    dims = st.slider("Dimensions shown", 8, emb.vectors.shape[1], min(64, emb.vectors.shape[1]), step=8,
                     key=f"{key}_dims")
    st.plotly_chart(token_heatmap(emb.tokens, emb.vectors, dims), key=f"{key}_token_heatmap")
    st.caption(f"{len(emb.tokens)} tokens × {emb.vectors.shape[1]} numbers each. The same token always gets the "
               "same row, wherever it appears: context only enters later, in the attention layers.")

    st.markdown("**Nearest neighbours in the embedding table.** Which vocabulary entries have the most similar "
                "rows (cosine similarity: 1 = same direction, 0 = unrelated)?")
    left, right = st.columns([1, 2])
    with left:
        positions = list(range(len(emb.tokens)))
        default = next((i for i, t in enumerate(emb.tokens) if len(t.strip()) >= 4), 0)
        pos = st.selectbox("Token from your text", positions, index=default, key=f"{key}_token",
                           format_func=lambda i: f"{i}: {make_visible(emb.tokens[i])}")
        word = st.text_input("…or any word", key=f"{key}_word",
                             help="One word shows two forms side by side: at the start of a text and "
                                  "mid-sentence (with a space before it). Of a longer form, the first token is used.")
        n = st.slider("Neighbours", 3, 25, 10, key=f"{key}_n")
    forms = word_forms(word[:MAX_WORD_CHARS]) if isinstance(word, str) else []
    if not forms:                                   # no word typed: the token picked from the text
        panels = [_Panel(None, int(emb.ids[pos]), emb.tokens[pos], "")]
    else:
        try:
            panels = [_word_panel(service, form) for form in forms]
        except Exception as exc:
            errors.show("This word could not be tokenized", exc)
            return
        panels = [p for p in panels if p is not None]
        if not panels:
            left.caption("This word has no tokens.")
            return
    try:
        hits = [cache.nearest_tokens(p.token_id, int(n)) for p in panels]
    except Exception as exc:
        errors.show("The neighbours could not be computed", exc)
        return
    with right:
        if len(panels) == 1:
            if panels[0].note:
                left.caption(panels[0].note)
            st.plotly_chart(neighbours_chart(panels[0].token_text, hits[0]), key=f"{key}_neighbours")
            return
        start, mid = (panel.form.text for panel in panels)
        st.caption(f"SmolLM2's tokenizer keeps the space in front of a word inside the token, so "
                   f"“{literal(make_visible(start))}” and “{literal(make_visible(mid))}” (· is the space) are "
                   "looked up as different tokens, each with its own row of the table and its own neighbours. "
                   "Mid-sentence words come with the space, so that row learned from the word's ordinary uses; "
                   "without the space the same letters are often a piece of a longer word, and the neighbours "
                   "show it.")
        for column, panel, found in zip(st.columns(2), panels, hits):
            with column:
                st.markdown(f"**“{literal(make_visible(panel.form.text))}”** — {literal(panel.form.label)}")
                if panel.note:
                    st.caption(panel.note)
                st.plotly_chart(neighbours_chart(panel.token_text, found), key=f"{key}_neighbours_{panel.form.kind}")


@dataclass(frozen=True)
class _Panel:
    form: WordForm | None   # None: a token picked from the text
    token_id: int
    token_text: str          # readable text of the token whose neighbours are shown
    note: str                # a caption when the form is several tokens ("" otherwise), Markdown-escaped


def _word_panel(service, form: WordForm) -> _Panel | None:
    """The first token of one form of the learner's word (the whole form when it is one token)."""
    ids = service.encode_ids(form.text)             # no special tokens, exactly as the model reads the text
    if not ids:
        return None
    texts = service.token_texts(ids)
    note = ""
    if len(ids) > 1:
        pieces = " + ".join(f"“{literal(make_visible(t))}”" for t in texts[:8]) + (" + …" if len(ids) > 8 else "")
        note = (f"“{literal(make_visible(form.text))}” is {len(ids)} tokens ({pieces}); showing the neighbours "
                f"of the first, “{literal(make_visible(texts[0]))}”.")
    return _Panel(form, int(ids[0]), texts[0], note)


# ---- sentence embeddings ------------------------------------------------------------------------
def _on_set(key: str, sets) -> None:
    choice = st.session_state[f"{key}_set"]
    for s in sets:
        if s.name == choice:
            st.session_state[f"{key}_sentences"] = format_sentence_lines(s.items)


def similarity_heatmap(sentences: list[str], sims: np.ndarray) -> go.Figure:
    n = len(sentences)
    labels = [f"{i + 1}. {html.escape(_short(s))}" for i, s in enumerate(sentences)]
    full = [html.escape(s) for s in sentences]
    fig = go.Figure(go.Heatmap(
        z=sims, x=list(range(n)), y=list(range(n)), colorscale="Viridis", zmin=min(0.0, float(sims.min())), zmax=1,
        colorbar=dict(title="cosine"), text=np.round(sims, 2) if n <= ANNOTATE_UP_TO else None,
        texttemplate="%{text:.2f}" if n <= ANNOTATE_UP_TO else None,
        customdata=np.array([[[full[i], full[j]] for j in range(n)] for i in range(n)], dtype=object),
        hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>cosine %{z:.3f}<extra></extra>"))
    fig.update_yaxes(tickvals=list(range(n)), ticktext=labels, autorange="reversed")
    fig.update_xaxes(tickvals=list(range(n)), ticktext=[str(i + 1) for i in range(n)], side="top")
    fig.update_layout(height=max(320, 28 * n + 120), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def projection_figure(pairs: list[tuple[str, str]], vectors: np.ndarray, k: int) -> go.Figure:
    proj = pca(vectors, k)
    fig = go.Figure()
    groups = list(dict.fromkeys(topic for topic, _ in pairs))
    for g_index, group in enumerate(groups):
        rows = [i for i, (topic, _) in enumerate(pairs) if topic == group]
        hover = [f"{i + 1}. {html.escape(pairs[i][1])}" for i in rows]
        common = dict(name=html.escape(group), mode="markers+text", text=[str(i + 1) for i in rows],
                      hovertext=hover, hoverinfo="text", textposition="top center",
                      marker=dict(color=PALETTE[g_index % len(PALETTE)], size=11 if k == 2 else 6))
        if k == 2:
            fig.add_trace(go.Scatter(x=proj.coords[rows, 0], y=proj.coords[rows, 1], **common))
        else:
            fig.add_trace(go.Scatter3d(x=proj.coords[rows, 0], y=proj.coords[rows, 1], z=proj.coords[rows, 2],
                                       **common))
    titles = [f"PC{i + 1} ({proj.explained[i]:.0%} of the variance)" for i in range(k)]
    if k == 2:
        fig.update_xaxes(title=titles[0])
        fig.update_yaxes(title=titles[1])
    else:
        fig.update_layout(scene=dict(xaxis_title=titles[0], yaxis_title=titles[1], zaxis_title=titles[2]))
    fig.update_layout(height=520, legend_title_text="topic", margin=dict(l=10, r=10, t=30, b=10))
    return fig


@st.fragment  # its widgets rerun only this part, not the page's other demos
def _sentence_part(key: str) -> None:
    st.markdown("##### Sentence embeddings (MiniLM)")
    st.caption("MiniLM turns a whole sentence into one vector of 384 numbers (the average of its token vectors "
               "after all 6 layers). Sentences that mean similar things get vectors pointing the same way.")
    try:
        sets = cache.sentence_sets()
    except ValueError as exc:
        st.error(f"The preset sentences could not be loaded: {exc}")
        sets = []
    if f"{key}_sentences" not in st.session_state and sets:
        st.session_state[f"{key}_sentences"] = format_sentence_lines(sets[0].items)
    st.selectbox("Preset sentences", [s.name for s in sets] + [OWN], key=f"{key}_set",
                 on_change=_on_set, args=(key, sets))
    chosen = next((s for s in sets if s.name == st.session_state.get(f"{key}_set")), None)
    if chosen is not None:
        st.caption(chosen.description)
    raw = st.text_area("Sentences, one per line (optional topic before a | sign)", key=f"{key}_sentences",
                       height=200, help="Example line: food | I baked fresh bread.")
    pairs = parse_sentence_lines(raw if isinstance(raw, str) else "")
    if not pairs:
        st.info("Type at least two sentences, one per line, to compare them.")
        return
    if len(pairs) > MAX_SENTENCES:
        st.warning(f"{len(pairs)} sentences given; the first {MAX_SENTENCES} are used to keep the pictures readable.")
        pairs = pairs[:MAX_SENTENCES]
    if any(len(s) > MAX_SENTENCE_CHARS for _, s in pairs):
        st.caption(f"Sentences longer than {MAX_SENTENCE_CHARS} characters are cut there.")
        pairs = [(t, s[:MAX_SENTENCE_CHARS]) for t, s in pairs]
    sentences = [s for _, s in pairs]
    try:
        with st.spinner("Embedding the sentences with MiniLM…"):
            vectors = cache.sentence_embeddings(tuple(sentences))
    except Exception as exc:
        errors.show("MiniLM could not embed these sentences", exc)
        return
    dup = duplicates(sentences)
    if dup:
        st.warning(f"{len(dup)} sentence(s) appear more than once (e.g. “{literal(dup[0], 60)}”). Identical text "
                   "gives an identical vector: similarity 1.00 and the same point in the pictures.")
    if len(pairs) == 1:
        st.info("Only one sentence: add more lines to compare it with something.")
    sims = cosine_matrix(vectors)

    matrix_tab, flat_tab, space_tab, search_tab = st.tabs(["Similarity matrix", "2-D map", "3-D map", "Search"])
    with matrix_tab:
        st.plotly_chart(similarity_heatmap(sentences, sims), key=f"{key}_similarity")
        st.caption("Each cell is the cosine similarity of two sentence vectors (1 = same direction). The diagonal "
                   "is each sentence with itself." + ("" if len(sentences) <= ANNOTATE_UP_TO else
                                                      f" Numbers are written in only up to {ANNOTATE_UP_TO} sentences; "
                                                      "hover for them."))
    distinct = len(set(sentences))
    for tab, k in ((flat_tab, 2), (space_tab, 3)):
        with tab:
            if distinct < min_points_for(k):
                st.info(f"A {k}-D map needs at least {min_points_for(k)} different sentences (you have {distinct}): "
                        f"n points only span n − 1 directions, so there is nothing to spread out along a "
                        f"{'second' if k == 2 else 'third'} axis.")
                continue
            st.plotly_chart(projection_figure(pairs, vectors, k), key=f"{key}_pca{k}")
            st.caption(f"PCA squeezes the 384 numbers down to the {k} directions along which these sentences differ "
                       "most. Distances are only roughly kept: trust the matrix for exact similarities.")
    with search_tab:
        st.session_state.setdefault(f"{key}_query", "Which sentences are about pets?")
        query = st.text_input("Search the sentences by meaning", key=f"{key}_query")
        query = guard.usable_text(query, "Type a question or a few words to rank the sentences by meaning.",
                                  MAX_SENTENCE_CHARS, warn=False)
        if query is None:
            return
        q = cache.sentence_embeddings((query,))[0]
        hits = search(q, vectors)
        st.dataframe(
            [{"rank": r + 1, "similarity": round(h.score, 4), "sentence": sentences[h.index],
              "topic": pairs[h.index][0]}
             for r, h in enumerate(hits)],
            hide_index=True, key=f"{key}_results",
            column_config={"similarity": st.column_config.ProgressColumn("similarity", min_value=0.0, max_value=1.0,
                                                                         format="%.3f")})
        st.caption("Semantic search embeds the query with the same model and ranks sentences by cosine similarity; "
                   "no word has to match. This is the retrieval step of RAG (lesson 11).")


def show(key: str = "embeddings") -> None:
    st.markdown("#### Try it: tokens and sentences as vectors")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    insides_note(service, "The token embeddings demo", service.registry.default_decoder)
    _token_part(service, key)
    st.divider()
    _sentence_part(key)
