"""The participant's Live page: join a room; then, while following, the presenter's lesson, the live question
(big coloured tiles or the quiz's answer form, with a countdown) or the podium, and the participant's place.

The page is a plain script: the room's timed check (components/workshop/sync.py) reruns it when the room moves on.
Session-state keys: components/common/keys.py."""
from __future__ import annotations

import streamlit as st

from components import demos
from components.common import keys, lesson, store_guard
from components.common.text import literal
from components.quiz import quiz_view
from components.workshop.charts import TILE_COLOURS, TILE_SHAPES, countdown_html, leaderboard_chart, podium_html
from components.workshop.room import find_room, join_form
from core.workshop.quiz import Standing, leaderboard
from core.workshop.workshop import WorkshopError, nickname_key


@store_guard.guarded
def live_page(key: str = "live") -> None:
    """The participant's page: join; then, while following, the presenter's lesson, question or podium."""
    if not st.session_state.get(keys.WS_ROOM):
        st.title("Live quiz")
        st.markdown("Join the presenter's room with the code on the screen and a nickname of your choice. "
                    "The presenter's lessons and live questions then appear on this page; right and fast answers "
                    "earn more points.")
        prefill = st.query_params.get("room", "")
        join_form(f"{key}_main", prefill=prefill[:20] if isinstance(prefill, str) else "")
        return
    # The room's timed check runs every few seconds; its "Running…" badge would blink on every phone for nothing.
    st.html('<style>[data-testid="stStatusWidget"]{visibility:hidden}</style>')
    who = f"Room **{st.session_state[keys.WS_ROOM]}** · you are **{literal(st.session_state[keys.WS_NAME])}**"
    found = find_room(st.session_state.get(keys.WS_ROOM))
    if (found is not None and st.session_state.get(keys.WS_FOLLOW, True) and found[1].section
            and found[1].phase not in ("question", "podium")):
        st.caption(f"{who} · following the presenter: this page shows their lesson. Switch *Follow the presenter* "
                   "off in the sidebar to explore on your own.")
        section = found[1].section
        lesson.show(section, demos=demos.on_demand(section, demos.for_section(section)),
                    end_of_lesson=quiz_view.end_of_lesson)
        return
    st.title("Live quiz")
    st.caption(who)
    _live_question(key)


def _live_question(key: str) -> None:
    code, name = st.session_state.get(keys.WS_ROOM), st.session_state.get(keys.WS_NAME)
    found = find_room(code)
    if found is None:
        return
    ws, room = found
    bank = quiz_view.bank()
    current = ws.rooms.current_question(code)
    if room.phase == "podium":
        st.subheader("Final results")
        standings = leaderboard(ws.rooms.answers(code), ws.rooms.participants(code))
        st.html(podium_html(standings))
        _my_rank(standings, name)
        return
    if room.phase != "question" or current is None:
        st.info("Waiting for the presenter to launch a question…", icon=":material/hourglass_top:")
        return
    question = bank.by_id(current.question_id)
    if question is None:
        st.warning("The presenter's question is not in this app's question bank.")
        return
    sent = st.session_state.get(keys.WS_SENT_RUN)        # an answer clicked since the last full run (_mark_sent)
    mine = [a for a in ws.rooms.answers(code, current.seq) if a["nickname_key"] == nickname_key(name)]
    st.markdown(f"**Question {current.seq}** · {quiz_view.section_title(question.section)}")
    if current.revealed:
        st.markdown(question.prompt)
        if mine:
            a = mine[0]
            (st.success if a["correct"] else st.error)(
                f"{'Right' if a['correct'] else 'Not right'}: you answered {_shown_response(a['response'])} and earn "
                f"**{a['points']:,}** points.")
        else:
            st.info("You did not answer this one.")
        st.markdown(f"Answer: **{question.answer_text()}**. {question.explanation}")
        standings = leaderboard(ws.rooms.answers(code), ws.rooms.participants(code))
        st.plotly_chart(leaderboard_chart(standings, highlight=name), key=f"{key}_board_{current.seq}",
                        config={"displayModeBar": False})
        _my_rank(standings, name)
        return
    if mine:
        st.markdown(question.prompt)
        st.success(f"Your answer is in ({mine[0]['elapsed']:.1f} s): {_shown_response(mine[0]['response'])}. "
                   "Wait for the presenter to reveal it.", icon=":material/how_to_reg:")
        return
    left = ws.seconds_left(current)
    if not ws.is_open(current):
        st.markdown(question.prompt)
        st.warning("Time is up for this question.")
        return
    st.html(countdown_html(left, current.time_limit, f"{code}-{current.seq}"))
    form_key, sent_here = f"{key}_{code}_{current.seq}", (sent or (None, None))[:2] == (code, current.seq)
    if question.type == "single":
        submitted, response = answer_tiles(question, form_key, on_pick=_mark_sent, args=(code, current.seq))
    else:
        submitted, response = quiz_view.answer_form(question, form_key, submit_label="Send answer",
                                                    on_submit=_mark_sent, args=(code, current.seq))
    if not submitted and sent_here:          # the click's own run was taken by a timer tick: its callback kept it
        submitted = True
        response, problem = (sent[2], None) if sent[2] is not None else quiz_view.submitted_response(question,
                                                                                                 form_key)
        if problem:
            st.warning(problem)
    if submitted and response is not None:
        try:
            ws.answer(code, current.seq, name, question, response)
        except WorkshopError as exc:
            st.warning(str(exc))
            return
        st.rerun()   # the page redraws as "Your answer is in"


