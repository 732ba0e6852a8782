"""Page 1 demo: ask the bundled model something it cannot know; every token of its answer is coloured by
the probability the model gave it, to show that fluent (and even confident) is not the same as true.

A learner may pick a model on a model server instead (components/common/decoder.py): vLLM sends each token's
log-probability and the colours work the same; a server that sends none (`transformers serve`) gets the plain text
and one sentence saying so."""
from __future__ import annotations

import html

import streamlit as st

from components.common import cache as app_cache
from components.common import errors, guard, palette
from components.common.decoder import NO_PROBABILITIES, ensure_decoder, pick_decoder
from components.common.generate import generate, queue_note, streaming
from components.common.text import literal

MAX_QUESTION_CHARS = 1_000    # a longer question is cut (with a note)
MAX_NEW_TOKENS = 60          # default answer length; the learner can choose 16-150

PRESETS = {
    "How is Batman? (the lesson's example)": "How is Batman?",
    "A future event": "Who won the 2031 FIFA World Cup, and what was the final score?",
    "A person it never heard of": "What is Dr. Elena Marchetti-Voss famous for?",
    "A made-up book": "Summarise chapter 3 of the novel 'The Glass Orchard' by Miriam Lethe.",
    "Something only you know": "What did I have for breakfast this morning?",
    "A real fact (for contrast)": "What is the capital of France?",
}

# (lowest probability of the band, colour, label) — from most to least confident.
# Blue for confident, orange for a guess (palette.py: no red–green); the guess band is also underlined.
BANDS = ((0.8, palette.probability_colour(0.9), "80–100 % (confident)"),
         (0.5, palette.probability_colour(0.65), "50–80 %"),
         (0.2, palette.probability_colour(0.35), "20–50 %"),
         (0.0, palette.probability_colour(0.05), "under 20 % (a guess)"))


def band(prob: float) -> tuple[str, str]:
    for low, colour, label in BANDS:
        if prob >= low:
            return colour, label
    return BANDS[-1][1], BANDS[-1][2]


def token_prob(token) -> float:
    """The model's own probability for a generated token (before sampling settings reshaped it)."""
    model_prob = getattr(token, "model_prob", 0.0) or 0.0
    return float(model_prob if model_prob > 0 else token.prob)


def answer_html(tokens: list[tuple[str, float, int]], streaming: bool = False, probabilities: bool = True) -> str:
    """Escaped HTML: each (text, probability, rank) as a coloured span with a tooltip (`probabilities=False`: a
    model server sent none, the plain text)."""
    spans = []
    for text, prob, rank in tokens:
        if not text:
            continue
        if not probabilities:
            spans.append(html.escape(text).replace("\n", "<br>"))
            continue
        colour, _ = band(prob)
        title = f"probability {prob:.1%} · rank {rank} among all tokens"
        body = html.escape(text).replace("\n", "<br>")
        mark = f"{palette.LONG_SHOT_MARK};" if prob < BANDS[-2][0] else ""
        spans.append(f'<span title="{html.escape(title, quote=True)}" style="background:{colour};{mark}'
                     f'border-radius:3px;padding:1px 0">{body}</span>')
    cursor = '<span style="opacity:.5">▌</span>' if streaming else ""
    return ('<div style="font-size:1.15rem;line-height:1.9;padding:10px 12px;border:1px solid #ddd;'
            f'border-radius:8px;background:#fff;color:#1b1b1b">{"".join(spans) or "…"}{cursor}</div>')


def legend_html() -> str:
    items = "".join(f'<span style="background:{c};color:{palette.TEXT_ON_TINT};padding:1px 8px;border-radius:3px;'
                    f'margin-right:8px;{palette.LONG_SHOT_MARK if low == 0 else ""}">{html.escape(lbl)}</span>'
                    for low, c, lbl in BANDS)
    return f'<div style="font-size:.9rem;margin:6px 0">Probability the model gave each token: {items}</div>'


def _on_preset(key: str) -> None:
    choice = st.session_state.get(f"{key}_preset")
    if choice in PRESETS:
        st.session_state[f"{key}_question"] = PRESETS[choice]


