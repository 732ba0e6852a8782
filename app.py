"""GenAI Lab — the frame: page setup, navigation over the lesson pages, and the sidebar.

Run with `make run` (or `streamlit run app.py`). Pages live in pages/, lesson text in lessons/.
"""
import streamlit as st

from components import model_status, resources

st.set_page_config(page_title="GenAI Lab", page_icon=":material/school:", layout="wide")

home = st.Page("pages/00_home.py", title="Welcome", icon=":material/home:", default=True)
lessons = [st.Page(s.page, title=f"{s.number}. {s.title}", icon=s.icon, url_path=s.id) for s in resources.sections()]
page = st.navigation({"GenAI Lab": [home], "Lessons": lessons}, expanded=True)

page.run()  # the page's text is drawn before the sidebar imports torch or touches a model
with st.sidebar:
    model_status.show()
