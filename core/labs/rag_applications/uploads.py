"""Learners' own documents for page 11's knowledge base: .txt, .md and .pdf files, checked, cleaned and cut to size.

`read_upload` turns one file (its name and bytes) into an `Upload`: a `Document` with sections for citations, and a
note when the text had to be shortened. It raises `UploadError`, whose message is one sentence for the learner that
names the file. `add_uploads` adds a batch of files to the documents already uploaded and never raises: it skips
duplicates, renames files whose name is taken, keeps to `MAX_FILES`, and returns messages to show.

File names are shown later as literal text, so they are only trimmed here (base name, no control characters, at most
80 characters), not escaped. PDFs are read with pypdf in a child process with hard limits (pdf_worker.py): never
inside a server thread.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from core.labs.rag_applications import pdf_worker
from core.labs.rag_applications.documents import Document, Section, from_markdown, markdown_sections, page_sections

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 5
MAX_CHARS_PER_FILE = 200_000
MAX_PDF_PAGES = 200
MAX_NAME_CHARS = 80

TEXT_EXTENSIONS = (".txt",)
MARKDOWN_EXTENSIONS = (".md", ".markdown")
PDF_EXTENSIONS = (".pdf",)

_MB = 1024 * 1024
_BINARY_SAMPLE = 64 * 1024       # how much of a file the control-character test looks at
_BINARY_SHARE = 0.10             # more control characters than this share means "binary"
# C0 control characters other than tab, newline, carriage return and form feed, and DEL: rare in real text.
_ODD_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ODD_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# What cleaning removes from text: C0 controls except \t and \n (form feed and vertical tab become newlines first).
_STRIPPED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NAME_STRIPPED = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class UploadError(ValueError):
    """A file that cannot join the knowledge base; the message is one sentence for the learner, naming the file."""


@dataclass(frozen=True)
class Upload:
    document: Document
    note: str = ""               # e.g. that the text was shortened to MAX_CHARS_PER_FILE characters


# ---------------------------------------------------------------------------------------------------------- names

def clean_name(name: str) -> str:
    """The base name of an uploaded file (browsers may send a path), without control characters, at most 80
    characters (the extension is kept when the stem is cut). "upload" when nothing is left."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", _NAME_STRIPPED.sub("", base)).strip()
    if len(base) > MAX_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            base = stem[:MAX_NAME_CHARS - len(ext) - 1].rstrip() + "." + ext
        else:
            base = base[:MAX_NAME_CHARS].rstrip()
    return base or "upload"


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot >= 0 else ""


def _size(n_bytes: int) -> str:
    """Megabytes with one decimal, rounded up, so a file just over the limit never reads as "5.0 MB"."""
    return f"{math.ceil(n_bytes / _MB * 10) / 10:.1f} MB"


# ----------------------------------------------------------------------------------------------------------- text

