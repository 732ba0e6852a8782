"""GenAI Lab — the frame: page setup, navigation over the lesson pages, and the sidebar.

Run with `make run` (`streamlit run server.py`, which serves this script with the server guards of web/).
Pages live in app_pages/, lesson text in lessons/.
"""
from core.serving import openmp

openmp.configure()  # before anything imports torch: how its CPU threads wait (see core/serving/openmp.py)

import streamlit as st  # noqa: E402

from components.common import model_status, navigation
from components.workshop import presenter_session, room, sidebar_view, sync

st.set_page_config(page_title="GenAI Lab", page_icon=":material/school:", layout="wide")

home = st.Page("app_pages/00_home.py", title="Welcome", icon=":material/home:", default=True)
page = st.navigation({"GenAI Lab": [home], "Lessons": navigation.lesson_pages(),
                      "Workshop": navigation.workshop_pages()}, expanded=True)

presenter_session.restore_presenter()  # a presenter's reload keeps the console unlocked and on its room
presenter_session.apply_presenter_mode()
room.restore_seat()  # a participant who reloaded (phones sleep) is back in their room, with their points
sync.sync_presenter(page.url_path)  # a presenter's move reaches followers before this page draws
sync.follow_presenter(page.url_path)  # a participant who follows goes to the presenter's page
sync.remember_drawn(page.url_path, page)  # what of the room this run draws (watch() compares against it)
with st.sidebar:
    sync.watch(page.url_path)  # the one timed update; first in the sidebar, drawn on every run
page.run()  # the page's text is drawn before the sidebar imports torch or touches a model
with st.sidebar:
    sidebar_view.sidebar(page.url_path)
    model_status.show()
    presenter_session.keep_presenter_cookie()  # after everything else: an invisible element, drawn once per room
    presenter_session.clear_presenter_cookie()  # once, after "Lock console"
