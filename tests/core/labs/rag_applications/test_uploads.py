"""Uploads for page 11's knowledge base: .txt/.md/.pdf parsing, limits, refusals, cleaning, duplicates and renames."""
from __future__ import annotations

import io
import os

import pytest

from core.labs.rag_applications import uploads as up
from core.labs.rag_applications.documents import Document, Section
from core.labs.rag_applications.uploads import UploadError, add_uploads, read_upload


# ---- hand-made PDFs ------------------------------------------------------------------------------------------
def make_pdf(contents: list[bytes]) -> bytes:
    """A minimal PDF: one page per content stream (Helvetica as /F1), with a correct xref table."""
    objects: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
                                 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for index, content in enumerate(contents):
        page_id, stream_id = 4 + 2 * index, 5 + 2 * index
        kids.append(b"%d 0 R" % page_id)
        objects[page_id] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % stream_id)
        objects[stream_id] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def text_page(text: str) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % text.encode("latin-1")


def encrypted(pdf: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password, owner_password="owner-secret")     # RC4: needs no `cryptography`
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


HELLO_PDF = make_pdf([text_page("Hello handbook")])


def refused(name: str, data: bytes) -> str:
    with pytest.raises(UploadError) as info:
        read_upload(name, data)
    return str(info.value)


# ---- text and Markdown -----------------------------------------------------------------------------------------
def test_markdown_upload_has_heading_sections_and_citations():
    text = "Intro line.\n\n# 1. Leave\nTen days.\n\n## Remote work\nTwo days a week.\n"
    upload = read_upload("policy.md", text.encode())
    doc = upload.document
    assert upload.note == "" and doc.origin == "upload" and doc.name == "policy.md" and doc.text == text
    assert [s.label for s in doc.sections] == ["", "§1", "§2"]
    assert doc.cite(0) == "policy.md"
    assert doc.cite(text.index("Ten days")) == "policy.md §1"
    assert doc.cite(text.index("Two days")) == "policy.md §2"


def test_markdown_extension_and_case():
    doc = read_upload("NOTES.MARKDOWN", b"# A\nb\n## B\nc\n").document
    assert [s.label for s in doc.sections] == ["", "§1"]      # the title is cited by the file name alone
    assert read_upload("Notes.MD", b"# A\nb\n").document.name == "Notes.MD"


def test_plain_text_without_headings_is_one_section():
    doc = read_upload("notes.txt", b"Just some notes.\n#hashtag is no heading\n").document
    assert doc.sections == (Section(0, ""),)
    assert doc.cite(10) == "notes.txt"


def test_plain_text_with_headings_gets_sections():
    text = "# Setup\nInstall it.\n# Use\nRun it.\n"
    doc = read_upload("guide.txt", text.encode()).document
    assert [s.label for s in doc.sections] == ["§1", "§2"]
    assert doc.cite(text.index("Run it")) == "guide.txt §2"


def test_utf8_bom_is_dropped_and_utf16_with_bom_is_read():
    assert read_upload("a.txt", b"\xef\xbb\xbfCaf\xc3\xa9").document.text == "Café"
    assert read_upload("b.txt", "Grüße\r\n".encode("utf-16")).document.text == "Grüße\n"
    assert read_upload("c.txt", b"\xfe\xff" + "Hi".encode("utf-16-be")).document.text == "Hi"


def test_not_utf8_is_refused():
    assert refused("latin.txt", "Café crème".encode("latin-1")) == \
        "latin.txt is not UTF-8 text; save it as UTF-8 and try again."


def test_newlines_and_control_characters_are_normalised():
    doc = read_upload("w.txt", b"one\r\ntwo\rthree\n\tfour\x1b[0m\x07 five\x0cSix").document
    assert doc.text == "one\ntwo\nthree\n\tfour[0m five\nSix"


def test_nfc_normalisation():
    assert read_upload("n.txt", "Cafe\u0301".encode()).document.text == "Caf\u00e9"


def test_nul_bytes_and_random_bytes_are_refused_even_as_txt():
    assert refused("nul.txt", b"hello\x00world") == "nul.txt looks like a binary file, not text."
    assert "looks like a binary file" in refused("random.txt", os.urandom(4096))
    assert "looks like a binary file" in refused("controls.md", bytes(range(1, 32)) * 20)
    assert "looks like a binary file" in refused("wide.txt", b"\xff\xfe" + b"\x00\x00" * 50)


