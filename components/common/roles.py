"""What this session may do on the shared server: the workshop room it is in, and whether it presents it.

In a room, whatever runs on the server for everyone (training runs, labeling rounds) is the presenter's to start and
the participants' to watch. Outside a room everybody is a learner on their own, within their quotas."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components.common import keys

PRESENTER_ONLY = ("In a workshop room the presenter starts the runs on the shared server, and everyone watches "
                  "theirs here. Leave the room (sidebar) to run one of your own.")


@dataclass(frozen=True)
class Role:
    room: str          # the room this session joined or presents ("" outside a workshop)
    presenter: bool    # this session holds the presenter key

    @property
    def watches(self) -> bool:
        """A participant in a room: sees the presenter's runs, starts none."""
        return bool(self.room) and not self.presenter

    @property
    def leads(self) -> bool:
        """The presenter of a room: their runs are the room's."""
        return bool(self.room) and self.presenter


def current() -> Role:
    presenter = bool(st.session_state.get(keys.PRESENTER_OK))
    room = st.session_state.get(keys.PRESENTER_ROOM) if presenter else None
    room = room or st.session_state.get(keys.WS_ROOM) or ""
    return Role(str(room), presenter)


def start_button(label: str, key: str, **kwargs) -> bool:
    """A button that starts work on the shared server for everyone to see (a training run, a pruned copy):
    disabled, with one line saying why, for a participant in a workshop room."""
    watches = current().watches
    if watches:
        st.caption(PRESENTER_ONLY)
    return st.button(label, key=key, disabled=watches, **kwargs)
