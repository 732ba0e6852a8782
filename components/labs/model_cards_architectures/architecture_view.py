"""Page 5 demos: the three architecture families (with their attention masks), parameter counts of
well-known models from their real configs, and the three pre-training objectives on the learner's text."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard
from components.common.charts import PNG_ONLY
from components.common.model_status import load_with_progress
from components.labs.model_cards_architectures import cache
from core import architectures
from core.labs.model_cards_architectures import architectures as arch
from core.serving.tokens import make_visible

MAX_CHARS = 2_000          # longer text is cut (with a note) before it reaches a model
MASK_TOKENS = 24           # tokens drawn in each small attention heatmap
DEFAULT_SENTENCE = "The cat sat on the mat because it was tired."
BUCKET_LABELS = {"embeddings": "embeddings", "attention": "attention", "mlp": "MLP (feed-forward)",
                 "norms": "norms", "other": "other (untied output head, pooler, MLM head)"}
BUCKET_COLOURS = {"embeddings": "#4C78A8", "attention": "#F58518", "mlp": "#54A24B", "norms": "#E45756",
                  "other": "#9D755D"}

# The deck's three families (objective, output, uses, models), plus which real model shows its mask.
FAMILIES = {
    "encoder-only": dict(
        title="Encoder-only (autoencoding)", objective="Masked language modelling (MLM)",
        output="a vector for every token and for the whole input",
        uses="sentence classification, sentiment analysis, named entity recognition", models="BERT, RoBERTa",
        mask="Full: every token attends to every token, before and after it."),
    "decoder-only": dict(
        title="Decoder-only (autoregressive)", objective="Causal language modelling (CLM)",
        output="the next token, again and again: generated text",
        uses="text generation with zero-shot abilities", models="GPT, BLOOM",
        mask="Causal: a token attends only to itself and the tokens before it."),
    "encoder-decoder": dict(
        title="Encoder-decoder (sequence-to-sequence)", objective="Varied; T5 uses span corruption",
        output="a new sequence conditioned on the input",
        uses="translation, summarization, question answering", models="T5",
        mask="Encoder: full. Decoder: causal over its own output, plus full cross-attention to the input."),
}


def _label(text: str, limit: int = 14) -> str:
    """A token as a tick label: whitespace made visible, shortened, escaped (plotly reads some HTML)."""
    t = make_visible(text) or "∅"
    if len(t) > limit:
        t = t[:limit - 1] + "…"
    return html.escape(t)


def heatmap(matrix: np.ndarray, rows: list[str], cols: list[str], title: str, colorscale: str = "Blues",
            zmax: float | None = None, hover: str = "weight") -> go.Figure:
    """A small square heatmap, rows attend to columns, token labels on both axes (duplicates allowed)."""
    n_r, n_c = matrix.shape
    fig = go.Figure(go.Heatmap(
        z=matrix, x=list(range(n_c)), y=list(range(n_r)), colorscale=colorscale, zmin=0, zmax=zmax,
        showscale=False, xgap=1, ygap=1,
        customdata=[[[rows[i], cols[j]] for j in range(n_c)] for i in range(n_r)],
        hovertemplate=f"%{{customdata[0]}} → %{{customdata[1]}}<br>{hover} %{{z:.3f}}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=380, margin=dict(l=10, r=10, t=40, b=10))
    fig.update_xaxes(tickvals=list(range(n_c)), ticktext=cols, tickangle=-60, side="bottom", tickfont=dict(size=10))
    fig.update_yaxes(tickvals=list(range(n_r)), ticktext=rows, autorange="reversed", tickfont=dict(size=10))
    return fig


def _clean_text(value, empty_message: str) -> str | None:
    return guard.usable_text(value, empty_message, MAX_CHARS, used="used here")


def _model_ready(service, kind: str, key: str, what: str) -> bool:
    """True when the model is loaded; otherwise a button that loads it (with progress) on request."""

    name = service.registry.default_decoder if kind == "causal-lm" else service.registry.default_encoder
    if service.is_ready(name, kind) or st.session_state.get(f"{key}_go"):
        return load_with_progress(service, name, kind)
    label = service.registry.get(name).label
    if st.button(f"Load {label} and {what}", key=f"{key}_load"):
        st.session_state[f"{key}_go"] = True
        return load_with_progress(service, name, kind)
    st.caption(f"{label} is not loaded yet; the button loads it (a few seconds; the first start on a machine ~20 s).")
    return False


# ---- 1. the three families ---------------------------------------------------------------------
def _real_mask(service, text: str, kind: str, key: str, title: str) -> None:
    if not _model_ready(service, kind, f"{key}_{kind}", "draw its attention"):
        return
    try:
        with st.spinner("Running the model…"):
            tokens, mean, cut = cache.arch_mean_attention(text, kind, MASK_TOKENS)
    except Exception as exc:
        errors.show("The model could not run on this text", exc)
        return
    labels = [_label(t) for t in tokens]
    # Most heads pour much of their attention onto the first token; capping the colour scale at the 90th
    # percentile of the non-zero weights keeps the rest of the pattern visible (hover shows true weights).
    nonzero = mean[mean > 0]
    zmax = float(np.quantile(nonzero, 0.9)) if nonzero.size else None
    st.plotly_chart(heatmap(mean, labels, labels, title, zmax=zmax), key=f"{key}_{kind}_heatmap",
                    config=PNG_ONLY)
    above = float(np.triu(mean, k=1).sum() / mean.sum())
    st.caption(f"Real attention, averaged over every layer and head (darkest = top 10 % of weights). "
               f"Share of attention on *later* tokens: "
               f"**{above:.1%}**" + (f" · first {MASK_TOKENS} of {cut} tokens drawn" if cut else ""))


def show_families(key: str = "arch_families") -> None:
    st.markdown("#### Try it: the attention mask of each family, on your sentence")
    st.markdown("Each family lets a token look at different parts of the text. The decoder and encoder pictures "
                "below are the **real attention** of the two bundled models on your sentence (averaged over all "
                "layers and heads); no encoder-decoder model ships with the app, so its mask is **constructed** "
                "from the rule T5 follows.")
    text = st.text_input("Your sentence", value=DEFAULT_SENTENCE, key=f"{key}_text", max_chars=MAX_CHARS)
    text = _clean_text(text, "Type a sentence to see how each family's attention may look at it.")
    service = app_cache.model_service_or_none() if text else None
    cols = st.columns(3, gap="medium")
    for col, family in zip(cols, ("encoder-only", "decoder-only", "encoder-decoder")):
        f = FAMILIES[family]
        with col:
            st.markdown(f"**{f['title']}**")
            st.markdown(f"- **Objective:** {f['objective']}\n- **Outputs:** {f['output']}\n"
                        f"- **Typical uses:** {f['uses']}\n- **Models:** {f['models']}\n- **Mask:** {f['mask']}")
            if text is None or service is None:
                continue
            if family == "encoder-only":
                _real_mask(service, text, "sentence-encoder", key, "all-MiniLM-L6-v2: full")
            elif family == "decoder-only":
                _real_mask(service, text, "causal-lm", key, "SmolLM2-135M-Instruct: causal")
            else:
                _constructed_mask(text, key)


def _constructed_mask(text: str, key: str) -> None:
    words = text.split()
    if len(words) < 2:
        st.info("The encoder-decoder picture needs at least two words.")
        return
    example = arch.span_corruption(" ".join(words[:MASK_TOKENS // 2]), seed=0)
    source = example.inputs.split()[:MASK_TOKENS // 2]
    target = example.targets.split()[:MASK_TOKENS // 2]
    mask = arch.encoder_decoder_mask(len(source), len(target))
    labels = ["in: " + _label(w) for w in source] + ["out: " + _label(w) for w in target]
    st.plotly_chart(heatmap(mask.astype(float), labels, labels, "Constructed mask (T5 rule), not a model",
                            colorscale=[[0, "#f4f4f4"], [1, "#6a51a3"]], zmax=1, hover="allowed"),
                    key=f"{key}_encdec_heatmap", config=PNG_ONLY)
    st.caption("Input = your sentence with a span replaced by a sentinel; output = what T5 would learn to write. "
               "Dark = may attend. Top-left block: encoder (full); bottom-left: cross-attention (full); "
               "bottom-right: decoder (causal).")


# ---- 2. parameter counts -----------------------------------------------------------------------
def breakdown_rows(breakdowns: list[architectures.ParameterBreakdown]) -> list[dict]:
    rows = []
    for b in breakdowns:
        e = architectures.entry(b.name)
        rows.append({"model": b.name, "family": b.family,
                     "parameters": b.total, "as published": architectures.human_count(e.published),
                     "layers": b.layers, "heads": b.heads, "hidden size": b.hidden_size,
                     "vocabulary": b.vocab_size, "context": b.context_length,
                     **{f"{k} %": round(100 * b.share(k), 1) for k in architectures.BUCKETS},
                     "bundled": e.bundled, "objective": b.objective})
    return rows


def breakdown_figure(breakdowns: list[architectures.ParameterBreakdown], scale: str) -> go.Figure:
    """Stacked bars per model: 'share' (% of total), 'linear' counts, or 'log' counts (grouped, see below)."""
    names = [b.name for b in breakdowns]
    fig = go.Figure()
    for bucket in architectures.BUCKETS:
        values = [100 * b.share(bucket) if scale == "share" else getattr(b, bucket) for b in breakdowns]
        text = [architectures.human_count(getattr(b, bucket)) for b in breakdowns]
        fig.add_bar(name=BUCKET_LABELS[bucket], x=names, y=values, marker_color=BUCKET_COLOURS[bucket],
                    customdata=text,
                    hovertemplate="%{x}<br>" + BUCKET_LABELS[bucket] + ": %{customdata}<extra></extra>")
    # On a log axis stacked segments would look wrong (the lower ones swell), so bars stand side by side there.
    fig.update_layout(barmode="group" if scale == "log" else "stack", height=460,
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.12))
    fig.update_yaxes(title="% of parameters" if scale == "share" else "parameters",
                     type="log" if scale == "log" else "linear")
    return fig


def show_parameters(key: str = "arch_params") -> None:
    st.markdown("#### Try it: where do the parameters of famous models live?")
    st.markdown("Each model below is built by the transformers library from its **real published configuration** "
                "file (shipped with the app), on PyTorch's *meta* device: every weight matrix gets its shape but "
                "no memory, so even BLOOM-176B appears in a fraction of a second. Then every parameter is sorted by "
                "its name into embeddings, attention, feed-forward (MLP) and norms, and counted.")
    try:
        with st.spinner("Building the models on the meta device…"):
            breakdowns = cache.arch_breakdowns()
    except Exception as exc:
        errors.show("The parameter counts could not be computed", exc)
        return
    st.dataframe(breakdown_rows(breakdowns), hide_index=True, key=f"{key}_table", column_config={
        "parameters": st.column_config.NumberColumn("parameters", format="localized"),
        "vocabulary": st.column_config.NumberColumn("vocabulary", format="localized"),
        "context": st.column_config.NumberColumn("context", format="localized",
                                                 help="Positions the model was built for "
                                                      "(BLOOM: its training length)")})
    scale = st.segmented_control("Chart shows", ["share", "linear", "log"], default="share", key=f"{key}_scale",
                                 format_func={"share": "% of each model", "linear": "counts",
                                              "log": "counts, log scale"}.get)
    st.plotly_chart(breakdown_figure(breakdowns, scale or "share"), key=f"{key}_chart", config=PNG_ONLY)
    big = max(breakdowns, key=lambda b: b.total)
    small = min(breakdowns, key=lambda b: b.total)
    st.caption(f"Tied weights (an output layer that reuses the input embedding matrix) are counted once. "
               f"{big.name} has {big.total / small.total:,.0f}× the parameters of {small.name}. {small.name} spends "
               f"{small.share('embeddings'):.0%} of its parameters on the embedding table; {big.name} only "
               f"{big.share('embeddings'):.0%}, and {big.share('mlp'):.0%} on the feed-forward (MLP) layers.")


# ---- 3. the objectives, live -------------------------------------------------------------------
def show_objectives(key: str = "arch_objectives") -> None:
    st.markdown("#### Try it: the three training objectives on your own text")
    st.markdown("Every family learned from plain text by solving a fill-in task. Type something and see the task "
                "each family practises, built from your text: predict the **next** token (decoder), the **hidden** "
                "tokens (encoder), or the **missing spans** (encoder-decoder).")
    clm, mlm, spans = st.tabs(["Causal LM (decoder)", "Masked LM (encoder)", "Span corruption (T5)"])
    with clm:
        _causal(key)
    with mlm:
        _masked(key)
    with spans:
        _spans(key)


def _causal(key: str) -> None:
    prefix = st.text_input("The text so far", value="The capital of France is", key=f"{key}_prefix")
    prefix = _clean_text(prefix, "Type the beginning of a sentence to see which tokens SmolLM2 expects next.")
    if prefix is None:
        return
    n = st.slider("How many candidates", 5, 30, 10, key=f"{key}_topn")
    service = app_cache.model_service_or_none()
    if service is None or not _model_ready(service, "causal-lm", f"{key}_clm", "predict"):
        return
    try:
        with st.spinner("SmolLM2 is reading your text…"):
            n_tokens, top = cache.arch_next_tokens(prefix, n)
    except Exception as exc:
        errors.show("SmolLM2 could not run on this text", exc)
        return
    labels = [f"{i + 1}. {_label(t, 20)}" for i, (_, t, _) in enumerate(top)]
    fig = go.Figure(go.Bar(x=[p for _, _, p in top], y=labels, orientation="h", marker_color="#4C78A8",
                           text=[f"{p:.1%}" for _, _, p in top], textposition="outside",
                           hovertemplate="%{y}<br>probability %{x:.2%}<extra></extra>"))
    fig.update_layout(height=max(260, 28 * len(top)), margin=dict(l=10, r=40, t=10, b=10),
                      xaxis=dict(title="probability of being the next token", tickformat=".0%"))
    fig.update_yaxes(autorange="reversed")
    st.plotly_chart(fig, key=f"{key}_clm_chart", config=PNG_ONLY)
    st.caption(f"Computed by SmolLM2 from your {n_tokens} token(s). Training pushed up the probability of the token "
               "that really came next in its training text — that is the whole causal-LM objective.")


def _masked(key: str) -> None:
    text = st.text_input("A sentence to mask", value="Paris is the capital and largest city of France.",
                         key=f"{key}_mlm_text")
    text = _clean_text(text, "Type a sentence to see how masked language modelling hides some of its tokens.")
    if text is None:
        return
    a, b = st.columns(2)
    rate = a.slider("Share of tokens chosen", 0.05, 0.5, 0.15, 0.05, key=f"{key}_mlm_rate")
    seed = b.number_input("Random seed", 0, 10_000, 0, key=f"{key}_mlm_seed")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    try:
        with st.spinner("Loading the encoder's tokenizer…"):
            tokenization = service.tokenize(text, kind="sentence-encoder")
            vocabulary = [p for p in cache.arch_encoder_vocabulary() if p.isalpha() and p.islower()]
        window = tokenization.context_window
        tokens = tokenization.tokens[:window]
        example = arch.mask_for_mlm([t.piece for t in tokens], [t.special for t in tokens], vocabulary,
                                    rate=float(rate), seed=int(seed))
    except ValueError as exc:
        st.info(f"Nothing to mask here: {exc}.")
        return
    except Exception as exc:
        errors.show("The encoder's tokenizer could not run", exc)
        return
    if tokenization.n_tokens > window:
        st.caption(f"Only the first {window} tokens are used: the encoder reads at most that many.")
    st.html(_mlm_html(example))
    rows = [{"position": i, "original token": example.tokens[i], "model reads": example.inputs[i],
             "what happened": example.actions[i], "target to predict": example.targets[i]} for i in example.chosen]
    st.dataframe(rows, hide_index=True, key=f"{key}_mlm_table")
    st.caption(f"{len(example.chosen)} of {sum(not t.special for t in tokens)} ordinary tokens chosen (BERT's recipe: "
               "80 % become [MASK], 10 % a random token, 10 % stay unchanged; the model must output the original "
               "token at every chosen position).")
    st.info("The bundled all-MiniLM-L6-v2 has **no masked-LM head**: it was fine-tuned to produce sentence vectors, "
            "and its package ships only the encoder. So the app shows the input/target pairs of the MLM task with "
            "its real tokenizer, but cannot show its guesses for the hidden tokens.")


def _mlm_html(example: arch.MaskedExample) -> str:
    # Told apart by border pattern as well as by colour (orange / yellow / blue: no red-green pair), dark text on
    # light tints in either theme.
    style = {"masked": "background:#fdb863;border:2px solid #b35806;font-weight:600",
             "random": "background:#fff0c2;border:2px dashed #8c6d00",
             "kept": "background:#cfe3f2;border:3px double #2166ac",
             "": "background:#eef1f5;border:2px solid transparent"}
    spans = []
    for token, shown, action in zip(example.tokens, example.inputs, example.actions):
        title = f"{action}: the model must predict {token!r}" if action else "not chosen (no loss here)"
        spans.append(f'<span title="{html.escape(title, quote=True)}" style="display:inline-block;margin:2px;'
                     f'padding:0 5px;border-radius:4px;color:#1b1b1b;{style[action]}">{html.escape(shown)}</span>')
    swatch = lambda action, text: (f'<span style="padding:0 5px;border-radius:4px;color:#1b1b1b;{style[action]}">'
                                   f'{text}</span>')
    legend = (f'<div style="font-size:.85rem;opacity:.8;margin-top:4px;line-height:2">'
              f'{swatch("masked", "orange, solid")} replaced by [MASK] · {swatch("random", "yellow, dashed")} replaced '
              f'by a random token · {swatch("kept", "blue, double")} chosen but left unchanged · '
              f'{swatch("", "grey")} not chosen</div>')
    return ('<div style="font-family:ui-monospace,Menlo,monospace;font-size:1.05rem;line-height:2">'
            f'<b>What the encoder reads:</b><br>{"".join(spans)}</div>{legend}')


def _spans(key: str) -> None:
    text = st.text_input("A sentence to corrupt", key=f"{key}_span_text",
                         value="Thank you for inviting me to your party last week, it was a wonderful evening.")
    text = _clean_text(text, "Type a sentence to see T5's span corruption built from it.")
    if text is None:
        return
    a, b = st.columns(2)
    density = a.slider("Share of words dropped", 0.1, 0.5, 0.15, 0.05, key=f"{key}_span_density")
    seed = b.number_input("Random seed", 0, 10_000, 0, key=f"{key}_span_seed")
    try:
        example = arch.span_corruption(text, noise_density=float(density), seed=int(seed))
    except ValueError as exc:
        st.info(f"Span corruption needs more text: {exc}.")
        return
    st.markdown("**Input (what the encoder reads)**")
    st.code(example.inputs, language=None, wrap_lines=True)
    st.markdown("**Target (what the decoder must write)**")
    st.code(example.targets, language=None, wrap_lines=True)
    st.caption(f"{sum(b - a for a, b in example.spans)} of {len(example.words)} words dropped in {len(example.spans)} "
               "span(s). Each span becomes one sentinel token <extra_id_N>; the target repeats the sentinels, each "
               "followed by the words it hides, and ends with one extra sentinel. Built on words for readability; "
               "T5 does the same on its SentencePiece tokens.")
