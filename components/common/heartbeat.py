"""A browser-side timer for fragments that must keep refreshing (the workshop's `watch`, page 7's live race),
alongside Streamlit's own `run_every`.

Why: with ten participants on a loaded 2-core server, a participant's page sometimes stopped updating for good: no
blank page, no error, the script idle, and — the live-round bench's websocket log shows it — the tab had sent
nothing to the server for 80 s and more. Streamlit keeps `run_every` timers in the browser and clears them all at the
start of every full run, counting on the run to register them again; under load a follower occasionally ends up
with no timer at all, so the room's next move never reaches it (bench/live_round.py).

This component owns its own `setInterval` in the page. Its life is the element's: the element is drawn inside
`watch` on every full run, so while the page shows, the timer runs. Each tick sets a trigger value, which reruns
only the fragment that holds it (`watch`), exactly like a `run_every` tick. The timer starts at a random offset, so a
room of thirty does not tick in step.

`live` builds on it for panels that show a state the whole room shares (a labeling round, a training run): the
timer lives in a tiny fragment of its own, and the panel is redrawn only when what it shows has changed.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable

import streamlit as st

_JS = """
export default function (component) {
  const { setTriggerValue, data } = component;
  const every = Math.max(500, Number((data && data.ms) || 3000));
  let timer = null;
  const start = setTimeout(() => {
    timer = setInterval(() => setTriggerValue("tick", Date.now()), every);
  }, Math.random() * every);
  return () => { clearTimeout(start); if (timer !== null) clearInterval(timer); };
}
"""

_COMPONENT = st.components.v2.component("genai_lab_heartbeat", js=_JS)


def beat(key: str, seconds: float) -> None:
    """Draw the (invisible) timer; call it inside the fragment it should rerun every `seconds`."""
    _COMPONENT(key=key, data={"ms": int(seconds * 1000)}, on_tick_change=lambda: None, height=0)


def live(key: str, draw: Callable[[], None], seconds: float, signature: Callable[[], Hashable]) -> None:
    """Draw `draw` as a fragment (keyed `key`) that follows a shared state, redrawn only when that state changed.

    A room of 100 watching the same round or training run used to redraw every panel on every tick (charts, tables:
    the server's single Python thread spent its time drawing what had not changed). Here a second, invisible
    fragment holds the timer; on each tick its callback compares `signature()` (cheap: a cached read, a job's
    version) with the one the drawing was made for, and reruns the drawing's fragment only when they differ.
    Otherwise the tick reruns the watcher alone, which draws one invisible element."""
    drawn = f"{key}_drawn_signature"

    def drawing() -> None:
        st.session_state[drawn] = signature()      # taken first: a change while drawing shows at the next tick
        draw()

    watch = f"{key}_watch"

    def changed() -> None:
        if signature() != st.session_state.get(drawn):
            # Both fragments: a keyed rerun replaces the tick's own rerun of the watcher, and a watcher left out of
            # the run could lose its timer (the panel then froze on its first redraw, now and then, in CI).
            st.rerun(scope=[key, watch])

    def watcher() -> None:
        _COMPONENT(key=f"{key}_beat", data={"ms": int(seconds * 1000)}, on_tick_change=changed, height=0)

    st.fragment(drawing, key=key)()
    st.fragment(watcher, key=watch)()
