"""GenAI Lab's server: `streamlit run server.py` (what `make run` does).

Streamlit's own server running app.py, with what a shared workshop server needs around it (web/): each browser
gets an id cookie (quotas and progress per person, not per tab), clients cannot clear the server's caches, a
browser that reconnects (to this replica after another died) gets its page redrawn, and running out of file
descriptors turns new connections away instead of spinning. `streamlit run app.py` still works for a quick look,
without those guards.
"""
from core.serving import openmp

openmp.configure()  # before anything imports torch (see core/serving/openmp.py)

from starlette.middleware import Middleware  # noqa: E402
from streamlit.starlette import App  # noqa: E402

from web.identity import BrowserIdentity  # noqa: E402
from web.messages import FullRunOnNewSocket, RefuseClientCacheClear  # noqa: E402
from web.startup import lifespan  # noqa: E402

app = App("app.py", lifespan=lifespan,
          middleware=[Middleware(RefuseClientCacheClear), Middleware(FullRunOnNewSocket), Middleware(BrowserIdentity)])
