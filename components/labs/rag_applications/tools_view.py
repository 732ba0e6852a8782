"""Page 11 demos "calculator" (program-aided arithmetic vs answering alone) and "react-trace" (thought → action →
observation → answer, the application running each action)."""
from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

from components.common import errors
from components.common.charts import PNG_ONLY
from components.common.model_status import load_with_progress
from components.common.text import literal
from components.labs.rag_applications import cache, knowledge, replies
from core.labs.rag_applications import calculator, tools

KEY = "rag_tools"


def _chart(results):
    n = len(results)
    direct = sum(r.direct_correct for r in results)
    pal = sum(r.pal_correct for r in results)
    fig = go.Figure(go.Bar(x=["Model answers alone", "Model writes an expression,<br>calculator computes it"],
                           y=[direct / n, pal / n], text=[f"{direct}/{n}", f"{pal}/{n}"], textposition="outside",
                           marker_color=["#9E9E9E", "#5B3CC4"]))
    fig.update_layout(title="Accuracy on the arithmetic word problems", height=340, yaxis=dict(range=[0, 1.1],
                      tickformat=".0%"), margin=dict(l=10, r=10, t=50, b=30))
    return fig


def _try_calculator() -> None:
    expression = st.text_input("Try the calculator tool yourself", value="(27 + 5) * 38", key=f"{KEY}_expr",
                               help="Numbers, + - * / // % ** and parentheses. Anything else is refused.")
    try:
        st.markdown(f"= **{calculator.evaluate(expression):,}**")
    except calculator.CalculatorError as exc:
        st.warning(literal(str(exc)))


def show_calculator() -> None:
    st.markdown("#### Try it: give the model a calculator")
    st.markdown("A language model predicts digits as tokens; it does not compute. The fix is a division of labour: "
                "the model writes the *calculation* as an expression, and ordinary code computes it. The code here "
                "never runs what the model wrote as Python: it parses the expression and allows only numbers, "
                "arithmetic operators and parentheses (try `__import__('os')` or `9**9**9` below).")
    _try_calculator()
    data = cache.arithmetic_set()
    st.caption(f"Both ways are shown the same {len(data.examples)} worked examples, then each of the "
               f"{len(data.problems)} word problems from the prompt-engineering lesson (greedy decoding).")
    if st.button(f"Run both ways on the {len(data.problems)} problems", key=f"{KEY}_run", type="primary"):
        with errors.shown("SmolLM2 could not answer"):
            service = cache.model_service()
            if load_with_progress(service, service.registry.default_decoder, "causal-lm"):
                chats = [tools.direct_chat(data, p.question) for p in data.problems] + \
                        [tools.pal_chat(data, p.question) for p in data.problems]
                texts = replies.greedy(chats, max_new_tokens=24, label="Answering 2 × 20 problems")
                n = len(data.problems)
                st.session_state[f"{KEY}_pal"] = [tools.grade(p.question, p.answer, d, e) for p, d, e in
                                                  zip(data.problems, texts[:n], texts[n:])]
    results = st.session_state.get(f"{KEY}_pal")
    if not results:
        return
    st.plotly_chart(_chart(results), key=f"{KEY}_chart", config=PNG_ONLY)
    rows = [{"problem": r.question, "correct answer": f"{r.gold:g}",
             "alone: reply": r.direct_reply.strip()[:60], "alone": "✓" if r.direct_correct else "✗",
             "expression written": r.expression or "—",
             "calculator": f"{r.pal_value:g}" if r.pal_value is not None else (r.error[:60] or "—"),
             "with tool": "✓" if r.pal_correct else "✗"} for r in results]
    st.dataframe(rows, hide_index=True, width="stretch")
    direct, pal = sum(r.direct_correct for r in results), sum(r.pal_correct for r in results)
    wrong_setup = sum(1 for r in results if r.pal_value is not None and not r.pal_correct)
    st.caption(f"Alone: {direct}/{len(results)} right. With the calculator: {pal}/{len(results)}. The calculator "
               f"never makes an arithmetic slip, so every remaining error ({wrong_setup} wrong expression(s), "
               f"{sum(1 for r in results if r.pal_value is None)} unusable) is the model setting the problem up "
               "wrongly: a tool fixes the computing, not the reading.")


