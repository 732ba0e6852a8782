"""Prompt builder (page 3): pick a task, choose zero/one/few-shot, edit the examples, see the exact text the
model receives (chat template included) and compare zero-, one- and few-shot answers side by side."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard, share
from components.common.charts import PNG_ONLY
from components.common.decoder import (
    NO_PROBABILITIES,
    coloured_tokens_html,
    context_meter,
    decoder_label,
    ensure_decoder,
    insides_note,
    is_remote,
    pick_decoder,
)
from components.common.generate import generate, queue_note, streaming
from components.common.text import literal
from components.labs.prompt_engineering import cache
from core.labs.prompt_engineering.prompting import MAX_INPUT_CHARS, SHOTS, Example, build_prompt, grade
from core.serving.sampling import SamplingSettings


def _examples_state(key: str, task) -> list[dict]:
    state_key = f"{key}_examples_{task.id}"
    if state_key not in st.session_state:
        st.session_state[state_key] = [{"input": e.input, "answer": e.answer, "reason": e.reason}
                                       for e in task.examples]
    return st.session_state[state_key]


def _clean_examples(rows) -> tuple[list[Example], int]:
    """Usable examples from the editor's rows, and how many rows were skipped (empty input or answer)."""
    out, skipped = [], 0
    for row in rows or []:
        get = (lambda k: row.get(k)) if isinstance(row, dict) else (lambda k: None)
        text, answer, reason = (str(get(k) or "").strip() for k in ("input", "answer", "reason"))
        if text and answer:
            out.append(Example(text[:MAX_INPUT_CHARS], answer[:MAX_INPUT_CHARS], reason[:MAX_INPUT_CHARS]))
        elif text or answer:
            skipped += 1
    return out, skipped


def _editor_rows(edited) -> list[dict]:
    if hasattr(edited, "to_dict"):
        return edited.to_dict("records")
    return list(edited or [])


def _run(service, model: str, prompt: str, task, placeholder, caption_slot, max_new: int) -> dict:
    settings = SamplingSettings(temperature=0.0, max_new_tokens=max_new, stop_sequences=(f"{task.input_label}:",))
    stream = generate(service, [{"role": "user", "content": prompt}], settings, model=model)
    queue_note(placeholder, stream)
    tokens = []
    with streaming(stream) as arriving:
        for token in arriving:
            tokens.append(token)
            placeholder.html(coloured_tokens_html(tokens, probabilities=stream.result.has_probabilities))
    r = stream.result
    out = {"text": r.text, "tokens": r.tokens, "n": len(r.tokens), "seconds": r.seconds, "stop": r.stop_reason,
           "prompt_tokens": r.prompt_tokens, "dropped": r.truncated_prompt_tokens, "probabilities": r.has_probabilities}
    _show_result(out, task, placeholder, caption_slot)
    return out


def _show_result(out: dict, task, placeholder, caption_slot) -> None:
    probabilities = out.get("probabilities", True)
    placeholder.html(coloured_tokens_html(out["tokens"], probabilities=probabilities))
    caption = f"{out['n']} token{'s' if out['n'] != 1 else ''} in {out['seconds']:.1f} s"
    if out["prompt_tokens"]:                     # a model server may not count them
        caption += f" · prompt {out['prompt_tokens']:,} tokens"
    if out.get("expected"):
        got, right = grade(task, out["text"], out["expected"])
        caption += f" · extracted answer: {literal(got) if got else 'none found'} " + ("✓" if right else "✗")
    if out["stop"] == "max_new_tokens":
        caption += " · cut at the token limit"
    if out["dropped"]:
        caption += f" · the first {out['dropped']:,} prompt tokens did not fit and were cut"
    if not probabilities:
        caption += f" · {NO_PROBABILITIES}"
    caption_slot.caption(caption)


def _server_prompt(service, model: str, prompt: str) -> None:
    """What a server model receives: the chat message; its server applies the chat template and counts tokens."""
    st.markdown(f"**Message sent to {decoder_label(service.registry.get(model))}**")
    st.code(prompt if len(prompt) < 6000 else prompt[:3000] + "\n…\n" + prompt[-3000:], language=None,
            wrap_lines=True)
    st.caption("The server wraps it in the model's chat template and counts its tokens itself: the exact templated "
               "text and the context meter need the model's tokenizer in this app.")


LABEL_COLOURS = ("#43A047", "#E53935", "#1E88E5", "#FB8C00")
ODDS_MAX_TOKENS = 1_000          # the label odds read the zero-, one- and few-shot prompts: three forward passes