def _generate(service, model: str, question: str, temperature: float, seed: int, length: int,
              key: str) -> dict | None:
    from core.serving.sampling import SamplingSettings

    if not ensure_decoder(service, model):
        return None
    settings = SamplingSettings(temperature=temperature, top_k=0, top_p=1.0, max_new_tokens=length, seed=seed)
    # Pressing "Stop the answer" reruns the page, which ends this run and closes the stream (the model drops the
    # request); the tokens so far are kept in the session and shown as a stopped answer (see show()).
    stop_box = st.empty()
    stop_box.button("Stop the answer", key=f"{key}_stop", icon=":material/stop_circle:")
    placeholder = st.empty()
    tokens: list[tuple[str, float, int]] = []
    label = service.registry.get(model).label
    partial = {"question": question, "tokens": tokens, "stop": "cancelled", "temperature": temperature, "seed": seed,
               "length": length, "model": label, "probabilities": True}
    st.session_state[f"{key}_partial"] = partial
    try:
        stream = generate(service, [{"role": "user", "content": question}], settings, model=model)
        queue_note(placeholder, stream)
        with streaming(stream) as arriving:      # tokens arrive one by one: draw each as it comes
            for token in arriving:
                partial["probabilities"] = stream.result.has_probabilities
                tokens.append((token.text, token_prob(token), int(token.rank)))
                placeholder.html(answer_html(tokens, streaming=True, probabilities=partial["probabilities"]))
    except Exception as exc:
        st.session_state.pop(f"{key}_partial", None)
        placeholder.empty()
        stop_box.empty()
        errors.show(f"{label} could not answer", exc)
        return None
    st.session_state.pop(f"{key}_partial", None)
    placeholder.empty()
    stop_box.empty()
    return dict(partial, stop=stream.result.stop_reason)


def _summary(result: dict) -> None:
    probs = [p for t, p, _ in result["tokens"] if t]
    if not probs:
        st.info("The model ended its answer at once, without a single visible token. Try another question.")
        return
    if not result.get("probabilities", True):
        st.caption(NO_PROBABILITIES)
        return
    a, b, c = st.columns(3)
    a.metric("Tokens", len(probs))
    b.metric("Average probability", f"{sum(probs) / len(probs):.0%}")
    c.metric("Tokens under 20 %", sum(p < 0.2 for p in probs))
    weakest = sorted((p, t) for t, p, _ in result["tokens"] if t.strip())[:5]
    if weakest:
        st.caption("Least likely choices: " + " · ".join(f"“{literal(t.strip())}” {p:.0%}" for p, t in weakest))
    if result["stop"] == "cancelled":
        st.caption("Stopped before the end: this is the answer up to that point.")
    if result["stop"] == "max_new_tokens":
        st.caption(f"The answer was cut at {result['length']} tokens (see “Longest answer”).")


def show(key: str = "hallucination") -> None:
    st.markdown("#### Try it: ask the model something it cannot know")
    st.markdown("SmolLM2 is a small chat model with no internet and no memory of you. Ask it something it cannot "
                "know and watch it answer anyway. Each token is coloured by the probability the model gave it when "
                "it chose it: this shows how *sure* the model was of its wording, **not** whether the answer is true.")
    st.session_state.setdefault(f"{key}_question", PRESETS["How is Batman? (the lesson's example)"])
    st.selectbox("Pick a question", ["—"] + list(PRESETS), key=f"{key}_preset", on_change=_on_preset, args=(key,))
    question = st.text_input("Your question", key=f"{key}_question", max_chars=None)
    a, b, c = st.columns(3)
    temperature = a.select_slider("Temperature", options=[0.0, 0.3, 0.7, 1.0, 1.3], value=0.7, key=f"{key}_temperature",
                                  help="0 always takes the most likely token; higher values take more risks.")
    seed = b.number_input("Random seed", min_value=0, max_value=1_000_000, value=0, step=1, key=f"{key}_seed",
                          help="The same question, temperature and seed give the same answer.")
    length = c.slider("Longest answer (tokens)", 16, 150, MAX_NEW_TOKENS, key=f"{key}_length")
    service = app_cache.model_service_or_none()
    if service is None:
        return
    model = pick_decoder(service, key)
    spec = service.registry.get(model)
    asked = st.button("Ask SmolLM2" if model == service.registry.default_decoder and not spec.remote else
                      f"Ask {spec.label}", key=f"{key}_ask", type="primary")
    if asked:
        question = guard.usable_text(question, "Type a question first (or pick one above).", MAX_QUESTION_CHARS,
                                     what="Your question", used="sent")
        if question is None:
            return
        result = _generate(service, model, question, float(temperature), int(seed), int(length), key)
        if result is None:
            return
        st.session_state[f"{key}_result"] = result
    elif f"{key}_partial" in st.session_state:  # the last run was stopped (Stop, or another widget) mid-answer
        st.session_state[f"{key}_result"] = st.session_state.pop(f"{key}_partial")
    result = st.session_state.get(f"{key}_result")
    if not result:
        st.caption("Press the button to ask. The answer is written token by token, as the model produces it.")
        return
    asked_html = f'<div style="margin-bottom:6px"><b>You asked:</b> {html.escape(result["question"])}</div>'
    probabilities = result.get("probabilities", True)
    st.html(asked_html + (legend_html() if probabilities else "")
            + answer_html(result["tokens"], probabilities=probabilities))
    _summary(result)
    st.caption(f"temperature {result['temperature']}, seed {result['seed']}. Hover a token to see its probability.")
    st.markdown("**Fluent is not true.** A high probability means the words fit well together, given the question. "
                "The model has no source to check and no way to say “I have no information” unless training made "
                "that phrase likely. Look for confident green stretches inside a made-up answer: that is a "
                "hallucination. Then try the real fact preset for contrast.")
