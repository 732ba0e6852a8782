"""Attention demo: one head's map as a heatmap for both models side by side, a layers × heads overview of
simple statistics, and bertviz's head and model views (self-contained, they work offline)."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard
from components.common.decoder import insides_note
from components.labs.inside_transformer import cache
from core.labs.inside_transformer.attention_stats import STATISTICS, head_grid
from core.serving.tokens import make_visible

MAX_TOKENS = 96          # tokens run through the models and drawn in the heatmaps
BERTVIZ_TOKENS = 40      # bertviz draws every line of every head: keep it small
BERTVIZ_LAYERS = 6       # layers at a time in the model view (each row is one layer)
MAX_CHARS = 20_000       # text beyond this is cut before tokenizing
MODELS = {"dec": ("causal-lm", "SmolLM2 (decoder)"), "enc": ("sentence-encoder", "MiniLM (encoder)")}
GENERATED_COLOUR = "#d62728"

EXAMPLES = {
    "Who is 'it'?": "The dog ignored the ball because it was tired.",
    "Repeated names": "Alice gave Bob a book. Later, Bob gave Alice a pen.",
    "A question": "What is the capital of France?",
    "Code": "def add(a, b):\n    return a + b",
}


def _labels(tokens, generated_from: int | None = None) -> list[str]:
    """Tick labels: whitespace made visible, markup escaped; generated tokens in red."""
    out = []
    for i, t in enumerate(tokens):
        text = html.escape(make_visible(t)) or "∅"
        if generated_from is not None and i >= generated_from:
            text = f"<span style='color:{GENERATED_COLOUR}'>{text}</span>"
        out.append(text)
    return out


def attention_heatmap(weights: np.ndarray, tokens, causal: bool, generated_from: int | None = None) -> go.Figure:
    """One head's (seq, seq) map: row = the token that looks, column = the token looked at."""
    seq = len(tokens)
    z = weights.astype(float).copy()                                        # (seq, seq), never mutate the cache
    if causal:
        z[np.triu_indices(seq, k=1)] = np.nan                               # the mask: future tokens, left blank
    labels = _labels(tokens, generated_from)
    plain = [html.escape(make_visible(t)) for t in tokens]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(seq)), y=list(range(seq)), colorscale="Blues", zmin=0, zmax=1,
        colorbar=dict(title="weight"), hoverongaps=False,
        customdata=np.array([[[plain[i], plain[j]] for j in range(seq)] for i in range(seq)], dtype=object),
        hovertemplate="%{customdata[0]} → %{customdata[1]}<br>weight %{z:.3f}<extra></extra>"))
    ticks = dict(tickvals=list(range(seq)), ticktext=labels, tickfont=dict(size=11 if seq <= 40 else 8))
    fig.update_yaxes(title="token that looks (query)", autorange="reversed", **ticks)
    fig.update_xaxes(title="token looked at (key)", tickangle=-60, **ticks)
    if generated_from is not None and generated_from < seq:
        for shape in (dict(x0=generated_from - 0.5, x1=generated_from - 0.5, y0=-0.5, y1=seq - 0.5),
                      dict(y0=generated_from - 0.5, y1=generated_from - 0.5, x0=-0.5, x1=seq - 0.5)):
            fig.add_shape(type="line", line=dict(color=GENERATED_COLOUR, dash="dot"), **shape)
    side = max(380, min(900, 16 * seq + 200))
    fig.update_layout(height=side, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def overview_figure(grid: np.ndarray, statistic: str, selected: tuple[int, int]) -> go.Figure:
    """Layers (rows) × heads (columns) coloured by a statistic; invisible markers make each cell clickable."""
    layers, heads = grid.shape
    stat = STATISTICS[statistic]
    fig = go.Figure(go.Heatmap(z=grid, x=list(range(heads)), y=list(range(layers)), colorscale="Viridis",
                               colorbar=dict(title=stat.unit), hoverinfo="skip"))
    ll, hh = np.meshgrid(np.arange(layers), np.arange(heads), indexing="ij")
    fig.add_trace(go.Scatter(
        x=hh.ravel(), y=ll.ravel(), mode="markers", marker=dict(symbol="square", size=18, opacity=0.01),
        customdata=np.stack([ll.ravel(), hh.ravel(), np.nan_to_num(grid.ravel())], -1),
        hovertemplate="layer %{customdata[0]}, head %{customdata[1]}<br>" + stat.label + " %{customdata[2]:.3f}"
                      "<extra>click to open</extra>", showlegend=False))
    fig.add_shape(type="rect", x0=selected[1] - 0.5, x1=selected[1] + 0.5, y0=selected[0] - 0.5,
                  y1=selected[0] + 0.5, line=dict(color="#d62728", width=3))
    fig.update_xaxes(title="head", tickvals=list(range(heads)))
    fig.update_yaxes(title="layer", autorange="reversed", tickvals=list(range(0, layers, 1 if layers <= 12 else 2)))
    fig.update_layout(height=max(300, 18 * layers + 120), margin=dict(l=10, r=10, t=30, b=10), dragmode=False)
    return fig


def _on_example(key: str) -> None:
    choice = st.session_state[f"{key}_example"]
    if choice in EXAMPLES:
        st.session_state[f"{key}_text"] = EXAMPLES[choice]


def _jump(key: str, model: str, layer: int, head: int) -> None:
    st.session_state[f"{key}_{model}_layer"] = int(layer)
    st.session_state[f"{key}_{model}_head"] = int(head)


def _on_grid_click(key: str) -> None:
    try:
        points = st.session_state[f"{key}_grid"]["selection"]["points"]
    except (KeyError, TypeError):
        return
    for point in points or []:
        # The clickable markers sit at x = head, y = layer.
        x, y = (point.get("x"), point.get("y")) if isinstance(point, dict) else (None, None)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            _jump(key, st.session_state[f"{key}_grid_model"], int(round(y)), int(round(x)))
            return


def _on_pick(key: str) -> None:
    choice = st.session_state.get(f"{key}_pick")
    if isinstance(choice, tuple):
        _jump(key, st.session_state[f"{key}_grid_model"], *choice)


def bertviz_layer(state, key: str, model: str, layers: int) -> int:
    """The layer bertviz's head view opens on: the one `model`'s "Layer" slider above selects.

    No ±1 here: the slider runs from 0 to layers − 1 (the page says "Layers and heads are numbered from 0, as in
    bertviz"), and bertviz's `layer` parameter is the 0-based layer number, looked up in `include_layers`
    (all layers here, so number and position agree). Slider value 12 → bertviz's dropdown shows 12."""
    return max(0, min(int(state.get(f"{key}_{model}_layer", 0)), layers - 1))


def bertviz_stale(state, key: str, layers_by_model: dict[str, int]) -> tuple[str, int] | None:
    """(model, layer) the head view should now open on, when that differs from what it was last drawn with.

    The sliders live in the `_maps` fragment, whose reruns do not redraw bertviz (outside it): without this
    the head view kept the layer of the last full run. Only the layer of the model bertviz shows
    counts; the head sliders and the other model's layer never make it stale."""
    drawn = state.get(f"{key}_bv_drawn")
    if not drawn:
        return None
    model, layer = drawn
    if model not in layers_by_model:
        return None
    want = bertviz_layer(state, key, model, layers_by_model[model])
    return None if want == layer else (model, want)


def _follow_layer_slider(key: str, atts: dict) -> None:
    """Rerun the whole page when the head view's layer went stale (a fragment cannot redraw the rest itself).

    The marker is moved first, so the full run (which runs `_maps` again before bertviz) does not rerun again."""
    stale = bertviz_stale(st.session_state, key, {m: a.weights.shape[0] for m, a in atts.items()})
    if stale is not None:
        st.session_state[f"{key}_bv_drawn"] = stale
        st.rerun(scope="app")


def _heatmap_column(key: str, model: str, att, generated_from: int | None) -> None:
    kind, title = MODELS[model]
    layers, heads = att.weights.shape[:2]
    st.markdown(f"**{title}** · {layers} layers × {heads} heads")
    st.session_state.setdefault(f"{key}_{model}_layer", 0)
    st.session_state.setdefault(f"{key}_{model}_head", 0)
    layer = st.slider("Layer", 0, layers - 1, key=f"{key}_{model}_layer")
    head = st.slider("Head", 0, heads - 1, key=f"{key}_{model}_head")
    st.plotly_chart(attention_heatmap(att.weights[layer, head], att.tokens, causal=kind == "causal-lm",
                                      generated_from=generated_from), key=f"{key}_{model}_heatmap")


def _compute(key: str, text: str, generate: bool, new_tokens: int):
    """Both models' attentions for the text (the decoder's with its own continuation when asked)."""
    generated_from = None
    with st.spinner("Running both models (SmolLM2 takes about 15 s to load the first time)…"):
        if generate:
            dec, generated_from = cache.attentions_with_continuation(text, new_tokens, MAX_TOKENS)
        else:
            dec = cache.attentions(text, "causal-lm", MAX_TOKENS)
        enc = cache.attentions(text, "sentence-encoder", MAX_TOKENS)
    return {"dec": dec, "enc": enc}, generated_from


def _overview(key: str, atts: dict) -> None:
    st.markdown("##### Find interesting heads")
    left, right = st.columns([1, 2])
    with left:
        model = st.radio("Model", list(MODELS), format_func=lambda m: MODELS[m][1], key=f"{key}_grid_model",
                         horizontal=True)
        statistic = st.selectbox("Statistic", list(STATISTICS), format_func=lambda s: STATISTICS[s].label,
                                 key=f"{key}_stat")
        st.caption(STATISTICS[statistic].explain)
        weights = atts[model].weights
        grid = head_grid(weights, statistic)                                     # (layers, heads)
        if np.all(np.isnan(grid)):
            st.info("This statistic needs at least two tokens.")
            return
        order = np.argsort(-np.nan_to_num(grid, nan=-np.inf).ravel())[:10]
        top = [tuple(int(v) for v in np.unravel_index(i, grid.shape)) for i in order]
        st.selectbox("Open one of the 10 highest heads", [None] + top, key=f"{key}_pick", on_change=_on_pick,
                     args=(key,), format_func=lambda t: "—" if t is None else
                     f"layer {t[0]}, head {t[1]}: {grid[t]:.3f}")
    selected = (st.session_state.get(f"{key}_{model}_layer", 0), st.session_state.get(f"{key}_{model}_head", 0))
    with right:
        st.plotly_chart(overview_figure(grid, statistic, selected), key=f"{key}_grid",
                        on_select=lambda: _on_grid_click(key), selection_mode="points")
        st.caption("Click a cell (or pick from the list) to open that head in the heatmap above. "
                   "The red square is the head shown there now.")


def _bertviz(key: str, atts: dict, generated_from: int | None) -> None:
    st.markdown("##### bertviz: every head at once")
    model = st.radio("Model", list(MODELS), format_func=lambda m: MODELS[m][1], key=f"{key}_bv_model",
                     horizontal=True)
    att = atts[model]
    tokens = [make_visible(t) for t in att.tokens]
    if len(tokens) > BERTVIZ_TOKENS:
        st.warning(f"bertviz draws a line for every pair of tokens in every head, so it shows the first "
                   f"{BERTVIZ_TOKENS} of {len(tokens)} tokens to keep your browser responsive.")
    n = min(len(tokens), BERTVIZ_TOKENS)
    weights = att.weights[:, :, :n, :n]
    layers = weights.shape[0]
    head_tab, model_tab = st.tabs(["Head view", "Model view"])
    with head_tab:
        layer = bertviz_layer(st.session_state, key, model, layers)
        st.caption(f"It opens on layer {layer}, the one {MODELS[model][1].split(' (')[0]}'s Layer slider above "
                   "selects (both count from 0); pick another layer at the top. Each colour is a head; lines join "
                   "a token (left) to the tokens it attends to (right), thicker for more weight. Hover a token to "
                   "see only its lines; click a colour to switch that head on or off.")
        page = cache.bertviz_page("head", weights, tuple(tokens[:n]), layer=layer)
        st.iframe(page.html, height=page.height + 20)
        st.session_state[f"{key}_bv_drawn"] = (model, layer)   # read by _follow_layer_slider in the fragment
    with model_tab:
        if layers > BERTVIZ_LAYERS:
            start = st.slider("First layer shown", 0, layers - BERTVIZ_LAYERS, 0, key=f"{key}_bv_start",
                              help=f"{BERTVIZ_LAYERS} layers at a time keep the picture a readable size.")
            shown = list(range(start, start + BERTVIZ_LAYERS))
        else:
            shown = list(range(layers))
        st.caption(f"Layers {shown[0]}–{shown[-1]} (rows) × all heads (columns). Click a thumbnail to enlarge it.")
        page = cache.bertviz_page("model", weights, tuple(tokens[:n]), layers=tuple(shown))
        st.iframe(page.html, height=page.height + 20)


def show(key: str = "attention") -> None:
    st.markdown("#### Try it: where does each token look?")
    st.session_state.setdefault(f"{key}_text", EXAMPLES["Who is 'it'?"])
    st.selectbox("Start from an example", ["—"] + list(EXAMPLES), key=f"{key}_example",
                 on_change=_on_example, args=(key,))
    text = st.text_area("Text for the attention maps", key=f"{key}_text", height=80)
    left, right = st.columns([2, 1])
    generate = left.checkbox("Let SmolLM2 continue the text, and show attention over its own tokens too",
                             key=f"{key}_generate")
    new_tokens = right.slider("Tokens to generate", 1, 30, 12, key=f"{key}_new_tokens", disabled=not generate)
    text = guard.usable_text(text, "Type some text above to see its attention maps.", MAX_CHARS)
    if text is None:
        return
    service = app_cache.model_service_or_none()
    if service is None:
        return
    insides_note(service, "The attention map", service.registry.default_decoder)
    try:
        atts, generated_from = _compute(key, text, generate, new_tokens)
    except Exception as exc:
        errors.show("The attention maps could not be computed", exc)
        return
    for model, att in atts.items():
        if att.truncated_from:
            st.warning(f"{MODELS[model][1]}: your text has {att.truncated_from:,} tokens; the first "
                       f"{MAX_TOKENS - (new_tokens if generate and model == 'dec' else 0)} are used so the maps "
                       "stay readable and fast.")
    if generated_from is not None:
        continuation = html.escape("".join(atts["dec"].tokens[generated_from:])).replace("\n", "↵")
        prompt = html.escape("".join(atts["dec"].tokens[:generated_from])).replace("\n", "↵")
        st.html(f"<p style='margin:0'>SmolLM2 continued your text (greedy, {len(atts['dec'].tokens) - generated_from} "
                f"tokens; red labels below):<br><span>{prompt}</span><b style='color:{GENERATED_COLOUR}'>"
                f"{continuation}</b></p>")

    _maps(key, atts, generated_from)
    st.divider()
    _bertviz(key, atts, generated_from)


@st.fragment
def _maps(key: str, atts: dict, generated_from: int | None) -> None:
    """The per-head heatmaps and the overview. A fragment: moving a slider or clicking a head reruns only this
    part, not the rest of the page (the bertviz pages alone are several MB)."""
    st.markdown("##### One head at a time")
    st.caption("Row = the token that is looking, column = the token it looks at; each row adds up to 1. "
               "Layers and heads are numbered from 0, as in bertviz. The two models split the text differently.")
    dec_col, enc_col = st.columns(2, gap="large")
    with dec_col:
        _heatmap_column(key, "dec", atts["dec"], generated_from)
        st.caption("Causal mask: the blank upper triangle is the future, which a decoder never sees.")
    with enc_col:
        _heatmap_column(key, "enc", atts["enc"], None)
        st.caption("No mask: every token can look at every other, before and after it.")
    st.divider()
    _overview(key, atts)
    _follow_layer_slider(key, atts)
