"""Instructor analytics: which ideas the class got wrong — a heatmap of share correct per question and section,
results per participant, and a CSV export. Locked behind the presenter key like the presenter console."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.common import keys, palette, store_guard
from components.common.charts import PNG_ONLY
from components.quiz import quiz_view
from components.workshop import cache
from components.workshop.presenter_session import unlocked
from core.workshop.quiz import answers_csv, heatmap, per_participant

SELF_PACED = "Self-paced quizzes (all learners)"


def heatmap_figure(data) -> go.Figure:
    z = [[None if v is None else round(v * 100) for v in row] for row in data.share]
    text = [[("" if v is None else f"{v}%") for v in row] for row in z]
    hover = [[f"{label}<br>{n} answers" for label, n in zip(lrow, crow)]
             for lrow, crow in zip(data.labels, data.counts)]
    fig = go.Figure(go.Heatmap(
        z=z, x=data.columns, y=[quiz_view.section_title(s) for s in data.sections], text=text,
        texttemplate="%{text}", customdata=hover, zmin=0, zmax=100, colorscale=palette.SEQUENTIAL,
        colorbar=dict(title="% correct"), hoverongaps=False,
        hovertemplate="%{y} · %{x}: %{z}% correct<br>%{customdata}<extra></extra>"))
    fig.update_layout(yaxis=dict(autorange="reversed"), height=48 * len(data.sections) + 120,
                      margin=dict(l=10, r=10, t=10, b=40))
    return fig


def self_paced_answers(attempts: list[dict]) -> list[dict]:
    """Self-paced attempts as rows per person: the name they typed, told apart by a short tag when two browsers used
    the same name ("Ada · 3f2a"), so two learners are never merged into one."""
    keys_by_name: dict[str, set[str]] = {}
    for a in attempts:
        keys_by_name.setdefault(a["learner"], set()).add(a["learner_key"])
    return [dict(a, nickname=a["learner"] if len(keys_by_name[a["learner"]]) == 1
                 else f"{a['learner']} · {a['learner_key'][-4:]}") for a in attempts]


@store_guard.guarded
def show(key: str = "analytics") -> None:
    st.title("Instructor analytics")
    if not unlocked(key):
        return
    store = quiz_view.store_or_none()
    if store is None:
        return
    bank = quiz_view.bank()
    rooms = cache.workshop().rooms.rooms()
    sources = [SELF_PACED] + [r.code for r in rooms]
    presenting = st.session_state.get(keys.PRESENTER_ROOM)           # open on the presenter's current room
    source = st.selectbox("Whose answers?", sources, key=f"{key}_source",
                          index=sources.index(presenting) if presenting in sources else 0,
                          format_func=lambda s: s if s == SELF_PACED else f"Workshop room {s}")
    if source == SELF_PACED:
        answers = self_paced_answers(store.rows())
    else:
        answers = cache.workshop().rooms.answers(source)
    if not answers:
        st.info("No answers yet for this choice. Answers appear here as soon as learners submit them.")
        return
    people = len({a["nickname"] for a in answers})
    st.markdown(f"**{len(answers):,} answer{'s' if len(answers) != 1 else ''}** from **{people}** "
                f"participant{'s' if people != 1 else ''}. "
                "Red cells are the ideas to revisit; hover a cell for the question.")
    data = heatmap(answers, bank)
    st.plotly_chart(heatmap_figure(data), key=f"{key}_heatmap", config=PNG_ONLY)
    with st.expander("Which question is which?"):
        for s, labels in zip(data.sections, data.labels):
            st.markdown(f"**{quiz_view.section_title(s)}** — " + "; ".join(
                f"Q{i + 1}: {bank.by_id(qid).prompt[:70]}" for i, qid in enumerate(labels[:-1]) if bank.by_id(qid)))
    st.markdown("#### Per participant")
    st.dataframe(per_participant(answers), hide_index=True, key=f"{key}_people",
                 column_config={"share_correct": st.column_config.ProgressColumn(
                     "share right", format="percent", min_value=0.0, max_value=1.0)})
    st.download_button("Download all answers (CSV)", answers_csv(answers), file_name="genai-lab-answers.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore")
