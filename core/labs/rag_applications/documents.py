"""The knowledge base of page 11: documents, their sections (for citations) and the shipped corpus.

A `Document` is plain text with a name and a list of `Section`s: the places a citation can point to. Markdown
headings make sections numbered in order (`handbook.md §3`); a PDF's pages make sections too (`report.pdf p. 2`);
plain text without headings is one section, cited by its name alone. Uploads are parsed in uploads.py.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from core.serving.settings import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "lessons" / "data" / "rag"
LESSONS_DIR = PROJECT_ROOT / "lessons"

# Shipped documents, in the order the page lists them. The handbook and the biography are fiction written for this
# app, so no model can know their facts; `injection.md` is kept out of the default corpus (page 11's injection demo
# adds it).
HANDBOOK = "handbook.md"
BIOGRAPHY = "marchetti-voss.md"
INJECTION = "injection.md"
SHIPPED = (HANDBOOK, BIOGRAPHY)

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_LEADING_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)[.)]?\s+")


@dataclass(frozen=True)
class Section:
    start: int          # character offset where the section begins
    label: str          # what a citation writes after the document's name: "§3", "p. 2", "" (whole document)
    title: str = ""


@dataclass(frozen=True)
class Document:
    name: str                                   # file name, shown in citations
    text: str
    origin: str = "shipped"                     # "shipped", "lesson" or "upload"
    sections: tuple[Section, ...] = field(default=())

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.name}\0{self.text}".encode("utf-8")).hexdigest()[:16]

    def section_at(self, offset: int) -> Section:
        """The section a character offset falls in (the first one for offsets before every section)."""
        current = self.sections[0] if self.sections else Section(0, "")
        for section in self.sections:
            if section.start <= offset:
                current = section
            else:
                break
        return current

    def cite(self, offset: int) -> str:
        """The citation for text starting at `offset`: "handbook.md §3"."""
        label = self.section_at(offset).label
        return f"{self.name} {label}" if label else self.name


def markdown_sections(text: str) -> tuple[Section, ...]:
    """Sections of a Markdown text: one per heading. A heading that starts with a number ("3. Leave") is cited by
    that number; otherwise headings are numbered in order of appearance. A title (the only `# …` heading, at the very
    top) is cited by the document's name alone."""
    sections: list[Section] = []
    index = 0
    for match in _HEADING.finditer(text):
        title = match.group(2).strip()
        if len(match.group(1)) == 1 and not text[:match.start()].strip() and len(re.findall(r"^# ", text, re.M)) == 1:
            sections.append(Section(match.start(), "", title))      # the document's title: cite the name alone
            continue
        index += 1
        number = _LEADING_NUMBER.match(title)
        sections.append(Section(match.start(), f"§{number.group(1) if number else index}", title))
    if not sections or sections[0].start > 0:
        sections.insert(0, Section(0, "", ""))
    return tuple(sections)


def page_sections(page_starts: list[int]) -> tuple[Section, ...]:
    """Sections of a text made by joining pages: page n starts at page_starts[n-1]."""
    return tuple(Section(start, f"p. {n}", f"page {n}") for n, start in enumerate(page_starts, start=1)) \
        or (Section(0, ""),)


def from_markdown(name: str, text: str, origin: str) -> Document:
    return Document(name=name, text=text, origin=origin, sections=markdown_sections(text))


def shipped(name: str) -> Document:
    return from_markdown(name, (DATA_DIR / name).read_text(encoding="utf-8"), "shipped")


def lessons() -> list[Document]:
    """This app's own lessons (the Markdown without demo markers), cited by file name and heading number."""
    marker = re.compile(r"^\s*<!--.*?-->\s*$", re.MULTILINE)
    docs = []
    for path in sorted(LESSONS_DIR.glob("[0-9][0-9]_*.md")):
        if path.stem.endswith("quiz"):
            continue
        docs.append(from_markdown(path.name, marker.sub("", path.read_text(encoding="utf-8")).strip() + "\n",
                                  "lesson"))
    return docs


def corpus(with_lessons: bool = True) -> list[Document]:
    """The shipped knowledge base: the fictional handbook and biography, and optionally the app's lessons."""
    docs = [shipped(name) for name in SHIPPED]
    return docs + (lessons() if with_lessons else [])


def corpus_key(docs: list[Document]) -> str:
    """A short hash naming a list of documents (their names and texts), for caches and persisted indexes."""
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(doc.digest.encode())
    return digest.hexdigest()[:16]