def _mark_sent(code: str, seq: int, option=None) -> None:
    """A live answer's button callback. Callbacks run before whichever run handles the click, even when the
    browser's click and a heartbeat tick arrive together and the tick's fragment run takes it (the button then
    reads False in no run at all: 2 of 30 answers were lost that way in bench/live_round.py). `sync.watch` sees this
    mark and reruns the page, which sends the answer (`_live_question`)."""
    st.session_state[keys.WS_SENT] = (code, seq, option)


def answer_tiles(question, key: str, on_pick=None, args: tuple = ()) -> tuple[bool, object]:
    """A single-choice live question as big coloured tiles, two per row: one tap answers (phones first). Each tile
    is a real button, so it works with a keyboard and a screen reader; colour and shape tell the tiles apart on the
    projector and for colour-blind players. `on_pick(*args, option)` runs when a tile is pressed."""
    st.markdown("#### " + " ".join(question.prompt.split()))       # the bank's Markdown, one line, large
    css = ["<style>"]
    for i in range(len(question.options)):
        colour = TILE_COLOURS[i % len(TILE_COLOURS)]
        css.append(f".st-key-{key}_tile_{i} button{{background:{colour};color:#fff;border:none;min-height:5.2rem;"
                   f"font-size:1.25rem;font-weight:600;width:100%;white-space:normal;text-align:left}}"
                   f".st-key-{key}_tile_{i} button p{{font-size:1.3rem;font-weight:600}}"
                   f".st-key-{key}_tile_{i} button:hover,.st-key-{key}_tile_{i} button:focus-visible"
                   f"{{filter:brightness(1.1);color:#fff;outline:3px solid #212121}}")
    st.html("".join(css) + "</style>")
    chosen = None
    for row in range(0, len(question.options), 2):
        cols = st.columns(2)
        for i in range(row, min(row + 2, len(question.options))):
            with cols[i - row].container(key=f"{key}_tile_{i}"):
                label = f"{TILE_SHAPES[i % len(TILE_SHAPES)]}  {question.options[i]}"
                if st.button(label, key=f"{key}_tile_button_{i}", use_container_width=True,
                             on_click=on_pick, args=(*args, question.options[i]) if on_pick else None):
                    chosen = question.options[i]
    return chosen is not None, chosen


def _shown_response(response) -> str:
    if isinstance(response, (list, tuple)):
        return "“" + " → ".join(literal(str(r), 60) for r in response) + "”"
    return f"“{literal(str(response), 80)}”"


def _my_rank(standings: list[Standing], name: str | None) -> None:
    for s in standings:
        if s.nickname == name:
            st.metric("Your place", f"{s.rank} of {len(standings)}")
            st.caption(f"{s.points:,} points · {s.correct} right of {s.answered} answered")
            return
