"""Sampling lab (page 4): model size, the next-token distribution under every knob, step-through and
streaming generation.

The model's scores (logits) for a prompt are computed once and cached (cache.next_token_logits);
every knob then re-processes those cached scores with core/serving/sampling.py, so the chart redraws at once.
"""
from __future__ import annotations

import html
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard, share
from components.common.charts import PNG_ONLY
from components.common.decoder import (
    NO_PROBABILITIES,
    TOKEN_STYLE,
    coloured_tokens_html,
    context_meter,
    decoder_label,
    decoders,
    ensure_decoder,
    insides_note,
    is_remote,
    local_decoder,
    pick_decoder,
)
from components.common.generate import generate, queue_note, streaming
from components.common.palette import probability_style
from components.common.text import literal
from components.labs.inference_configuration import cache
from core.labs.inference_configuration.knobs import (
    cap_max_new_tokens,
    chart_rows,
    parse_stop_sequences,
    repeated_token_share,
    step_rows,
    trace,
)
from core.serving.sampling import SamplingSettings
from core.serving.tokens import make_visible

MAX_PROMPT_CHARS = 100_000           # longer prompts are cut here, with a note, before tokenizing
DEFAULT_PROMPT = "Tell me a short story about a dragon."
ORDER = "repetition penalty → frequency & presence penalties → temperature → top-k → top-p → draw one token"
KNOBS = {  # key suffix: (default, label)
    "temperature": 0.7, "top_k": 0, "top_p": 0.9, "repetition_penalty": 1.0,
    "frequency_penalty": 0.0, "presence_penalty": 0.0,
}
ADD_MODEL_YAML = """\
# config/models.yaml (or your own file named by GENAI_LAB_MODELS)
models:
  qwen2.5-1.5b-instruct:
    kind: causal-lm
    display_name: Qwen2.5-1.5B-Instruct
    source: {type: hub, repo_id: Qwen/Qwen2.5-1.5B-Instruct}
    description: A 1.5B chat model, better at chain-of-thought."""


def current_settings(key: str = "sampling", **extra) -> SamplingSettings:
    """The knobs as set in the sampling lab (defaults where the lab has not been shown)."""
    values = {name: st.session_state.get(f"{key}_{name}", default) for name, default in KNOBS.items()}
    values["top_k"] = int(values["top_k"])
    return SamplingSettings(**values, **extra)


def _settings_summary(s: SamplingSettings) -> str:
    parts = ["greedy (temperature 0)" if s.greedy else f"temperature {s.temperature:g}",
             f"top-k {s.top_k}" if s.top_k else "top-k off", f"top-p {s.top_p:g}" if s.top_p < 1 else "top-p off"]
    if s.repetition_penalty != 1:
        parts.append(f"repetition penalty {s.repetition_penalty:g}")
    if s.frequency_penalty or s.presence_penalty:
        parts.append(f"frequency {s.frequency_penalty:g} / presence {s.presence_penalty:g}")
    return " · ".join(parts)



