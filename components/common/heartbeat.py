"""A browser-side timer for fragments that must keep refreshing (the workshop's `watch`, page 7's live race),
alongside Streamlit's own `run_every`.

Why: with ten participants on a loaded 2-core server, a participant's page sometimes stopped updating for good: no
blank page, no error, the script idle, and — the live-round bench's websocket log shows it — the tab had sent
nothing to the server for 80 s and more. Streamlit keeps `run_every` timers in the browser and clears them all at the
start of every full run, counting on the run to register them again; under load a follower occasionally ends up
with no timer at all, so the room's next move never reaches it (bench/live_round.py, issue 10).

This component owns its own `setInterval` in the page. Its life is the element's: the element is drawn inside
`watch` on every full run, so while the page shows, the timer runs. Each tick sets a trigger value, which reruns
only the fragment that holds it (`watch`), exactly like a `run_every` tick. The timer starts at a random offset, so a
room of thirty does not tick in step.
"""
from __future__ import annotations

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