def clean_text(text: str) -> str:
    """Newlines normalised (\\r\\n and \\r become \\n; form feed and vertical tab too), other C0 control characters
    except tab removed, NFC normalisation. Other Unicode (emoji, right-to-left text, zero-width characters) stays."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    return unicodedata.normalize("NFC", _STRIPPED.sub("", text))


def _looks_binary(sample: str | bytes) -> bool:
    if isinstance(sample, bytes):
        sample = sample[:_BINARY_SAMPLE]
        if b"\x00" in sample:
            return True
        odd = len(_ODD_CONTROL_BYTES.findall(sample))
    else:
        sample = sample[:_BINARY_SAMPLE]
        if "\x00" in sample:
            return True
        odd = len(_ODD_CONTROLS.findall(sample))
    return bool(sample) and odd / len(sample) > _BINARY_SHARE


def decode_text(name: str, data: bytes) -> str:
    """The text of a .txt or .md file: UTF-8 (with or without a BOM), or UTF-16 with a BOM; binary data refused."""
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise UploadError(f"{name} is not UTF-8 text; save it as UTF-8 and try again.") from None
    else:
        if _looks_binary(data):
            raise UploadError(f"{name} looks like a binary file, not text.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UploadError(f"{name} is not UTF-8 text; save it as UTF-8 and try again.") from None
    if _looks_binary(text):
        raise UploadError(f"{name} looks like a binary file, not text.")
    return clean_text(text)


def _truncate(name: str, text: str) -> tuple[str, str]:
    """The text cut to MAX_CHARS_PER_FILE characters (at a whitespace when there is one in the last tenth), and the
    note saying so ("" when nothing was cut)."""
    if len(text) <= MAX_CHARS_PER_FILE:
        return text, ""
    head = text[:MAX_CHARS_PER_FILE]
    if not text[MAX_CHARS_PER_FILE].isspace():
        cut = max(head.rfind(c) for c in " \n\t")
        if cut >= MAX_CHARS_PER_FILE * 9 // 10:
            head = head[:cut]
    head = head.rstrip()
    return head, (f"{name} is longer than {MAX_CHARS_PER_FILE:,} characters; "
                  f"only the first {len(head):,} were added.")


def _text_document(name: str, text: str, markdown: bool) -> Document:
    if markdown:
        return from_markdown(name, text, "upload")
    sections = markdown_sections(text)
    if not any(section.label for section in sections):
        sections = (Section(0, ""),)
    return Document(name=name, text=text, origin="upload", sections=sections)


# ------------------------------------------------------------------------------------------------------------ PDF

PDF_WALL_SECONDS = 8.0        # a PDF that takes longer to read is refused (the learner waits at most this long)
_WORKER = "core.labs.rag_applications.pdf_worker"


def read_pdf(name: str, data: bytes, wall_s: float = PDF_WALL_SECONDS) -> tuple[list[str], str]:
    """The cleaned text of each page of a PDF, and a note ("" if none). Refuses what is not a PDF, password-protected
    PDFs (an empty user password is tried first), PDFs over MAX_PDF_PAGES pages, PDFs without a text layer, and
    PDFs built to exhaust the server: the parse runs in a child process (pdf_worker.py) with CPU, memory and
    decompression limits, killed after `wall_s` seconds, so the server's threads never parse a PDF themselves."""

    if b"%PDF-" not in data[:1024]:
        raise UploadError(f"{name} could not be read as a PDF.")
    root = Path(__file__).resolve().parents[3]
    try:
        done = subprocess.run([sys.executable, "-m", _WORKER, str(MAX_PDF_PAGES), str(MAX_CHARS_PER_FILE)],
                              input=data, capture_output=True, timeout=wall_s, cwd=root,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "PYTHONNOUSERSITE": "1"})
    except subprocess.TimeoutExpired:
        raise UploadError(f"{name} took more than {wall_s:g} s to read, so it was not added (a PDF that slow is "
                          "damaged or built to stall the server).") from None
    try:
        report = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        report = {"outcome": "memory" if done.returncode else "unreadable"}   # killed by a limit (CPU, memory)
    outcome = report.get("outcome")
    if outcome == "memory":
        raise UploadError(f"{name} needs more than {pdf_worker.MEMORY_BYTES // _MB:,} MB of memory to read, so it "
                          "was not added.")
    if outcome == "password":
        raise UploadError(f"{name} is password-protected; remove the password and try again.")
    if outcome == "encrypted":
        raise UploadError(f"{name} is encrypted in a way this app cannot open; "
                          f"save an unencrypted copy and try again.")
    if outcome == "too_many_pages":
        raise UploadError(f"{name} has {report['n_pages']} pages; the limit is {MAX_PDF_PAGES}.")
    if outcome == "empty":
        raise UploadError(f"{name} is empty.")
    if outcome != "ok":
        raise UploadError(f"{name} could not be read as a PDF.")
    n_pages, heavy, failed = report["n_pages"], report["heavy"], report["failed"]
    pages = [clean_text(text).strip() for text in report["pages"]]
    limit = (f"over {pdf_worker.MAX_STREAM_BYTES / 1e6:g} MB or {pdf_worker.MAX_PARSE_WORK:,} drawing operations "
             "on a page")
    if not any(pages):
        if heavy:
            raise UploadError(f"{name} expands to more than this app reads ({limit}), so it was not read.")
        if failed == len(pages):
            raise UploadError(f"{name} could not be read as a PDF.")
        raise UploadError(f"{name} has no text layer (a scan?), so there is no text to search.")
    notes = []
    if heavy:
        notes.append(f"{heavy} of the {n_pages} pages of {name} expand to more than this app reads ({limit}) and "
                     "were left out.")
    if failed:
        notes.append(f"{failed} of the {n_pages} pages of {name} could not be read and were left out.")
    if report.get("stopped_at") and sum(len(page) for page in pages) < MAX_CHARS_PER_FILE:
        notes.append(f"{name} holds more page content than this app reads ({pdf_worker.MAX_TOTAL_CONTENT // 1_000_000} "
                     f"MB); pages {report['stopped_at']}–{n_pages} were left out.")
    return pages, " ".join(notes)