@pytest.mark.parametrize("name", ["report.docx", "setup.exe", "README", "photo.PNG", "archive.md.zip"])
def test_other_extensions_are_refused(name):
    assert refused(name, b"anything").startswith("Only .txt, .md and .pdf files can be added")


def test_empty_and_whitespace_only():
    assert refused("empty.txt", b"") == "empty.txt is empty."
    assert refused("blank.md", b"  \n\t\r\n  ") == "blank.md is empty."
    assert refused("empty.pdf", b"") == "empty.pdf is empty."


def test_too_big_is_refused_with_its_size():
    data = b"a" * (50 * 1024 * 1024)
    assert refused("huge.txt", data) == "huge.txt is 50.0 MB; the limit is 5 MB."
    del data
    just_over = b"a" * (up.MAX_FILE_BYTES + 1)
    assert "is 5.1 MB; the limit is 5 MB" in refused("big.md", just_over)


def test_long_text_is_truncated_at_whitespace_with_a_note():
    words = ("lorem ipsum dolor " * 20_000).encode()          # 360,000 characters
    upload = read_upload("long.txt", words)
    text = upload.document.text
    assert len(text) <= up.MAX_CHARS_PER_FILE and len(text) > up.MAX_CHARS_PER_FILE - 20
    assert words.decode().startswith(text) and text.split()[-1] in {"lorem", "ipsum", "dolor"}
    assert "long.txt is longer than 200,000 characters" in upload.note
    assert f"only the first {len(text):,} were added" in upload.note


def test_text_at_the_limit_is_not_truncated():
    upload = read_upload("exact.txt", b"x" * up.MAX_CHARS_PER_FILE)
    assert upload.note == "" and len(upload.document.text) == up.MAX_CHARS_PER_FILE


def test_odd_unicode_is_kept():
    text = "Emoji 🧪👩🏽‍🔬, Hebrew שלום, Arabic مرحبا, RTL mark \u200f, zero\u200bwidth, joiner a\u200db.\n"
    assert read_upload("odd.md", text.encode()).document.text == text


def test_html_is_kept_as_literal_text():
    text = '<script>alert("x")</script>\n<b>bold</b> &amp; <!-- comment -->\n'
    assert read_upload("page.txt", text.encode()).document.text == text
    assert read_upload("page.md", text.encode()).document.text == text


def test_names_are_sanitised():
    assert read_upload("C:\\Users\\me\\notes.txt", b"x").document.name == "notes.txt"
    assert read_upload("../../etc/notes.md", b"x").document.name == "notes.md"
    assert read_upload("ev\x00il\x1b\n.txt", b"x").document.name == "evil.txt"
    long_name = read_upload("n" * 200 + ".md", b"x").document.name
    assert len(long_name) == 80 and long_name.endswith(".md")
    assert read_upload("<b>x&amp;.txt", b"x").document.name == "<b>x&amp;.txt"     # literal, not escaped here


# ---- PDF -------------------------------------------------------------------------------------------------------
def test_pdf_with_text_layer():
    upload = read_upload("hello.pdf", HELLO_PDF)
    doc = upload.document
    assert upload.note == "" and doc.origin == "upload"
    assert "Hello handbook" in doc.text
    assert [s.label for s in doc.sections] == ["p. 1"]
    assert doc.cite(0) == "hello.pdf p. 1"


def test_multi_page_pdf_sections_and_citations():
    pdf = make_pdf([text_page("Alpha page"), text_page("Beta page"), text_page("Gamma page")])
    doc = read_upload("Report.PDF", pdf).document
    assert doc.text == "Alpha page\n\nBeta page\n\nGamma page"
    assert [s.label for s in doc.sections] == ["p. 1", "p. 2", "p. 3"]
    assert [s.start for s in doc.sections] == [0, doc.text.index("Beta"), doc.text.index("Gamma")]
    assert doc.cite(doc.text.index("Alpha")) == "Report.PDF p. 1"
    assert doc.cite(doc.text.index("page", 12)) == "Report.PDF p. 2"
    assert doc.cite(doc.text.index("Gamma")) == "Report.PDF p. 3"


