"""Links that reproduce an experiment: the text and settings of a demo travel in the address, so a learner can send a
classmate (or put in a slide) the exact tokenizer text, prompt and sampling knobs, metrics pair or RAG question.

A demo lists its `Field`s (a short name in the address, the widget's session-state key, how to read the value) and
calls `apply` before drawing its widgets: a link's values are copied into the widgets once per link, so the learner
can change them afterwards. `link` draws "Link to this experiment": the address with the demo's current values, in
a code box with a copy button. Values are checked like typed input (numbers clamped to the widget's range, text
cut to its limit); a part of a link that cannot be used is named in one sentence, and the rest still applies.
Parameters are namespaced by demo (`sampling.temperature=0.7`), so two demos on one page never collide.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

MAX_LINK_TEXT = 2000         # characters of one text field in a link (a browser's address holds about 32k)


@dataclass(frozen=True)
class Field:
    param: str                   # its name in the address, after the demo's ("temperature")
    key: str                     # the widget's session-state key
    kind: type = str             # str, int, float or bool
    low: float | None = None     # numbers: the widget's range
    high: float | None = None
    max_chars: int = MAX_LINK_TEXT
    choices: tuple[str, ...] = ()   # text: the only values allowed (a selectbox's options), empty = any

    def parse(self, raw: str):
        """The value for the widget, or raise ValueError with what is wrong."""
        if self.kind is bool:
            if raw.lower() not in ("1", "0", "true", "false"):
                raise ValueError(f"“{self.param}” is not on or off")
            return raw.lower() in ("1", "true")
        if self.kind is str:
            text = raw.replace("\x00", "")[:self.max_chars]
            if self.choices and text not in self.choices:
                raise ValueError(f"“{self.param}” is not one of the choices")
            return text
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"“{self.param}” is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"“{self.param}” is not a finite number")
        if self.kind is int:
            if number != int(number):
                raise ValueError(f"“{self.param}” is not a whole number")
            number = int(number)
        if self.low is not None:
            number = max(number, type(number)(self.low))
        if self.high is not None:
            number = min(number, type(number)(self.high))
        return number


def _params(demo: str, fields: Sequence[Field]) -> dict[str, str]:
    return {f.param: st.query_params[f"{demo}.{f.param}"] for f in fields if f"{demo}.{f.param}" in st.query_params}


def apply(demo: str, fields: Sequence[Field]) -> bool:
    """Copy a link's values for `demo` into its widgets (call before drawing them). Once per link: the learner's own
    changes are kept on later reruns. True when a link was applied in this run."""
    given = _params(demo, fields)
    if not given:
        return False
    signature = tuple(sorted(given.items()))
    done = f"share_{demo}_applied"
    if st.session_state.get(done) == signature:
        return False
    st.session_state[done] = signature
    problems = []
    for f in fields:
        if f.param in given:
            try:
                st.session_state[f.key] = f.parse(given[f.param])
            except ValueError as exc:
                problems.append(str(exc))
    if problems:
        st.warning("Part of this link could not be used (" + "; ".join(problems) + "); the rest is applied.")
    else:
        st.toast("The shared experiment's settings are filled in.", icon=":material/link:")
    return True


def url(demo: str, fields: Sequence[Field], base: str | None = None) -> str:
    """The address of this page with `demo`'s current values (other parameters of the page dropped)."""
    params = {}
    for f in fields:
        value = st.session_state.get(f.key)
        if value is None:
            continue
        params[f"{demo}.{f.param}"] = (str(value)[:f.max_chars] if f.kind is str else str(int(value))
                                       if f.kind is bool else f"{value:g}" if isinstance(value, float) else str(value))
    parts = urlsplit(base if base is not None else (st.context.url or ""))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), ""))


def link(demo: str, fields: Sequence[Field], what: str = "these settings") -> None:
    """A "Link to this experiment" popover: the address with the demo's values, ready to copy."""
    with st.popover("Link to this experiment", icon=":material/link:"):
        st.caption(f"Whoever opens this link sees this demo with {what}.")
        st.code(url(demo, fields), language=None, wrap_lines=True)
