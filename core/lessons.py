"""Lesson content: the ordered list of sections and each section's Markdown text.

Content lives in lessons/ so an instructor can edit it without touching Python.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.serving.settings import PROJECT_ROOT

LESSONS_DIR = PROJECT_ROOT / "lessons"
DEMO_MARKER = re.compile(r"^\s*<!--\s*demo:\s*([a-z0-9_-]+)\s*-->\s*$", re.MULTILINE)


class LessonError(ValueError):
    """A lesson file is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class Section:
    number: int     # 1-based position in the deck
    id: str         # also the page's URL path
    title: str
    icon: str       # a Streamlit icon, e.g. ":material/hub:"
    page: str       # page script, relative to the project root
    lesson: str     # Markdown file name inside lessons/
    summary: str


@dataclass(frozen=True)
class LessonPart:
    kind: str       # "markdown" or "demo"
    content: str    # Markdown text, or the demo's name


def load_sections(path: Path = LESSONS_DIR / "sections.yaml") -> list[Section]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LessonError(f"{path}: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise LessonError(f"{path}: expected a list of sections")
    sections, seen = [], set()
    for number, raw in enumerate(data, start=1):
        fields = ("id", "title", "icon", "page", "lesson", "summary")
        if not isinstance(raw, dict) or any(not isinstance(raw.get(f), str) or not raw[f] for f in fields):
            raise LessonError(f"{path}: section {number} needs non-empty text fields {fields}")
        if raw["id"] in seen:
            raise LessonError(f"{path}: duplicate section id {raw['id']!r}")
        seen.add(raw["id"])
        sections.append(Section(number=number, **{f: raw[f] for f in fields}))
    return sections


def section_by_id(section_id: str, sections: list[Section] | None = None) -> Section:
    for section in sections or load_sections():
        if section.id == section_id:
            return section
    raise LessonError(f"no section with id {section_id!r} in lessons/sections.yaml")


def lesson_text(section: Section, folder: Path = LESSONS_DIR) -> str:
    try:
        return (folder / section.lesson).read_text(encoding="utf-8")
    except OSError as exc:
        raise LessonError(f"lesson file for {section.title!r} cannot be read: {exc}") from exc


_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$", re.MULTILINE)


def anchor(heading: str) -> str:
    """The id Streamlit gives a Markdown heading: a word break where a lowercase letter meets a capital ("LoRA" ->
    "lo-ra", "GPUs" stays "gpus"), apostrophes dropped, lowercase, each run of other characters turned into one
    "-" ("Model cards: a model's leaflet" -> "model-cards-a-models-leaflet"). Checked against the page's real ids
    by tests/browser/test_pages.py."""
    text = re.sub(r"['’]", "", re.sub(r"([a-z])([A-Z])", r"\1-\2", heading))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def outline(markdown: str) -> list[tuple[str, str]]:
    """The lesson's second-level headings as (text, anchor), in order; code blocks are skipped."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    out = []
    for match in _HEADING.finditer(text):
        title = re.sub(r"[*_`]", "", match.group(1)).strip()
        if title:
            out.append((title, anchor(title)))
    return out


def split_demos(markdown: str) -> list[LessonPart]:
    """Cut a lesson at its `<!-- demo: NAME -->` markers: Markdown, demo, Markdown, ..."""
    parts, pos = [], 0
    for match in DEMO_MARKER.finditer(markdown):
        text = markdown[pos:match.start()]
        if text.strip():
            parts.append(LessonPart("markdown", text))
        parts.append(LessonPart("demo", match.group(1)))
        pos = match.end()
    if markdown[pos:].strip():
        parts.append(LessonPart("markdown", markdown[pos:]))
    return parts