def test_pdf_with_an_empty_page_keeps_page_numbers():
    doc = read_upload("gap.pdf", make_pdf([text_page("First"), b"", text_page("Third")])).document
    assert doc.cite(doc.text.index("Third")) == "gap.pdf p. 3"


def test_pdf_without_text_layer_is_refused():
    assert refused("scan.pdf", make_pdf([b"", b""])).startswith("scan.pdf has no text layer (a scan?)")


def test_password_protected_pdf_is_refused():
    assert refused("secret.pdf", encrypted(HELLO_PDF, "secret")) == \
        "secret.pdf is password-protected; remove the password and try again."


def test_pdf_encrypted_with_an_empty_user_password_is_read():
    doc = read_upload("locked.pdf", encrypted(HELLO_PDF, "")).document
    assert "Hello handbook" in doc.text and doc.cite(0) == "locked.pdf p. 1"


def test_aes_pdf_without_cryptography_is_refused(monkeypatch):
    """The worker reports it (pypdf needs `cryptography` for AES) and the server says it in one sentence."""
    import subprocess

    import pypdf
    from pypdf.errors import DependencyError

    from core.labs.rag_applications import pdf_worker

    def needs_cryptography(*args, **kwargs):
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(pypdf, "PdfReader", needs_cryptography)
    report = pdf_worker.extract(HELLO_PDF, 200, 1000)
    assert report == {"outcome": "encrypted"}
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, b'{"outcome": '
                                                                                          b'"encrypted"}', b""))
    assert "is encrypted in a way this app cannot open" in refused("aes.pdf", HELLO_PDF)