def _label_odds(service, model: str, task, prompts: dict[str, str], key: str) -> None:
    """Before any answer is written: how likely the reply starts with each label, under each prompting style."""
    if not ensure_decoder(service, model):           # a progress bar the first time the model loads
        return
    try:
        with st.spinner("Reading the model's odds for each label…"):
            odds = {name: cache.label_odds(p, tuple(task.labels), model) for name, p in prompts.items()}
    except Exception as exc:
        errors.show("The label odds could not be computed", exc, "warning")
        return
    st.markdown("**The model's odds for each label, before it writes a word**")
    fig = go.Figure()
    for i, label in enumerate(task.labels):
        fig.add_trace(go.Bar(name=f"P({label})", x=list(odds), y=[odds[n][label] for n in odds],
                             marker_color=LABEL_COLOURS[i % len(LABEL_COLOURS)],
                             text=[f"{odds[n][label]:.1%}" for n in odds], textposition="outside", cliponaxis=False))
    fig.update_layout(barmode="group", height=320, margin=dict(l=10, r=10, t=30, b=10), font=dict(size=14),
                      yaxis=dict(range=[0, 1.1], tickformat=".0%", title="probability of the first word"),
                      legend=dict(orientation="h", y=1.15))
    st.plotly_chart(fig, key=f"{key}_odds", config=PNG_ONLY)
    first, last = list(odds)[0], list(odds)[-1]

    def share(name: str, label: str) -> float:
        total = sum(odds[name].values())
        return odds[name][label] / total if total else 0.0
    moves = ", ".join(f"P({label}) {odds[first][label]:.0%} → {odds[last][label]:.0%}" for label in task.labels)
    shares = ", ".join(f"{label} {share(first, label):.0%} → {share(last, label):.0%}" for label in task.labels)
    st.caption(f"From {first} to {last}: {moves}; as a share of the labels only: {shares}. The model writes the "
               "most likely start, so worked examples can move these odds well before the written label changes. "
               "A 135M model often keeps a bias toward one label whatever the review says; the bench below "
               "measures it. The rest of the probability goes to other first words (“The”, “I”…).")