# ---- 1. model size ------------------------------------------------------------------------
def show_model_size(key: str = "model_size") -> None:
    st.markdown("#### Try it: which model answers, and how big is it?")
    st.markdown("Every demo on this page and the prompting page runs on the model picked here. The bundled "
                "SmolLM2 is tiny on purpose, so it runs on any laptop; a model registered in `config/models.yaml` "
                "can be picked instead to see what more parameters buy.")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    names = list(decoders(service))
    model = pick_decoder(service, key, "Decoder used by the demos", always=True)
    rows = []
    for name in names:
        status, spec = service.status(name), service.registry.get(name)
        server = "on its server" if spec.remote else ""
        rows.append({"model": decoder_label(spec), "state": status.state.value,
                     "parameters": f"{status.parameters / 1e6:,.1f} M" if status.parameters else
                     server or "load to count",
                     "weights in memory": f"{status.memory_bytes / 1e6:,.0f} MB" if status.memory_bytes else
                     server or "–",
                     "files on disk": f"{status.disk_bytes / 1e6:,.0f} MB" if status.disk_bytes else server or "–"})
    st.dataframe(rows, hide_index=True, key=f"{key}_table")
    status = service.status(model)
    if is_remote(service, model):
        spec = service.registry.get(model)
        st.caption(f"{spec.label} runs on a model server ({spec.base_url}), so its size is not visible from here. It "
                   "writes the answers of the generation demo below, the prompting page, page 1's question, page 8's "
                   "summaries and page 11's answers; the demos that look inside a model use "
                   f"{service.registry.get(local_decoder(service)).label}.")
    elif status.parameters:
        a, b, c = st.columns(3)
        a.metric("Parameters", f"{status.parameters / 1e6:,.1f} M")
        b.metric("Weights in memory", f"{status.memory_bytes / 1e6:,.0f} MB")
        c.metric("Bytes per parameter", f"{status.memory_bytes / status.parameters:.0f}")
        st.caption(f"Running on {service.device_label}. A 7-billion-parameter model stored the same way would "
                   f"need about {7e9 * status.memory_bytes / status.parameters / 1e9:,.0f} GB just for its weights.")
    elif st.button("Load it to count its parameters", key=f"{key}_load"):
        ensure_decoder(service, model)
        st.rerun()
    if len(names) == 1:
        with st.expander("How to add a bigger model"):
            st.markdown("Add an entry to the model registry, start the app once with internet access and "
                        "`HF_HUB_OFFLINE=0` (the weights are downloaded and cached), then pick it above:")
            st.code(ADD_MODEL_YAML, language="yaml")
            st.caption("A 1.5B model needs about 6 GB of memory in float32 and answers a few times slower on a CPU.")


# ---- 2. the next-token distribution under every knob, and step-through -------------------
def _prompt_ids(service, model: str, prompt: str) -> tuple[tuple[int, ...], int]:
    """The chat prompt's token ids, cut to the window (keeping the end); and how many were dropped."""
    ids = app_cache.chat_ids((("user", prompt),), model)
    window = service.context_window_of(model)
    budget = window - 1                          # room for the one token we predict
    dropped = max(0, len(ids) - budget)
    return ids[dropped:], dropped


def _reset_path(key: str) -> None:
    st.session_state[f"{key}_path"] = []


def _append(key: str, token: dict) -> None:
    st.session_state.setdefault(f"{key}_path", []).append(token)


def _rewind(key: str) -> None:
    path = st.session_state.get(f"{key}_path", [])
    if path:
        path.pop()


def _save_branch(key: str) -> None:
    path = list(st.session_state.get(f"{key}_path", []))
    branches = st.session_state.setdefault(f"{key}_branches", [])
    if path and path not in branches:
        branches.append(path)


def _go_branch(key: str, index: int) -> None:
    st.session_state[f"{key}_path"] = list(st.session_state[f"{key}_branches"][index])


def _knobs(key: str) -> SamplingSettings | None:
    for name, default in KNOBS.items():
        st.session_state.setdefault(f"{key}_{name}", default)
    a, b, c = st.columns(3)
    a.slider("Temperature", 0.0, 2.0, step=0.05, key=f"{key}_temperature",
             help="Divides every logit. 0 = greedy: only the most likely token survives.")
    b.slider("Top-k (0 = off)", 0, 200, step=1, key=f"{key}_top_k", help="Keep only the k most likely tokens.")
    c.slider("Top-p (1 = off)", 0.0, 1.0, step=0.01, key=f"{key}_top_p",
             help="Keep the most likely tokens until their probabilities add up to p (0 keeps just the top one).")
    d, e, f = st.columns(3)
    d.slider("Repetition penalty (1 = off)", 0.5, 2.0, step=0.05, key=f"{key}_repetition_penalty",
             help="transformers-style, for every token already in the prompt or the path: divides its logit by "
                  "the penalty when the logit is positive, multiplies it when negative — so a penalty above 1 "
                  "always makes the token less likely.")
    e.slider("Frequency penalty", -2.0, 2.0, step=0.1, key=f"{key}_frequency_penalty",
             help="OpenAI-style: subtracts penalty × count for each generated token already used.")
    f.slider("Presence penalty", -2.0, 2.0, step=0.1, key=f"{key}_presence_penalty",
             help="OpenAI-style: subtracts a flat amount once a generated token has been used.")
    try:
        return current_settings(key, max_new_tokens=1)
    except ValueError as exc:
        st.warning(f"These settings cannot be used: {exc}")
        return None


