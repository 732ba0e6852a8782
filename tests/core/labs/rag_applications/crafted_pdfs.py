"""Hand-made PDFs for the upload tests and bench/pdf_bomb.py: a small valid one, and "bombs" whose few kilobytes
expand to megabytes of page content (one compressed content stream shared by every page)."""
from __future__ import annotations

import zlib


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file from numbered objects (object i+1 is objects[i]) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _stream(content: bytes, compress: bool) -> bytes:
    data = zlib.compress(content, 9) if compress else content
    head = f"<< /Length {len(data)}" + (" /Filter /FlateDecode" if compress else "") + " >>"
    return head.encode() + b"\nstream\n" + data + b"\nendstream"


def pdf_with_pages(content: bytes, pages: int, compress: bool = True) -> bytes:
    """`pages` pages that all draw the same content stream (object 4), with one Helvetica font (object 3)."""
    first_page = 5
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               _stream(content, compress)]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                b"/Contents 4 0 R >>" for _ in range(pages)]
    return _pdf(objects)


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds these lines."""
    ops = ["BT /F1 12 Tf 72 720 Td 14 TL"] + [f"({line}) Tj T*" for line in lines] + ["ET"]
    return pdf_with_pages("\n".join(ops).encode("latin-1"), 1, compress=False)


def bomb(megabytes: float = 4.0, pages: int = 200, text: bool = False) -> bytes:
    """A PDF of a few kilobytes whose every page draws the same `megabytes` of content: path operators that yield no
    text (`text=False`, so only a time limit stops it), or text operators (`text=True`)."""
    unit = b"(x) Tj\n" if text else b"0 0 m 1 1 l S\n"
    body = unit * int(megabytes * 1_000_000 / len(unit))
    if text:
        body = b"BT /F1 12 Tf 72 720 Td\n" + body + b"ET\n"
    return pdf_with_pages(body, pages, compress=True)
