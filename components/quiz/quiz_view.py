"""Self-paced quizzes: one question at a time, instant feedback, score, review, retry, and progress per section.

Used by page 12 (`show`, the whole bank) and at the end of every lesson (`end_of_lesson`, a few questions, which
each lesson page hands to `lesson.show`). The question widgets (`answer_form`) are shared with the live workshop
quiz (components/workshop/participant_view.py), which imports them from here; this folder never imports the
workshop's.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from components.common import cache as app_cache
from components.common import identity, keys, store_guard
from components.common.charts import PNG_ONLY
from components.common.text import literal
from core.lessons import LessonError, section_by_id
from core.workshop.attempts import Attempts
from core.workshop.quiz import Question, QuestionBank, QuizRun
from core.workshop.workshop import WorkshopError, clean_nickname

END_OF_LESSON_QUESTIONS = 3


# ---------------------------------------------------------------- shared helpers

def store_or_none() -> Attempts | None:
    """The quiz database, or None after a warning (then answers are only kept in this browser tab)."""
    return opened_or_none(app_cache.attempts)


def opened_or_none(open_repository):
    """`open_repository()` (a repository over the app's database), or None after a warning when the database
    cannot be opened."""
    try:
        return open_repository()
    except Exception as exc:
        st.warning(f"The quiz database is not available, so progress is not saved: {exc}")
        return None


def bank() -> QuestionBank:
    try:
        questions = app_cache.question_bank()
    except LessonError as exc:
        st.error(f"The quiz questions could not be loaded: {exc}")
        return QuestionBank(())
    for error in questions.errors:
        st.error(f"A question file has a problem and was skipped — {error}")
    return questions


def section_title(section_id: str) -> str:
    try:
        s = section_by_id(section_id, app_cache.sections())
        return f"{s.number}. {s.title}"
    except LessonError:
        return section_id


def link_to_lesson(question: Question) -> None:
    try:
        s = section_by_id(question.link, app_cache.sections())
    except LessonError:
        return
    label = f"Lesson {s.number}: {s.title}"
    if question.demo:
        label = f"Run the {question.demo} demo in lesson {s.number}: {s.title}"
    st.page_link(s.page, label=label, icon=":material/arrow_forward:")


NUMBER_FORMATS = "Whole numbers, decimals, 1,234, 1 234 and suffixes such as 5k, 28.3M or 1.2B all work."


def answer_form(question: Question, key: str, submit_label: str = "Check answer", on_submit=None,
                args: tuple = ()) -> tuple[bool, Any]:
    """Draw the question and its input. Returns (submitted, response); response is None when unusable.

    Single, multiple and numeric questions sit in an `st.form`. An ordering question is a visible list the
    learner rearranges with ↑/↓ buttons (buttons cannot live in a form, so it has its own submit button); its
    response is the list of items in the learner's order. Numeric responses come back as a float in the
    question's unit ("28.3M" for 28,300,000 parameters). `on_submit(*args)` runs when the submit button is pressed,
    before the run that handles it (the live quiz uses it so a click is never lost; see
    components/workshop/participant_view.py)."""
    if question.type == "ordering":
        return _ordering_form(question, key, submit_label, on_submit, args)
    with st.form(key=f"{key}_form", border=True):
        st.markdown(question.prompt)
        if question.type == "single":
            st.radio("Your answer", question.options, index=None, key=f"{key}_single")
        elif question.type == "multiple":
            st.caption("Pick all that apply.")
            for i, o in enumerate(question.options):
                st.checkbox(o, key=f"{key}_multi_{i}")
        else:
            st.text_input(f"Your answer{f' ({question.unit})' if question.unit else ''}",
                          key=f"{key}_number", max_chars=40, placeholder="a number, e.g. 42, 0.5 or 1,234")
            st.caption(" ".join(filter(None, [question.precision_text(), NUMBER_FORMATS])))
        submitted = st.form_submit_button(submit_label, type="primary", on_click=on_submit, args=args)
    if not submitted:
        return False, None
    response, problem = submitted_response(question, key)
    if problem:
        st.warning(problem)
    return True, response


def submitted_response(question: Question, key: str) -> tuple[Any, str | None]:
    """(response, None), or (None, what is missing), from the values the form's widgets (or the ordering list)
    hold in session state under `key`."""
    if question.type == "ordering":
        return list(current_order(question, key)), None
    if question.type == "single":
        response = st.session_state.get(f"{key}_single")
        return (response, None) if response is not None else (None, "Pick one of the answers first.")
    if question.type == "multiple":
        response = [o for i, o in enumerate(question.options) if st.session_state.get(f"{key}_multi_{i}")]
        return (response, None) if response else (None, "Tick at least one answer first.")
    value = question.numeric_value(st.session_state.get(f"{key}_number"))
    return (value, None) if value is not None else (None, "Type a number, e.g. 168, 0.87, 1,234 or 28.3M.")


def _order_key(key: str) -> str:
    return f"{key}_order"


def current_order(question: Question, key: str) -> list[str]:
    """The learner's order so far (session state), starting from a shuffled order that is never the right one."""
    state = _order_key(key)
    order = st.session_state.get(state)
    if not isinstance(order, list) or sorted(order) != sorted(question.items):
        order = question.shuffled_items(key)
        st.session_state[state] = order
    return order


def _move(state: str, index: int, step: int) -> None:
    """Button callback (runs before the page redraws): swap an item with its neighbour."""
    order = st.session_state.get(state)
    other = index + step
    if isinstance(order, list) and 0 <= index < len(order) and 0 <= other < len(order):
        order = list(order)
        order[index], order[other] = order[other], order[index]
        st.session_state[state] = order


def _ordering_form(question: Question, key: str, submit_label: str, on_submit=None,
                   args: tuple = ()) -> tuple[bool, Any]:
    state = _order_key(key)
    with st.container(border=True):
        st.markdown(question.prompt)
        st.caption("Move the items with ↑ and ↓ until the list is in the right order (item 1 comes first).")
        order = current_order(question, key)
        last = len(order) - 1
        for i, item in enumerate(order):
            with st.container(horizontal=True, vertical_alignment="center", wrap=False, border=True, gap="small"):
                st.markdown(f"**{i + 1}.** {item}")
                st.button("↑", key=f"{key}_up_{i}", help=f"Move item {i + 1} up", disabled=i == 0,
                          on_click=_move, args=(state, i, -1))
                st.button("↓", key=f"{key}_down_{i}", help=f"Move item {i + 1} down", disabled=i == last,
                          on_click=_move, args=(state, i, 1))
        submitted = st.button(submit_label, key=f"{key}_submit", type="primary", on_click=on_submit, args=args)
    if not submitted:
        return False, None
    response = list(order)
    st.session_state.pop(state, None)       # a retry of this question starts from a fresh shuffle
    return True, response


def feedback(question: Question, correct: bool, response: Any) -> None:
    st.markdown(f"**Your answer:** {literal(question.response_text(response))}")
    if correct:
        st.success("Correct!", icon=":material/check_circle:")
    else:
        st.error(f"Not quite. The answer is **{question.answer_text()}**.", icon=":material/cancel:")
    st.markdown(question.explanation)
    link_to_lesson(question)


# ---------------------------------------------------------------- a run through a list of questions

def _learner_name() -> str:
    """How this learner's answers are shown to the instructor: the workshop nickname, the name typed on the Quiz
    page, or "anonymous". Only a name: answers are saved under the browser's id (identity.key)."""
    return st.session_state.get(keys.WS_NAME) or st.session_state.get(keys.QUIZ_LEARNER) or "anonymous"


def _record(store: Attempts | None, question: Question, correct: bool, response: Any) -> None:
    if store is None:
        return
    try:
        store.record(identity.key(), _learner_name(), question.id, question.section, correct, response)
    except Exception as exc:
        st.warning(f"Your answer could not be saved: {exc}")


def run_quiz(questions: list[Question], key: str, store: Attempts | None, here: str | None = None) -> None:
    """One question at a time with feedback; at the end the score, a review of mistakes and a retry button.

    `here` is the section whose lesson page draws the quiz (None on the Quiz page): a question answered with a
    demo that lives on another page gets a link to it."""
    by_id = {q.id: q for q in questions}
    run: QuizRun | None = st.session_state.get(f"{key}_run")
    if run is None or any(q not in by_id for q in run.question_ids):
        run = QuizRun([q.id for q in questions])
        st.session_state[f"{key}_run"] = run
    if not run.question_ids:
        st.info("There are no questions here yet.")
        return
    if run.done:
        _summary(run, by_id, key)
        return
    question = by_id[run.current]
    st.progress(run.position / len(run.question_ids),
                text=f"Question {run.position + 1} of {len(run.question_ids)} · score {run.score}")
    answered = st.session_state.get(f"{key}_answered")
    if answered and answered[0] == question.id:
        st.markdown(question.prompt)
        feedback(question, answered[1], answered[2])
        if st.button("Next question" if run.position + 1 < len(run.question_ids) else "See my score",
                     key=f"{key}_next", type="primary"):
            run.position += 1
            st.session_state.pop(f"{key}_answered", None)
            st.rerun()
        return
    if question.demo and question.link != here:
        link_to_lesson(question)
    submitted, response = answer_form(question, f"{key}_{run.position}_{question.id}")
    if submitted and response is not None:
        correct = question.is_correct(response)
        run.results[question.id] = correct
        _record(store, question, correct, response)
        st.session_state[f"{key}_answered"] = (question.id, correct, response)
        st.rerun()


def _summary(run: QuizRun, by_id: dict[str, Question], key: str) -> None:
    total = len(run.question_ids)
    st.metric("Your score", f"{run.score} / {total}")
    if run.wrong:
        st.markdown("**Review your mistakes**")
        for qid in run.wrong:
            q = by_id[qid]
            with st.expander(q.prompt.splitlines()[0][:120], expanded=False):
                st.markdown(f"Right answer: **{q.answer_text()}**")
                st.markdown(q.explanation)
                link_to_lesson(q)
    else:
        st.success("All correct — well done!")
    left, right = st.columns(2)
    if run.wrong and left.button(f"Retry the {len(run.wrong)} wrong one(s)", key=f"{key}_retry", type="primary"):
        st.session_state[f"{key}_run"] = QuizRun(list(run.wrong))
        st.rerun()
    if right.button("Start again", key=f"{key}_restart"):
        st.session_state.pop(f"{key}_run", None)
        st.rerun()


# ---------------------------------------------------------------- progress

def progress_by_section(questions: QuestionBank, attempts: list[dict]) -> list[dict]:
    """Per section: questions answered correctly at least once, out of the section's questions."""
    right = {a["question_id"] for a in attempts if a["correct"]}
    tried = {a["question_id"] for a in attempts}
    rows = []
    for section in questions.sections:
        ids = [q.id for q in questions.for_section(section)]
        rows.append(dict(section=section_title(section), questions=len(ids), tried=len(tried & set(ids)),
                         correct=len(right & set(ids)), share=len(right & set(ids)) / len(ids)))
    return rows


def progress_chart(rows: list[dict]) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=[r["share"] * 100 for r in rows], y=[r["section"] for r in rows], orientation="h",
        marker_color=["#2e7d32" if r["share"] >= 0.999 else "#1976d2" for r in rows],
        text=[f"{r['correct']}/{r['questions']}" for r in rows], textposition="outside",
        hovertemplate="%{y}: %{x:.0f}% correct<extra></extra>"))
    fig.update_layout(xaxis=dict(range=[0, 110], title="questions answered correctly (%)"),
                      yaxis=dict(autorange="reversed"), height=40 * len(rows) + 80,
                      margin=dict(l=10, r=10, t=10, b=40))
    return fig