def _chart(rows: list[dict], texts: list[str], key: str) -> None:
    labels = [f"{make_visible(t) or '∅'}  " for t in texts]
    # Duplicate-looking labels (two tokens that read the same) get their id, so bars never merge.
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[i] = f"{label.strip()} #{rows[i]['id']}  "
    notes = [f"✕ {r['removed_by']}" if r["removed_by"] else (f"{r['final']:.1%}" + (" (penalized)" if r["changed_by"]
             else "")) for r in rows]
    fig = go.Figure()
    fig.add_bar(y=labels, x=[r["base"] for r in rows], name="model's own probabilities", orientation="h",
                marker_color="#B0BEC5", hovertemplate="%{y}: %{x:.2%}<extra>model</extra>")
    fig.add_bar(y=labels, x=[r["final"] for r in rows], name="after your settings (what is sampled)", orientation="h",
                marker_color=["#E57373" if r["removed_by"] else "#1E88E5" for r in rows], text=notes,
                textposition="outside", cliponaxis=False, hovertemplate="%{y}: %{x:.2%}<extra>after knobs</extra>")
    top = max([r["base"] for r in rows] + [r["final"] for r in rows] + [0.01])
    fig.update_layout(barmode="group", height=max(320, 34 * len(rows) + 120), margin=dict(l=10, r=10, t=40, b=10),
                      yaxis=dict(autorange="reversed", tickfont=dict(family="monospace", size=15)),
                      xaxis=dict(tickformat=".0%", range=[0, top * 1.3], title="probability"),
                      legend=dict(orientation="h", y=1.08, x=0), font=dict(size=15))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)


def share_fields(key: str = "sampling", generation: str = "generation") -> list:
    """What a link to the sampling lab carries: the prompt, every knob, and the generation's seed, length and stop
    sequences (so a fixed seed draws the same answer for whoever opens it)."""
    return [share.Field("prompt", f"{key}_prompt", max_chars=MAX_PROMPT_CHARS),
            share.Field("temperature", f"{key}_temperature", float, 0.0, 2.0),
            share.Field("top_k", f"{key}_top_k", int, 0, 200),
            share.Field("top_p", f"{key}_top_p", float, 0.0, 1.0),
            share.Field("repetition_penalty", f"{key}_repetition_penalty", float, 0.5, 2.0),
            share.Field("frequency_penalty", f"{key}_frequency_penalty", float, -2.0, 2.0),
            share.Field("presence_penalty", f"{key}_presence_penalty", float, -2.0, 2.0),
            share.Field("seed", f"{generation}_seed", int, -1, 2**31 - 1),
            share.Field("max_new", f"{generation}_max_new", int, 0, 10_000_000),
            share.Field("stops", f"{generation}_stops", max_chars=500)]


