"""A learner who can come back: which lessons they opened and which demos they tried, stored under the browser's id
(components/common/identity.py) in the app's database, so the home page's course map survives a closed tab and a
server restart. Quiz answers and RLHF labels are already stored under the same id; the map reads them too.

A demo counts as tried when the learner changed something in it: `demo(name)` wraps a demo's drawing, learns the
session-state keys it creates (its widgets and results) and notes the demo when their values differ from the last run.
Writes happen once per lesson or demo per session; a database that is away costs the map, never the lesson.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from components.common import cache as app_cache
from components.common import identity

log = logging.getLogger("genai_lab.progress")

WRITTEN = "progress_written"      # session: {(kind, item)} already stored in this session
DEMO_KEYS = "progress_demo_keys"  # session: demo -> the session-state keys its drawing created
LAST = "progress_demo_last"       # session: demo -> fingerprint of those keys' values after the last run
_OWN_PREFIXES = ("progress_", "share_", "FormSubmitter:")


def record(kind: str, item: str) -> None:
    """Store that this learner opened a lesson ("lesson") or tried a demo ("demo"), once per session."""
    written = st.session_state.setdefault(WRITTEN, set())
    if (kind, item) in written:
        return
    try:
        app_cache.progress().record(identity.key(), kind, item)
    except Exception as exc:             # the course map is a convenience: a lesson never fails for it
        log.warning("progress not saved (%s %s): %s", kind, item, exc)
        return
    written.add((kind, item))


def lesson_opened(section_id: str) -> None:
    record("lesson", section_id)


def _fingerprint(value):
    """Cheap and change-sensitive: plain values as they are, small containers by their text, anything else by
    identity (a demo that stores a new result object has done something)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return hash(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)) and len(value) <= 64:
        try:
            return hash(repr(value))
        except Exception:
            return id(value)
    return id(value)


def _values(keys: set[str]) -> dict:
    return {k: _fingerprint(st.session_state.get(k)) for k in keys}


@contextmanager
def demo(name: str):
    """Draw a demo inside this: when the learner changed one of its widgets (or it stored a new result) since the
    last run, the demo is recorded as tried."""
    keys = st.session_state.setdefault(DEMO_KEYS, {})
    last = st.session_state.setdefault(LAST, {})
    known = keys.get(name, set())
    if name in last and _values(known) != last[name]:
        record("demo", name)
    before = set(st.session_state.keys())
    try:
        yield
    finally:
        created = {k for k in set(st.session_state.keys()) - before if not k.startswith(_OWN_PREFIXES)}
        keys[name] = known | created
        last[name] = _values(keys[name])


# ---------------------------------------------------------------------------------------------- the course map

@dataclass(frozen=True)
class SectionProgress:
    section: object                 # core.lessons.Section
    opened: bool
    demos: int                      # demos the lesson has
    tried: int                      # of which the learner tried
    questions: int                  # quiz questions about this section
    right: int                      # answered right at least once
    last_at: float                  # when the learner last opened the lesson (0 = never)

    @property
    def done(self) -> bool:
        return self.opened and self.tried >= self.demos and self.right >= self.questions


def course(sections, demo_names: dict[str, list[str]], rows: list[dict], attempts: list[dict],
           questions_by_section: dict[str, list[str]]) -> list[SectionProgress]:
    """Per section, what this learner has done: `rows` are their progress rows, `attempts` their quiz answers."""
    opened = {r["item"]: float(r["last_at"]) for r in rows if r["kind"] == "lesson"}
    tried = {r["item"] for r in rows if r["kind"] == "demo"}
    right = {a["question_id"] for a in attempts if a["correct"]}
    out = []
    for s in sections:
        names = demo_names.get(s.id, [])
        ids = questions_by_section.get(s.id, [])
        out.append(SectionProgress(s, s.id in opened, len(names), len(tried & set(names)), len(ids),
                                   len(right & set(ids)), opened.get(s.id, 0.0)))
    return out


def here(course_rows: list[SectionProgress]) -> SectionProgress | None:
    """The lesson opened last ("you are here"), or None before the first."""
    opened = [r for r in course_rows if r.opened]
    return max(opened, key=lambda r: r.last_at) if opened else None


def next_up(course_rows: list[SectionProgress]) -> SectionProgress | None:
    """The first lesson after "here" (in course order) that is not finished, else the first unfinished one."""
    current = here(course_rows)
    start = course_rows.index(current) + 1 if current is not None else 0
    for r in course_rows[start:] + course_rows[:start]:
        if not r.done and r is not current:
            return r
    return None