def _trace_html(trace) -> str:
    rows = []
    for n, step in enumerate(trace.steps, start=1):
        rows.append(f'<div class="rt-model"><b>Step {n}: the model wrote</b><br>'
                    f'{html.escape(step.model_text.strip()).replace(chr(10), "<br>")}</div>')
        if step.action:
            rows.append(f'<div class="rt-app"><b>The application ran</b> <code>{html.escape(step.action)}'
                        f'[{html.escape(step.argument)}]</code><br>Observation: '
                        f'{html.escape(step.observation)}</div>')
    end = {"answer": f"Answer: {trace.answer}", "no action": "The model wrote no action and no answer: the loop ends.",
           "step limit": "Step limit reached without an answer."}.get(trace.stopped, trace.stopped)
    rows.append(f'<div class="rt-end">{html.escape(end)}</div>')
    return TRACE_STYLE + "".join(rows)


TRACE_STYLE = """<style>
.rt-model,.rt-app,.rt-end{padding:.45rem .7rem;margin:.3rem 0;border-radius:6px;line-height:1.55;color:#1b1b1b;
overflow-wrap:anywhere}
.rt-model{background:#F3F1FA;border-left:4px solid #5B3CC4}
.rt-app{background:#E8F5E9;border-left:4px solid #2E7D32;margin-left:2rem}
.rt-end{background:#FFF8E1;border-left:4px solid #F9A825;font-weight:600}
</style>"""


def show_react() -> None:
    st.markdown("#### Try it: a ReAct loop (reason, act, observe)")
    st.markdown("For a question that needs a fact **and** a calculation, the model is shown two tools and one worked "
                "example. It writes a *Thought* and an *Action*; the application (not the model) runs the action "
                "— a search of the knowledge base, or the safe calculator — and pastes the *Observation* back; "
                "the model continues until it writes an *Answer*. Purple is the model, green is the application.")
    data = cache.question_set()
    options = {item["question"]: item for item in data.react}
    question = st.selectbox("Question", list(options), key=f"{KEY}_react_q")
    item = options.get(question)
    if item:
        st.caption(f"The handbook's answer: {literal(item['answer'])} ({literal(item['expression'])}).")
    if st.button("Run the loop", key=f"{KEY}_react_run", type="primary") and item:
        base = knowledge.current()
        with errors.shown("The loop could not run"):
            if knowledge.index(base) is None:
                return

            def search(words: str) -> str:
                hits, _ = knowledge.retrieve(base, words[:300], 1)
                return " ".join(hits[0].chunk.text.split()) if hits else "(nothing found)"

            def generate(messages, prefill):
                return replies.greedy([messages], max_new_tokens=40, stops=(tools.STOP,), prefill=prefill,
                                      label="The model is thinking")[0]
            with st.spinner("The model and the application take turns…"):
                st.session_state[f"{KEY}_trace"] = tools.run_react(item["question"], generate, search)
    trace = st.session_state.get(f"{KEY}_trace")
    if trace is None:
        return
    st.html(_trace_html(trace))
    expected = next((i for i in data.react if i["question"] == trace.question), None)
    if expected:
        right = trace.answer is not None and str(expected["answer"]) in trace.answer.replace(",", "")
        searched = any(s.action == "search" for s in trace.steps)
        refused = sum(s.observation.startswith("error:") for s in trace.steps)
        what = ("It searched the handbook. " if searched else
                "It never searched the handbook, so it could not know the fact it needed. ")
        if refused:
            what += f"The calculator refused {refused} action(s) that were not arithmetic. "
        st.caption(("The final answer matches the handbook. " if right else
                    "The final answer does not match the handbook. ") + what +
                   "A 135-million-parameter model often copies the worked example or skips a step; large models "
                   "follow this format reliably. What stays true at any size: the model only *names* an action, "
                   "and the application decides whether and how to run it.")