def show_lab(key: str = "sampling") -> None:
    st.markdown("#### Try it: watch the next-token distribution as you turn each knob")
    st.markdown("The grey bars are the model's own probabilities for the next token of its answer. The blue bars "
                "are what is actually sampled after your settings; a red bar with ✕ names the step that removed it. "
                f"The steps always run in this order: **{ORDER}**.")
    share.apply(key, share_fields(key))
    st.session_state.setdefault(f"{key}_prompt", DEFAULT_PROMPT)
    prompt = st.text_area("Prompt (sent as a chat message)", key=f"{key}_prompt", height=80)
    prompt = guard.usable_text(prompt, "Type a prompt above to see the model's next-token probabilities.",
                               MAX_PROMPT_CHARS, what="The prompt", keep="last")
    if prompt is None:
        return
    settings = _knobs(key)
    n_bars = st.slider("Tokens to show", 5, 30, 12, key=f"{key}_bars")
    service = app_cache.model_service_or_none()
    if service is None or settings is None:
        return
    model = insides_note(service, "The next-token chart")
    if not ensure_decoder(service, model):
        return
    try:
        prompt_ids, dropped = _prompt_ids(service, model, prompt)
    except ValueError as exc:
        st.warning(str(exc))
        return
    # A new prompt or model starts a new path.
    signature = (model, prompt)
    if st.session_state.get(f"{key}_signature") != signature:
        st.session_state[f"{key}_signature"] = signature
        _reset_path(key)
        st.session_state[f"{key}_branches"] = []
    path = st.session_state.setdefault(f"{key}_path", [])
    window = service.context_window_of(model)
    if dropped:
        st.warning(f"The prompt is {len(prompt_ids) + dropped:,} tokens, more than the {window:,}-token window: "
                   f"the first {dropped:,} tokens are cut off and the model sees only the end.")
    path_ids = [t["id"] for t in path]
    ids = tuple(prompt_ids) + tuple(path_ids)
    ids = ids[-(window - 1):]
    with st.spinner("The model reads the prompt…"):
        logits = cache.next_token_logits(ids, model)
    import torch  # already loaded by the model service; imported here so the page text renders first

    t = trace(torch.from_numpy(np.asarray(logits)), settings, seen=ids, generated=path_ids)
    rows = chart_rows(t, n_bars)
    texts = service.token_texts([r["id"] for r in rows], model)
    st.session_state[f"{key}_rows"] = [{**r, "token": tx} for r, tx in zip(rows, texts)]   # what the chart shows
    _chart(rows, texts, key)
    a, b, c = st.columns(3)
    a.metric("Tokens still possible", f"{t.final.kept:,}", help=f"of {t.base.kept:,} in the vocabulary")
    b.metric("Top token's chance", f"{float(t.final.probs.max()):.1%}",
             delta=f"{float(t.final.probs.max() - t.base.probs.max()):+.1%} vs model")
    c.metric("Prompt + path", f"{len(ids):,} tokens")
    with st.expander("What each step did"):
        st.dataframe(step_rows(t), hide_index=True, key=f"{key}_steps",
                     column_config={"top token's chance": st.column_config.ProgressColumn(format="percent",
                                                                                         min_value=0, max_value=1)})
        st.caption("Penalties act on tokens already used: frequency and presence count the tokens of your path "
                   "below (OpenAI counts generated tokens only); the repetition penalty also counts the prompt, "
                   "including the chat template (as transformers does).")
    _step_through(service, model, key, t, path)


def _step_through(service, model: str, key: str, t, path: list[dict]) -> None:
    st.markdown("##### Step through: build the answer one token at a time")
    st.caption("Pick a token yourself, or let greedy or sampling pick it with the settings above. Rewind to go back; "
               "save a branch to compare different paths.")
    probs = t.final.probs
    stop_ids = service.stop_token_ids(model)
    candidates = [i for i in np.argsort(-probs.numpy())[:6].tolist() if probs[i] > 0]
    cand_texts = service.token_texts(candidates, model)
    cols = st.columns(max(len(candidates), 1))
    for col, tid, text in zip(cols, candidates, cand_texts):
        entry = {"id": tid, "text": text, "prob": float(t.base.probs[tid]), "how": "picked"}
        col.button(literal(make_visible(text)) or "∅", key=f"{key}_pick_{tid}", on_click=_append, args=(key, entry),
                   help=f"token id {tid} · {float(probs[tid]):.1%} after your settings", width="stretch")
    greedy_id = int(probs.argmax())
    g, smp, rew, br, clr = st.columns(5)
    g.button("Greedy", key=f"{key}_greedy", type="primary", width="stretch", on_click=_append,
             args=(key, {"id": greedy_id, "text": service.token_texts([greedy_id], model)[0],
                         "prob": float(t.base.probs[greedy_id]), "how": "greedy"}))
    if smp.button("Sample", key=f"{key}_sample", type="primary", width="stretch"):
        rng = np.random.default_rng()
        p = probs.double().numpy()
        sampled = int(rng.choice(len(p), p=p / p.sum()))
        _append(key, {"id": sampled, "text": service.token_texts([sampled], model)[0],
                      "prob": float(t.base.probs[sampled]), "how": "sampled"})
        st.rerun()
    rew.button("Rewind one token", key=f"{key}_rewind", on_click=_rewind, args=(key,), width="stretch",
               disabled=not path)
    br.button("Save as a branch", key=f"{key}_branch", on_click=_save_branch, args=(key,), width="stretch",
              disabled=not path)
    clr.button("Clear the path", key=f"{key}_clear", on_click=_reset_path, args=(key,), width="stretch",
               disabled=not path)
    if path:
        chips = "".join(_path_chip(p, p["id"] in stop_ids) for p in path)
        st.html(f'{TOKEN_STYLE}<div class="lab-out"><b>Path ({len(path)} token{"s" if len(path) != 1 else ""}):</b> '
                f'{chips}</div>')
        if path[-1]["id"] in stop_ids:
            st.info("The last token is the end-of-answer marker: a real generation would stop here.")
    else:
        st.caption("The path is empty: the chart shows the first token of the answer.")
    branches = st.session_state.get(f"{key}_branches", [])
    for i, branch in enumerate(branches):
        x, y = st.columns([5, 1])
        x.markdown(f"Branch {i + 1}: {literal(make_visible(''.join(p['text'] for p in branch)), 200)}")
        y.button("Go back to it", key=f"{key}_go_{i}", on_click=_go_branch, args=(key, i))


