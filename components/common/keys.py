"""Session-state keys that more than one file reads or writes, named once.

A key used by a single widget stays next to it (its `key=` argument); the ones here cross files."""

# workshop participant (components/workshop/room.py, sync.py, participant_view.py; read by the quiz and the analytics)
WS_ROOM = "ws_room"              # the room code this session joined
WS_NAME = "ws_name"              # the nickname it joined with
WS_SEAT = "ws_seat"              # the seat token: this browser's id (components/common/identity.py), never in the URL
WS_FOLLOW = "ws_follow"          # follow the presenter's page (the sidebar toggle)
WS_SEEN = "ws_seen"              # the room version this session has already followed
WS_DRAWN = "ws_drawn"            # what the page showed of the room at its last full run (see workshop/sync.watch)
WS_PAGE = "ws_page"              # (script hash, st.Page) of the page the last full run drew
WS_SENT = "ws_sent"              # (room, question seq, tile option or None) of an answer button just pressed
WS_SENT_RUN = "ws_sent_run"      # the same, moved there at the start of the full run that sends it

# presenter (components/workshop/presenter_session.py, presenter_view.py; read by app.py's frame and the sidebar)
PRESENTER_OK = "presenter_ok"        # this session entered the presenter key
PRESENTER_ROOM = "presenter_room"    # the room it presents
PRESENTER_MODE = "presenter_mode"    # large fonts on every page
PRESENTER_AUTO = "presenter_auto"    # the live quiz runs itself: reveal, pause, next question (workshop/sync.auto_step)
PRESENTER_LIMIT = "presenter_last_limit"   # the time limit of the last question launched (auto-advance reuses it)
PRESENTER_REVEALED = "presenter_revealed_at"   # {(room, seq): when this session saw the question revealed}

# self-paced quiz: the nickname answers are saved under
QUIZ_LEARNER = "quiz_learner_name"

# labs: the decoder the prompting and sampling demos use (components/common/decoder.py)
LAB_DECODER = "lab_decoder"