@pytest.mark.parametrize("data", [b"hello, not a pdf", b"%PDF-1.4\ngarbage", b"%PDF-1.7\n" + bytes(range(256)) * 8,
                                  HELLO_PDF[: len(HELLO_PDF) // 2]])
def test_not_a_pdf_is_refused(data):
    assert refused("fake.pdf", data) == "fake.pdf could not be read as a PDF."


def test_too_many_pdf_pages_is_refused(monkeypatch):
    monkeypatch.setattr(up, "MAX_PDF_PAGES", 2)
    pdf = make_pdf([text_page("a"), text_page("b"), text_page("c")])
    assert refused("thick.pdf", pdf) == "thick.pdf has 3 pages; the limit is 2."


def test_long_pdf_is_truncated_and_keeps_only_pages_in_the_text(monkeypatch):
    monkeypatch.setattr(up, "MAX_CHARS_PER_FILE", 25)
    pdf = make_pdf([text_page("one two three"), text_page("four five six"), text_page("seven eight")])
    upload = read_upload("cut.pdf", pdf)
    assert upload.document.text == "one two three\n\nfour five"
    assert [s.label for s in upload.document.sections] == ["p. 1", "p. 2"]
    assert "cut.pdf is longer than 25 characters" in upload.note


# ---- add_uploads -------------------------------------------------------------------------------------------------
def test_add_uploads_adds_and_reports_refusals_without_raising():
    docs, messages = add_uploads([], [("a.md", b"# A\nalpha\n"), ("b.exe", b"MZ"), ("c.txt", b""),
                                      ("d.pdf", HELLO_PDF)])
    assert [d.name for d in docs] == ["a.md", "d.pdf"]
    assert messages == ["Only .txt, .md and .pdf files can be added; b.exe is not one.", "c.txt is empty."]


def test_duplicates_are_skipped():
    first, _ = add_uploads([], [("a.md", b"same text\n")])
    docs, messages = add_uploads(first, [("copy.md", b"same text\r\n"), ("b.txt", b"other"), ("c.txt", b"other")])
    assert [d.name for d in docs] == ["a.md", "b.txt"]
    assert messages == ["copy.md is the same as a.md, skipped.", "c.txt is the same as b.txt, skipped."]


def test_same_name_different_content_is_renamed():
    first, _ = add_uploads([], [("notes.md", b"version one")])
    docs, messages = add_uploads(first, [("notes.md", b"version two"), ("NOTES.md", b"version three")])
    assert [d.name for d in docs] == ["notes.md", "notes (2).md", "NOTES (3).md"]
    assert docs[1].text == "version two" and docs[1].cite(0) == "notes (2).md"
    assert messages[0] == "notes.md was added as notes (2).md, because that name was already taken."


def test_shipped_documents_count_for_names_and_duplicates_but_not_the_limit():
    shipped = [Document("handbook.md", "the handbook\n", "shipped", (Section(0, ""),))]
    docs, messages = add_uploads(shipped, [("handbook.md", b"mine\n"), ("x.md", b"the handbook\n")]
                                 + [(f"f{i}.txt", f"file {i}".encode()) for i in range(4)])
    assert [d.name for d in docs] == ["handbook.md", "handbook (2).md", "f0.txt", "f1.txt", "f2.txt", "f3.txt"]
    assert "x.md is the same as handbook.md, skipped." in messages


def test_max_files_in_total():
    existing, _ = add_uploads([], [(f"old{i}.txt", f"old {i}".encode()) for i in range(3)])
    docs, messages = add_uploads(existing, [(f"new{i}.txt", f"new {i}".encode()) for i in range(4)])
    assert len(docs) == up.MAX_FILES == 5
    assert [d.name for d in docs][-2:] == ["new0.txt", "new1.txt"]
    assert messages == ["Only 5 uploaded files fit; new2.txt was not added.",
                        "Only 5 uploaded files fit; new3.txt was not added."]


def test_truncation_note_is_a_message():
    docs, messages = add_uploads([], [("long.txt", b"word " * 50_000)])
    assert len(docs) == 1 and messages and "long.txt is longer than 200,000 characters" in messages[0]


def test_add_uploads_survives_unexpected_errors(monkeypatch):
    def boom(name, data):
        raise RuntimeError("parser bug")
    monkeypatch.setattr(up, "read_upload", boom)
    docs, messages = add_uploads([], [("a.txt", b"x")])
    assert docs == [] and messages == ["a.txt could not be read."]


# ---- PDFs built to exhaust the server: parsed in a child process with limits (pdf_worker.py)

def test_a_pdf_bomb_gets_one_sentence_in_seconds_and_the_server_keeps_working():
    import threading
    import time

    from tests.core.labs.rag_applications.crafted_pdfs import bomb

    data = bomb(megabytes=4, pages=200, text=True)      # ~37 KB that expand to 4 MB of text operators per page
    assert len(data) < 64_000
    ticks, stop = [0], threading.Event()

    def other_session():                                 # another learner's script keeps running meanwhile
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.01)

    worker = threading.Thread(target=other_session)
    worker.start()
    started = time.perf_counter()
    message = refused("bomb.pdf", data)
    seconds = time.perf_counter() - started
    stop.set()
    worker.join()
    assert message == ("bomb.pdf expands to more than this app reads (over 2 MB or 400,000 drawing operations on a "
                       "page), so it was not read.")
    assert seconds < 10 and ticks[0] >= seconds * 20     # the other thread was never held up for long


def test_a_pdf_that_is_too_slow_is_stopped_at_the_wall_clock():
    from tests.core.labs.rag_applications.crafted_pdfs import bomb

    with pytest.raises(up.UploadError, match=r"took more than 0.3 s to read"):
        up.read_pdf("slow.pdf", bomb(megabytes=1.5, pages=50, text=True), wall_s=0.3)


def test_a_bomb_of_drawings_without_text_is_refused_as_having_no_text():
    from tests.core.labs.rag_applications.crafted_pdfs import bomb

    assert "no text layer" in refused("lines.pdf", bomb(megabytes=1.5, pages=200, text=False))


def test_a_zip_renamed_pdf_is_refused():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "hello")
    assert refused("notes.pdf", buffer.getvalue()) == "notes.pdf could not be read as a PDF."


def test_the_worker_stops_reading_after_enough_characters():
    from core.labs.rag_applications import pdf_worker
    from tests.core.labs.rag_applications.crafted_pdfs import bomb

    report = pdf_worker.extract(bomb(megabytes=0.25, pages=50, text=True), 200, max_chars=50_000)
    assert report["outcome"] == "ok" and report["stopped_at"] == 3 and len(report["pages"]) == 2   # 35,714 each