def _path_chip(token: dict, is_stop: bool) -> str:
    tip = f"{token['how']} · model probability {token['prob']:.1%} · id {token['id']}"
    text = "■ end of answer" if is_stop else html.escape(token["text"])
    return (f'<span class="lab-tok" style="{probability_style(token["prob"])}" '
            f'title="{html.escape(tip, True)}">{text}</span>')


# ---- 3. streaming generation, stop sequences, max new tokens, seed, N samples ------------------
def _stream_into(placeholder, stream) -> None:
    tokens = []
    with streaming(stream) as arriving:
        for token in arriving:
            tokens.append(token)
            placeholder.html(coloured_tokens_html(tokens, probabilities=stream.result.has_probabilities))
    r = stream.result
    placeholder.html(coloured_tokens_html(r.tokens, r.stop_sequence, r.stop_text, r.has_probabilities))


REFUSED_EXTRAS = "generation_refuses_extras"    # the server models that refused top-k / repetition penalty (422)
SERVER_KNOBS = ("On a model server, temperature, top-p, max new tokens, the seed and stop sequences are standard "
                "fields; top-k and the repetition penalty are extras only vLLM reads (another server that refuses "
                "them answers without them, and this page says so), and a server may ignore the penalties or the "
                "seed (`transformers serve` ignores the presence penalty).")


def refuses_extras(exc: BaseException) -> bool:
    """A model server refused the vLLM-only fields top_k / repetition_penalty (`transformers serve`: HTTP 422)."""
    return getattr(exc, "status", None) in (400, 422) and any(f in str(exc) for f in ("top_k", "repetition_penalty"))


def _server_settings(model: str, settings: SamplingSettings) -> SamplingSettings:
    """The settings as sent: without top-k and the repetition penalty once this model's server refused them."""
    if model in st.session_state.get(REFUSED_EXTRAS, set()):
        return replace(settings, top_k=0, repetition_penalty=1.0)
    return settings


def _extras_note(service, model: str, settings: SamplingSettings) -> None:
    if (settings.top_k or settings.repetition_penalty != 1.0) and \
            model in st.session_state.get(REFUSED_EXTRAS, set()):
        st.info(f"{service.registry.get(model).label}'s server refuses top-k and the repetition penalty (fields only "
                "vLLM reads), so these answers were generated without them.")


def _with_fallback(model: str, run):
    """run(): start and read the answer(s); when the server refuses the vLLM extras, remember it and run again
    without them (run reads the settings through _server_settings)."""
    try:
        return run()
    except Exception as exc:
        if not refuses_extras(exc) or model in st.session_state.get(REFUSED_EXTRAS, set()):
            raise
        st.session_state.setdefault(REFUSED_EXTRAS, set()).add(model)
        return run()


def _stop(key: str) -> None:
    stream = st.session_state.pop(f"{key}_stream", None)
    if stream is not None:
        stream.stop()