def show(key: str = "prompt_builder") -> None:
    st.markdown("#### Try it: build a prompt and compare zero-, one- and few-shot")
    st.markdown("Pick a task, type an input and choose how many worked examples go into the prompt. Below you see the "
                "exact text the model receives — the chat template wraps your message in special tokens — and how "
                "many tokens it costs. Then run it, or run all three styles side by side (greedy decoding, so the "
                "comparison is fair).")
    try:
        tasks = cache.prompt_tasks()
    except Exception as exc:  # a broken data file must not take the page down
        errors.show("The task presets could not be loaded", exc)
        return
    linked = st.query_params.get(f"{key}.task")
    shown = linked if linked in tasks else st.session_state.get(f"{key}_task", next(iter(tasks)))
    fields = [share.Field("task", f"{key}_task", choices=tuple(tasks)),
              share.Field("input", f"{key}_input_{shown}", max_chars=MAX_INPUT_CHARS),
              share.Field("shots", f"{key}_shots", choices=tuple(SHOTS)), share.Field("cot", f"{key}_cot", bool)]
    share.apply(key, fields)
    task_id = st.selectbox("Task", list(tasks), format_func=lambda t: tasks[t].name, key=f"{key}_task")
    task = tasks[task_id]
    input_key = f"{key}_input_{task.id}"
    st.session_state.setdefault(input_key, task.sample_input)
    query = st.text_area(f"Your input ({task.input_label})", key=input_key, height=90)
    shots = st.radio("Examples in the prompt", list(SHOTS), horizontal=True, key=f"{key}_shots",
                     format_func=lambda s: f"{s} ({SHOTS[s]})")
    cot = st.toggle("Chain of thought (ask for the steps, examples show their reasoning)", key=f"{key}_cot")
    share.link(key, [fields[0], share.Field("input", input_key, max_chars=MAX_INPUT_CHARS), *fields[2:]],
               "this task, input, number of examples and chain-of-thought switch (the worked examples are the "
               "task's own)")
    with st.expander("Edit the worked examples (used by one- and few-shot)"):
        edited = st.data_editor(_examples_state(key, task), num_rows="dynamic", key=f"{key}_editor_{task.id}",
                                column_config={"input": st.column_config.TextColumn(task.input_label, width="large"),
                                               "answer": st.column_config.TextColumn(task.output_label),
                                               "reason": st.column_config.TextColumn("reasoning (chain of thought)")},
                                hide_index=True)
        examples, skipped = _clean_examples(_editor_rows(edited))
        if skipped:
            st.warning(f"{skipped} example(s) without both an input and an answer are left out.")
        st.caption("Tip: mislabel an example on purpose and watch the few-shot answer follow it.")
    query = guard.usable_text(query, "Type an input above to build the prompt.", MAX_INPUT_CHARS, what="Your input")
    if query is None:
        return
    wanted = SHOTS[shots]
    if wanted > len(examples):
        st.warning(f"{shots} needs {wanted} example(s); only {len(examples)} usable one(s) in the table.")
    prompt = build_prompt(task, query, examples[:wanted], cot)
    # Each style's prompt, as it is built now: the comparison's answers belong to exactly these prompts.
    prompts = {name: build_prompt(task, query, examples[:n], cot) for name, n in SHOTS.items()}

    service = app_cache.model_service_or_none()
    if service is None:
        return
    model = pick_decoder(service, key)
    max_new = 96 if cot else task.max_new_tokens
    if is_remote(service, model):
        _server_prompt(service, model, prompt)
        # The label odds read next-token scores: the model in this app gives them, counted by its own tokenizer.
        odds_model = insides_note(service, "The label odds chart") if task.kind == "label" else model
        try:
            n_tokens = len(app_cache.chat_ids((("user", prompt),), odds_model)) if task.kind == "label" else 0
        except Exception as exc:             # no model in this app to read the odds with
            errors.show("The label odds cannot be read", exc, "warning")
            odds_model, n_tokens = "", 0
    else:
        odds_model = model
        try:
            with st.spinner("Loading the tokenizer…"):
                sent = app_cache.chat_prompt_text((("user", prompt),), model)
                n_tokens = len(app_cache.chat_ids((("user", prompt),), model))
        except Exception as exc:
            errors.show("The prompt could not be prepared", exc, "warning")
            return
        window = service.context_window_of(model)
        st.markdown(f"**Exact text sent to {service.registry.get(model).label}** — {n_tokens:,} tokens")
        st.code(sent if len(sent) < 6000 else sent[:3000] + "\n…\n" + sent[-3000:], language=None, wrap_lines=True)
        context_meter(n_tokens, window, "prompt")
        if n_tokens + max_new > window:
            st.warning(f"The prompt plus a {max_new}-token answer does not fit the {window:,}-token window: the start "
                       "of the prompt will be cut so the end (your input) is kept.")
        st.caption("Special tokens such as <|im_start|> mark who speaks; the model was trained with them.")

    if task.kind == "label" and task.labels and odds_model:
        if n_tokens > ODDS_MAX_TOKENS:
            st.caption(f"The label odds are skipped for prompts over {ODDS_MAX_TOKENS:,} tokens: reading three such "
                       "prompts would hold the shared model for most of a minute on a CPU. Shorten the input to see "
                       "them.")
        else:
            _label_odds(service, odds_model, task, prompts, key)

    expected = None
    if task.kind != "text":
        expected = st.text_input("Expected answer (optional, to check the reply)", key=f"{key}_expected_{task.id}")
    one, compare = st.columns(2)
    run_one = one.button("Run this prompt", key=f"{key}_run", type="primary")
    run_all = compare.button("Compare zero / one / few-shot", key=f"{key}_compare")
    if run_one or run_all:
        if not ensure_decoder(service, model):
            return
    # Saved answers are shown again only for exactly what was sent: the same messages to the same model with the
    # same answer budget (editing an example, the input or the model makes them stale); the expected answer is
    # the one typed now.
    single_key = (model, (("user", prompt),), max_new)
    if run_one:
        slot, cap = st.empty(), st.empty()
        with errors.shown("The model could not answer"):
            out = _run(service, model, prompt, task, slot, cap, max_new)
            st.session_state[f"{key}_single"] = (single_key, out)
            _show_result({**out, "expected": expected}, task, slot, cap)
    elif st.session_state.get(f"{key}_single", (None,))[0] == single_key:
        _show_result({**st.session_state[f"{key}_single"][1], "expected": expected}, task, st.empty(), st.empty())
    compare_key = (model, tuple((name, (("user", p),)) for name, p in prompts.items()), max_new)
    if run_all or st.session_state.get(f"{key}_compare_key") == compare_key:
        cols = st.columns(3)
        saved = st.session_state.get(f"{key}_compare_results", {}) if not run_all else {}
        for col, name in zip(cols, SHOTS):
            with col:
                st.markdown(f"**{name}**")
                slot, cap = st.empty(), st.empty()
                if run_all:
                    with errors.shown("The model could not answer"):
                        saved[name] = _run(service, model, prompts[name], task, slot, cap, max_new)
                        _show_result({**saved[name], "expected": expected}, task, slot, cap)
                elif name in saved:
                    _show_result({**saved[name], "expected": expected}, task, slot, cap)
        st.session_state[f"{key}_compare_results"] = saved
        st.session_state[f"{key}_compare_key"] = compare_key
        st.caption("Colours show how sure the model was of each token (green = likely, red = unlikely).")