def _pdf_document(name: str, pages: list[str]) -> tuple[Document, str]:
    starts, offset = [], 0
    for text in pages:
        starts.append(offset)
        offset += len(text) + 2
    text, note = _truncate(name, "\n\n".join(pages))
    starts = [start for start in starts if start < len(text)] or [0]
    return Document(name=name, text=text, origin="upload", sections=page_sections(starts)), note


# ----------------------------------------------------------------------------------------------------------- API

def read_upload(name: str, data: bytes) -> Upload:
    """One uploaded file as a Document of origin "upload", with a note when its text was shortened.
    Raises UploadError (a one-sentence message naming the file) when the file cannot be used."""
    name = clean_name(name)
    ext = _extension(name)
    if ext not in TEXT_EXTENSIONS + MARKDOWN_EXTENSIONS + PDF_EXTENSIONS:
        raise UploadError(f"Only .txt, .md and .pdf files can be added; {name} is not one.")
    if not data:
        raise UploadError(f"{name} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise UploadError(f"{name} is {_size(len(data))}; the limit is {MAX_FILE_BYTES // _MB} MB.")

    if ext in PDF_EXTENSIONS:
        pages, pdf_note = read_pdf(name, data)
        document, note = _pdf_document(name, pages)
        return Upload(document, " ".join(n for n in (pdf_note, note) if n))

    text = decode_text(name, data)
    if not text.strip():
        raise UploadError(f"{name} is empty.")
    text, note = _truncate(name, text)
    return Upload(_text_document(name, text, markdown=ext in MARKDOWN_EXTENSIONS), note)


def content_hash(document: Document) -> str:
    """What makes two documents "the same": their text (after cleaning), whatever their names."""
    return hashlib.sha256(document.text.encode("utf-8")).hexdigest()


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or "name (2).md", "name (3).md", ... : the first that is not taken (compared ignoring case)."""
    if name.casefold() not in taken:
        return name
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    n = 2
    while True:
        suffix = f" ({n}){ext}"
        candidate = stem[:MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
        n += 1


def add_uploads(existing: list[Document], uploads: list[tuple[str, bytes]]) -> tuple[list[Document], list[str]]:
    """`existing` plus the files of `uploads` that could be read, and the messages to show (refusals and notes),
    in upload order. Never raises.

    A file with the same text as an existing document or an earlier file of the batch is skipped; one whose name is
    taken by a different document is renamed "name (2).md". At most MAX_FILES documents of origin "upload" are kept
    (`existing` may also hold shipped documents: they count for names and duplicates, not for the limit)."""
    documents = list(existing)
    messages: list[str] = []
    names = {doc.name.casefold() for doc in documents}
    hashes = {content_hash(doc): doc.name for doc in documents}
    n_uploaded = sum(doc.origin == "upload" for doc in documents)

    for raw_name, data in uploads:
        name = clean_name(raw_name)
        if n_uploaded >= MAX_FILES:
            messages.append(f"Only {MAX_FILES} uploaded files fit; {name} was not added.")
            continue
        try:
            upload = read_upload(raw_name, data)
        except UploadError as error:
            messages.append(str(error))
            continue
        except Exception:                           # never let one odd file break the page
            messages.append(f"{name} could not be read.")
            continue
        document = upload.document
        digest = content_hash(document)
        if digest in hashes:
            messages.append(f"{document.name} is the same as {hashes[digest]}, skipped.")
            continue
        if upload.note:
            messages.append(upload.note)
        new_name = _free_name(document.name, names)
        if new_name != document.name:
            messages.append(f"{document.name} was added as {new_name}, because that name was already taken.")
            document = replace(document, name=new_name)
        documents.append(document)
        names.add(document.name.casefold())
        hashes[digest] = document.name
        n_uploaded += 1
    return documents, messages