def show_generation(key: str = "generation", lab_key: str = "sampling") -> None:
    st.markdown("#### Try it: generate with your settings")
    st.markdown("The answer streams in token by token, each coloured by the probability the model gave it (blue "
                "= likely, orange with a dotted underline = a long shot that sampling picked; hover for the number). "
                "Stop sequences end the answer where they appear; "
                "max new tokens is a hard cap; a fixed seed makes sampling repeat exactly.")
    prompt = guard.usable_text(st.session_state.get(f"{lab_key}_prompt", DEFAULT_PROMPT),
                               "Type a prompt in the lab above first.", MAX_PROMPT_CHARS, keep="last", warn=False)
    if prompt is None:
        return
    try:
        base = current_settings(lab_key, max_new_tokens=1)
    except ValueError as exc:
        st.warning(f"The lab's settings cannot be used: {exc}")
        return
    st.caption(f"Prompt: “{literal(prompt, 120)}” · {_settings_summary(base)} "
               "(change them in the lab above)")
    a, b, c = st.columns([1, 1, 2])
    for name, default in (("max_new", 48), ("seed", 42), ("stops", "")):   # a shared link may have set them
        st.session_state.setdefault(f"{key}_{name}", default)
    requested = a.number_input("Max new tokens", min_value=0, max_value=10_000_000, step=16, key=f"{key}_max_new")
    seed = b.number_input("Seed (-1 = random)", min_value=-1, max_value=2**31 - 1, key=f"{key}_seed")
    stop_text = c.text_area("Stop sequences (one per line; \\n = line break)", height=68,
                            key=f"{key}_stops", placeholder="e.g.  .   or  \\n")
    share.link(lab_key, share_fields(lab_key, key), "the same prompt, knobs, seed and length")
    stops, notes = parse_stop_sequences(stop_text or "")
    for note in notes:
        st.warning(note)
    service = app_cache.model_service_or_none()
    if service is None:
        return
    model = pick_decoder(service, key)
    if not ensure_decoder(service, model):
        return
    remote = is_remote(service, model)
    if remote:                     # no tokenizer here: the server counts the prompt, the app caps the answer only
        window, prompt_len = 0, 0
        max_new, note = cap_max_new_tokens(requested, 0, 10**9)
        st.caption(SERVER_KNOBS)
    else:
        window = service.context_window_of(model)
        try:
            prompt_len = len(app_cache.chat_ids((("user", prompt),), model))
        except ValueError as exc:
            st.warning(str(exc))
            return
        max_new, note = cap_max_new_tokens(requested, min(prompt_len, window - 2), window)
    if note:
        st.warning(note)
    settings = replace(base, max_new_tokens=max_new, stop_sequences=stops,
                       seed=None if seed is None or seed < 0 else int(seed))
    messages = [{"role": "user", "content": prompt}]
    if st.button("Generate", key=f"{key}_run", type="primary"):
        # Stop's callback cancels the request and waits for its end to be recorded (the page's next run starts at
        # once, in a new thread, while this one still waits for a token: Streamlit's fast reruns). The tokens so
        # far stay in `result`, saved before the first token, and show as a stopped answer.
        stop_box = st.empty()
        stop_box.button("Stop generating", key=f"{key}_stop", icon=":material/stop_circle:", on_click=_stop,
                        args=(key,))
        placeholder = st.empty()

        def run() -> None:
            stream = generate(service, messages, _server_settings(model, settings), model=model)
            st.session_state[f"{key}_last"] = (stream.result, stops)
            st.session_state[f"{key}_stream"] = stream
            queue_note(placeholder, stream)
            _stream_into(placeholder, stream)
        with errors.shown("The model could not answer"):
            _with_fallback(model, run)
        st.session_state.pop(f"{key}_stream", None)
        stop_box.empty()
    elif f"{key}_last" in st.session_state:
        result, _ = st.session_state[f"{key}_last"]
        st.html(coloured_tokens_html(result.tokens, result.stop_sequence, result.stop_text, result.has_probabilities))
    if remote:
        _extras_note(service, model, settings)
    if f"{key}_last" in st.session_state:
        result, used_stops = st.session_state[f"{key}_last"]
        if not result.has_probabilities:
            st.caption(NO_PROBABILITIES)
        _explain_stop(result, used_stops)
        x, y, z = st.columns(3)
        x.metric("New tokens", f"{len(result.tokens):,}")
        y.metric("Tokens per second", f"{result.tokens_per_second:.1f}")
        z.metric("First token after", f"{result.seconds_to_first_token:.2f} s")
        if result.truncated_prompt_tokens:
            st.warning(f"The prompt did not fit: its first {result.truncated_prompt_tokens:,} tokens were cut.")
        if remote:
            _server_window_note(result.prompt_tokens)
        else:
            context_meter(result.prompt_tokens + len(result.tokens), window,
                          f"{result.prompt_tokens:,} prompt + {len(result.tokens):,} generated")
    elif remote:
        _server_window_note(0)
    else:
        context_meter(min(prompt_len, window), window, f"{min(prompt_len, window):,} prompt tokens")
    st.markdown("##### How varied is sampling? Draw several answers")
    pick, go = st.columns([3, 1], vertical_alignment="bottom")
    n = pick.slider("Answers to draw", 2, 8, 4, key=f"{key}_n")
    if go.button(f"Sample {n} answers", key=f"{key}_many"):
        short = replace(settings, max_new_tokens=min(settings.max_new_tokens, 32))
        bar = st.progress(0.0, text="Sampling…")

        def run() -> None:
            # All n go in at once: the service runs them together in one batch (core/serving/batching.py).
            sent = _server_settings(model, short)
            streams = [generate(service, messages, replace(sent, seed=None if sent.seed is None else sent.seed + i),
                                model=model, replace=i == 0)
                       for i in range(n)]
            results = []
            for i, stream in enumerate(streams):
                results.append(stream.collect())
                bar.progress((i + 1) / n, text=f"Answer {i + 1} of {n}")
            st.session_state[f"{key}_samples"] = (results, sent)
        with errors.shown("The model could not answer"):
            _with_fallback(model, run)
        bar.empty()
    if f"{key}_samples" in st.session_state:
        results, short = st.session_state[f"{key}_samples"]
        texts = [r.text for r in results]
        # A server sends no token ids (-1): its tokens are told apart by their text.
        shares = [repeated_token_share([t.id if t.id >= 0 else t.text for t in r.tokens]) for r in results]
        p, q = st.columns(2)
        p.metric("Distinct answers", f"{len(set(texts))} of {len(texts)}")
        q.metric("Repeated tokens (mean)", f"{np.mean(shares):.0%}",
                 help="Share of each answer's tokens that repeat a token used earlier in the same answer.")
        st.dataframe([{"#": i + 1, "answer": make_visible(tx), "tokens": len(r.tokens), "repeated tokens": sh,
                       "ended by": r.stop_reason} for i, (tx, r, sh) in enumerate(zip(texts, results, shares))],
                     hide_index=True, key=f"{key}_samples_table",
                     column_config={"repeated tokens": st.column_config.NumberColumn(format="percent")})
        st.caption(f"Drawn with {_settings_summary(short)}, up to {short.max_new_tokens} tokens each"
                   + (f", seeds {short.seed}…{short.seed + len(results) - 1}." if short.seed is not None else
                      ", random seeds."))