def _nickname_box(key: str) -> None:
    where = "this browser" if identity.current().persistent else "this tab"
    if st.session_state.get(keys.WS_NAME):
        st.caption(f"Your progress is saved for {where}; the instructor sees it under your workshop nickname "
                   f"**{literal(st.session_state[keys.WS_NAME])}**.")
        return
    typed = st.text_input("Your name for the instructor's results (optional)", key=f"{key}_nickname",
                          max_chars=200, placeholder="e.g. Ada",
                          help=f"Your progress is saved for {where} whatever you type here: the name only says "
                               "how the instructor's results show you.")
    if not typed:
        st.session_state.pop(keys.QUIZ_LEARNER, None)
        return
    try:
        st.session_state[keys.QUIZ_LEARNER] = clean_nickname(typed)
    except WorkshopError as exc:
        st.warning(str(exc))
        st.session_state.pop(keys.QUIZ_LEARNER, None)


@store_guard.guarded
def show(key: str = "quiz") -> None:
    """Page 12: pick a section (or everything), answer, and watch the progress chart fill up."""
    questions = bank()
    if not questions.questions:
        st.info("No quiz questions are available.")
        return
    store = store_or_none()
    _nickname_box(key)
    choices = ["all"] + questions.sections
    section = st.selectbox("Which part of the course?", choices, key=f"{key}_section",
                           format_func=lambda s: f"Everything ({len(questions.questions)} questions)" if s == "all"
                           else f"{section_title(s)} ({len(questions.for_section(s))} questions)")
    picked = list(questions.questions) if section == "all" else questions.for_section(section)
    with st.container(border=True):
        run_quiz(picked, f"{key}_{section}", store)
    st.markdown("#### Your progress by section")
    if store is None:
        st.caption("Progress cannot be saved while the database is away.")
        return
    rows = progress_by_section(questions, store.rows(identity.key()))
    done = sum(r["correct"] for r in rows)
    where = "this browser" if identity.current().persistent else "this tab"
    st.caption(f"{done} of {len(questions.questions)} questions answered correctly at least once, saved for {where}.")
    st.plotly_chart(progress_chart(rows), key=f"{key}_progress", config=PNG_ONLY)


@store_guard.guarded
def end_of_lesson(section_id: str, key: str | None = None) -> None:
    """A few questions about this lesson in an expander at the bottom of the page (none on the Quiz page's own
    lesson, which has the whole quiz already)."""
    if section_id == "quiz":
        return
    key = key or f"lessonquiz_{section_id}"
    questions = bank().for_section(section_id)[:END_OF_LESSON_QUESTIONS]
    if not questions:
        return
    with st.expander(f"Check yourself: {len(questions)} quick questions about this lesson", icon=":material/quiz:"):
        run_quiz(questions, key, store_or_none(), here=section_id)
        st.page_link("app_pages/12_quiz.py", label="More questions and your progress: the Quiz page",
                     icon=":material/arrow_forward:")
