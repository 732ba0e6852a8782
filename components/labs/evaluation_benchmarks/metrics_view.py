"""ROUGE and BLEU counting in front of the learner (page 8), and the cases that fool them.

The numbers shown are the reference libraries' (rouge-score, sacrebleu); the highlighting comes from
core/labs/evaluation_benchmarks/metrics.py, which the tests hold to the same numbers on hundreds of generated pairs."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import errors, share
from components.common.charts import PNG_ONLY
from components.common.model_status import load_with_progress
from components.common.text import literal
from components.labs.evaluation_benchmarks import cache
from components.labs.evaluation_benchmarks.highlight import STYLE, marked_html
from core.labs.evaluation_benchmarks import metrics as mx

MAX_CHARS = 100_000
MAX_REFERENCES = 8
KIND_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"}

# name -> (references, candidate, what it shows). The first ones are the lesson's worked examples.
PRESETS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "Worked example: “very cold”": (("It is cold outside",), "It is very cold outside",
                                    "One extra word: recall stays perfect, precision drops."),
    "Meaning flipped: “not cold”": (("It is cold outside",), "It is not cold outside",
                                    "The opposite meaning scores exactly like “very cold”."),
    "Same words shuffled": (("It is cold outside",), "Outside cold it is",
                            "ROUGE-1 is perfect; only the longer n-grams and the LCS notice the order."),
    "BLEU: short output": (("The cat is on the mat",), "The cat is on",
                           "Every precision is 1, but the brevity penalty pulls BLEU down."),
    "BLEU: no 4-gram match": (("The cat is on the mat",), "The cat sat on the mat",
                              "No shared 4-gram: unsmoothed BLEU is 0. Try a smoothing method."),
    "Repeated word (clipping)": (("The cat is on the mat",), "the the the the the the",
                                 "Clipping: “the” counts at most twice, as often as in the reference."),
    "Correct paraphrase, low score": (("It is cold outside",), "The weather out there is freezing",
                                      "Right meaning, almost no shared words: the n-gram metrics see nothing."),
    "Wrong answer, high score": (("The meeting is on Monday at 10 am in room 4",),
                                 "The meeting is on Friday at 3 pm in room 4",
                                 "Wrong day and time, yet most words and pairs match."),
    "Two references": (("It is cold outside", "It is freezing out there"), "It is freezing outside",
                       "Several references: ROUGE keeps the best one, BLEU counts against all of them at once."),
    "Non-Latin script": (("東京は日本の首都です",), "東京は日本の首都だ",
                         "rouge-score's tokenizer keeps only a–z and 0–9: no tokens, ROUGE 0. BLEU's “char” "
                         "tokenizer can score it."),
}
FAILURE_CASES = ["Meaning flipped: “not cold”", "Same words shuffled", "Repeated word (clipping)",
                 "Correct paraphrase, low score", "Wrong answer, high score"]
SAME_MEANING = {"Meaning flipped: “not cold”": "no", "Same words shuffled": "garbled",
                "Repeated word (clipping)": "no", "Correct paraphrase, low score": "yes",
                "Wrong answer, high score": "no"}


_ORDERS = {1: "one", 2: "two", 3: "three", 4: "four"}


def _mean_label(orders: int) -> str:
    """What the geometric mean averages: sentence BLEU uses only the n-gram orders a short output has."""
    if orders <= 0:
        return "Geometric mean of the precisions (nothing matched, so 0)"
    label = f"Geometric mean of the {_ORDERS.get(orders, orders)} precisions"
    return label if orders == mx.BLEU_MAX_ORDER else label + (
        " (an output this short has no longer n-grams: effective order)")


def _fraction(a: int, b: int, value: float) -> str:
    return f"{a}/{b} = {value:.3f}" if b else "— (nothing to count)"


def _references(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _apply_preset(key: str) -> None:
    refs, cand, _ = PRESETS[st.session_state[f"{key}_preset"]]
    st.session_state[f"{key}_refs"] = "\n".join(refs)
    st.session_state[f"{key}_cand"] = cand


def _rouge_section(cand: str, refs: list[str], stem: bool, key: str) -> None:
    st.markdown("##### ROUGE")
    results = {kind: mx.rouge(cand, refs, kind, stem=stem) for kind in mx.ROUGE_KINDS}
    library = {kind: mx.rouge_reference(cand, refs, kind, stem=stem) for kind in mx.ROUGE_KINDS}
    rows = []
    for kind, r in results.items():
        unit = "words in the LCS" if kind == "rougeL" else ("word pairs" if kind == "rouge2" else "words")
        rows.append({"metric": KIND_NAMES[kind], "matches": f"{r.matches} {unit}",
                     "recall = matches ÷ reference": _fraction(r.matches, r.reference_total, r.recall),
                     "precision = matches ÷ output": _fraction(r.matches, r.candidate_total, r.precision),
                     "F1": f"{r.f1:.3f}", "rouge-score's F1": f"{library[kind][2]:.3f}"})
    st.dataframe(rows, hide_index=True, key=f"{key}_rouge_table")
    kind = st.radio("Highlight the matches of", list(mx.ROUGE_KINDS), format_func=KIND_NAMES.get, horizontal=True,
                    key=f"{key}_kind")
    r = results[kind]
    if len(refs) > 1:
        st.caption(f"Best of {len(refs)} references for {KIND_NAMES[kind]}: reference {r.reference_index + 1} "
                   "(rouge-score keeps the reference with the highest F1).")
    st.html(STYLE + marked_html(refs[r.reference_index], [(t.start, t.end) for t in r.reference_tokens],
                                r.reference_marks, "Reference")
            + marked_html(cand, [(t.start, t.end) for t in r.candidate_tokens], r.candidate_marks, "Output"))
    tokens = [t.text for t in r.candidate_tokens]
    shown = " · ".join(tokens[:40]) + (" …" if len(tokens) > 40 else "")
    st.caption(f"rouge-score reads the output as {len(tokens)} tokens: {literal(shown) or '(none)'}"
               + (" (stemmed)" if stem else ""))
    if r.note:
        st.caption(literal(r.note))


def _bleu_section(cand: str, refs: list[str], tokenize: str, smooth: str, lowercase: bool, key: str) -> None:
    st.markdown("##### BLEU")
    b = mx.bleu(cand, refs, tokenize=tokenize, smooth=smooth, lowercase=lowercase)
    library = mx.bleu_reference(cand, refs, tokenize=tokenize, smooth=smooth, lowercase=lowercase)
    rows = [{"n-gram": f"{n}-gram", "matches (clipped)": b.counts[n - 1], "in the output": b.totals[n - 1],
             "precision": _fraction(b.counts[n - 1], b.totals[n - 1], b.precisions[n - 1]),
             "used in the mean": f"{b.smoothed_precisions[n - 1]:.4f}"} for n in range(1, mx.BLEU_MAX_ORDER + 1)]
    st.dataframe(rows, hide_index=True, key=f"{key}_bleu_table")
    c, r = b.candidate_length, b.reference_length
    if c == 0:
        bp_text = "the output has no tokens, so BLEU is 0"
    elif c >= r:
        bp_text = f"output {c} tokens ≥ reference {r}: brevity penalty = 1"
    else:
        bp_text = f"output {c} tokens < reference {r}: brevity penalty = e^(1 − {r}/{c}) = {b.brevity_penalty:.4f}"
    st.markdown(f"- Brevity penalty: {bp_text}\n"
                f"- {_mean_label(b.orders_used)}: {b.geometric_mean:.4f}\n"
                f"- **BLEU = {b.brevity_penalty:.4f} × {b.geometric_mean:.4f} = {b.score:.4f}** "
                f"(sacrebleu: {library:.4f}; sacrebleu prints it ×100 as {library * 100:.1f})")
    if b.clipped:
        st.caption("Clipped (counted only as often as in a reference): "
                   + literal(", ".join("“" + " ".join(g) + "”" for g in b.clipped[:10])))
    n = st.radio("Highlight the output's matching", [1, 2, 3, 4], horizontal=True, key=f"{key}_bleu_n",
                 format_func=lambda n: f"{n}-grams")
    st.html(STYLE + marked_html(cand, [(t.start, t.end) for t in b.candidate_tokens], b.candidate_marks.get(n, []),
                                f"Output, tokenized with “{tokenize}”: words in a matching {n}-gram highlighted"))


def _choices_section(cand: str, refs: list[str], smooth: str, lowercase: bool, key: str) -> None:
    """The same pair scored under every tokenizer/stemming choice: the choice alone moves the number."""
    st.markdown("##### The same texts under other scoring choices")
    rows = [{"metric": f"{KIND_NAMES[kind]} F1", "choice": "stemming " + ("on" if stem else "off"),
             "score": round(mx.rouge_reference(cand, refs, kind, stem=stem)[2], 4)}
            for kind in ("rouge1", "rougeL") for stem in (False, True)]
    rows += [{"metric": "BLEU", "choice": f"tokenizer “{tok}”" + (", lowercased" if lowercase else ""),
              "score": round(mx.bleu_reference(cand, refs, tokenize=tok, smooth=smooth, lowercase=lowercase), 4)}
             for tok in mx.BLEU_TOKENIZERS]
    st.dataframe(rows, hide_index=True, key=f"{key}_choices_table")
    spread = {m: {r["score"] for r in rows if r["metric"] == m} for m in {r["metric"] for r in rows}}
    moved = [m for m, values in spread.items() if len(values) > 1]
    st.caption(("Here the choice changes " + ", ".join(sorted(moved)) + ": a paper must say which it used."
                if moved else "Here every choice gives the same score; try “cats are running” against “the cat "
                "runs”, or a text with punctuation or accents."))


def _similarity(a: str, b: str) -> float | None:
    service = app_cache.model_service_or_none()
    if service is None or not load_with_progress(service, service.registry.default_encoder, "sentence-encoder"):
        return None
    try:
        return cache.similarity(a[:2000], b[:2000])
    except Exception as exc:
        errors.show("MiniLM could not compare the texts", exc, "warning")
        return None


def show(key: str = "metric_counter") -> None:
    st.markdown("#### Try it: watch ROUGE and BLEU count")
    fields = [share.Field("refs", f"{key}_refs"), share.Field("output", f"{key}_cand")]
    if share.apply(key, fields):
        st.session_state.setdefault(f"{key}_preset", next(iter(PRESETS)))
    if f"{key}_refs" not in st.session_state:
        st.session_state[f"{key}_preset"] = next(iter(PRESETS))
        _apply_preset(key)
    preset = st.selectbox("Start from an example", list(PRESETS), key=f"{key}_preset",
                          on_change=_apply_preset, args=(key,))
    st.caption(literal(PRESETS[preset][2]))
    left, right = st.columns(2)
    refs_text = left.text_area("Reference(s), one per line", key=f"{key}_refs", height=110)
    cand = right.text_area("Output to score", key=f"{key}_cand", height=110)
    share.link(key, fields, "this reference and output")
    with st.expander("Tokenizer and scoring choices"):
        a, b, c, d = st.columns(4)
        stem = a.checkbox("ROUGE: stemming", key=f"{key}_stem", help="Porter stemmer on words longer than 3 "
                          "letters, so “cats” matches “cat”. rouge-score's option `use_stemmer`.")
        tokenize = b.selectbox("BLEU tokenizer", list(mx.BLEU_TOKENIZERS), key=f"{key}_tok",
                               help=" · ".join(f"{k}: {v}" for k, v in mx.BLEU_TOKENIZERS.items()))
        smooth = c.selectbox("BLEU smoothing", list(mx.BLEU_SMOOTHING), key=f"{key}_smooth",
                             help=" · ".join(f"{k}: {v}" for k, v in mx.BLEU_SMOOTHING.items()))
        lowercase = d.checkbox("BLEU: lowercase", key=f"{key}_lower")
        st.caption(literal(mx.BLEU_SMOOTHING[smooth]))
    refs = _references(refs_text or "")
    if not refs:
        st.info("Type at least one reference: the text a person wrote that the output is compared with.")
        return
    if len(refs) > MAX_REFERENCES:
        st.warning(f"{len(refs)} references given; the first {MAX_REFERENCES} are used.")
        refs = refs[:MAX_REFERENCES]
    if not (cand or "").strip():
        st.info("Type an output to score. (An empty output scores 0 on every metric: it matches nothing.)")
        return
    if len(cand) > MAX_CHARS or any(len(r) > MAX_CHARS for r in refs):
        st.warning(f"Texts are limited to {MAX_CHARS:,} characters here; longer ones are cut.")
        cand, refs = cand[:MAX_CHARS], [r[:MAX_CHARS] for r in refs]
    try:
        _rouge_section(cand, refs, stem, key)
        _bleu_section(cand, refs, tokenize, smooth, lowercase, key)
        _choices_section(cand, refs, smooth, lowercase, key)
    except Exception as exc:
        errors.show("The scores could not be computed", exc)
        return
    sim = _similarity(refs[0], cand)
    if sim is not None:
        st.metric("MiniLM cosine similarity (reference 1 vs output)", f"{sim:.3f}",
                  help="Not an n-gram count: how close the two sentence embeddings point (1 = same direction).")


def failure_rows() -> list[dict]:
    """Every fooling case scored by each metric (numbers from the reference libraries)."""
    rows = []
    for name in FAILURE_CASES:
        refs, cand, _ = PRESETS[name]
        rows.append({"case": name, "reference": refs[0], "output": cand, "same meaning?": SAME_MEANING[name],
                     "ROUGE-1": mx.rouge_reference(cand, list(refs), "rouge1", stem=False)[2],
                     "ROUGE-L": mx.rouge_reference(cand, list(refs), "rougeL", stem=False)[2],
                     "BLEU": mx.bleu_reference(cand, list(refs), tokenize="13a", smooth="exp", lowercase=False)})
    return rows


def show_failures(key: str = "metric_failures") -> None:
    st.markdown("#### Try it: five pairs that fool the metrics")
    rows = failure_rows()
    for row in rows:
        similarity = _similarity(row["reference"], row["output"])
        if similarity is None:              # no encoder, or it failed (already said on the page)
            break
        row["MiniLM cosine"] = similarity
    metrics = [m for m in ("ROUGE-1", "ROUGE-L", "BLEU", "MiniLM cosine") if all(m in r for r in rows)]
    colours = {"ROUGE-1": "#90CAF9", "ROUGE-L": "#1565C0", "BLEU": "#FB8C00", "MiniLM cosine": "#43A047"}
    fig = go.Figure()
    for m in metrics:
        fig.add_trace(go.Bar(name=m, x=[r["case"].replace(": ", ":<br>").replace(", ", ",<br>") for r in rows],
                             y=[r[m] for r in rows], marker_color=colours[m],
                             text=[f"{r[m]:.2f}" for r in rows], textposition="outside", cliponaxis=False))
    fig.update_layout(barmode="group", height=460, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=14),
                      yaxis=dict(range=[0, 1.15], title="score (1 = perfect match)"),
                      legend=dict(orientation="h", y=-0.2),
                      title=dict(text="Each metric's score for each pair", font=dict(size=15)))
    st.plotly_chart(fig, key=f"{key}_chart", config=PNG_ONLY)
    st.dataframe([{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
                 hide_index=True, key=f"{key}_table")
    st.markdown(
        "- **ROUGE and BLEU** see shared words and word runs. They cannot see meaning: a flipped “not”, a wrong "
        "day and time in an otherwise identical sentence, or a paraphrase that uses other words. Both clip their "
        "counts, so repeating a word does not pay; but shuffled words keep a perfect ROUGE-1.\n"
        "- **Embedding similarity** sees the paraphrase (“freezing out there”), but it is also high for the "
        "flipped meaning and the wrong day: sentences about the same thing point the same way.\n"
        "- None of them checks facts. That is why evaluations of chat models add human raters, or a stronger "
        "model as a judge, on top of automatic metrics.")
    st.caption("BLEU here is sentence-level with sacrebleu's default “exp” smoothing, so short pairs do not all "
               "score 0.")