def _server_window_note(prompt_tokens: int) -> None:
    counted = f" (it counted {prompt_tokens:,} prompt tokens)" if prompt_tokens else ""
    st.caption(f"The context meter needs the model's tokenizer in this app; a server model's prompt is counted by "
               f"its server{counted}.")


def _explain_stop(result, stops: tuple[str, ...]) -> None:
    reason = result.stop_reason
    if reason == "stop_sequence":
        st.success(f"Stopped at the stop sequence “{literal(make_visible(result.stop_sequence))}” (marked in red); "
                   "the text from there on is not part of the answer.")
    elif reason == "max_new_tokens":
        st.info(f"Stopped because it reached the max new tokens limit ({result.max_new_tokens:,}): the answer may be "
                "cut mid-sentence.")
    elif reason == "eos":
        st.caption("The model ended the answer itself with its end-of-answer token.")
    elif reason == "cancelled":
        st.info("Stopped before the end: you pressed Stop, or a newer request from this browser replaced this one "
                "(one answer per browser at a time). What had arrived is shown.")
    elif reason:
        st.warning(f"Generation ended early: {reason}")
    if stops and reason != "stop_sequence":
        st.caption("None of your stop sequences appeared in this answer: "
                   + ", ".join(f"“{literal(make_visible(s))}”" for s in stops) + ".")
