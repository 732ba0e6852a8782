"""Reads one PDF's text in a child process with hard limits (run as `python -m core.labs.rag_applications.pdf_worker`).

A PDF is a program of sorts: a file of a few kilobytes can hold a compressed content stream that expands to
megabytes and is drawn by every page (a 39 KB file, 4 MB of text operators per page, 200 pages: pypdf spends ~10 s
and ~190 MB per page, half an hour in all). Parsed inside the server, such a file held a Streamlit thread and the
GIL for minutes. Here the parse runs in its own process, which the parent (pdf_sandbox.py) kills at a wall-clock
limit; this side also limits its own CPU time and address space, caps pypdf's decompression per stream, stops
after MAX_TOTAL_CONTENT bytes of page content or once enough characters were read, and reports what happened as
JSON on stdout. The bytes come on stdin. Nothing here imports the app beyond the standard library and pypdf.
"""
from __future__ import annotations

import io
import json
import resource
import sys

MAX_STREAM_BYTES = 2_000_000          # one page's decompressed content stream: a dense page of text is ~20 KB
MAX_TOTAL_CONTENT = 40_000_000        # all pages together
MAX_PARSE_WORK = 400_000              # operands and operators in one content stream
MAX_HEAVY_STREAMS = 3                 # distinct streams over the limits before the rest of the file is skipped
CPU_SECONDS = 20
MEMORY_BYTES = 1_024 * 1_024 * 1_024  # address space (Python and pypdf need ~60 MB of it to start)


def limit_resources(cpu_s: int = CPU_SECONDS, memory: int = MEMORY_BYTES) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def extract(data: bytes, max_pages: int, max_chars: int) -> dict:
    """{"outcome": "ok", "pages": [...], "failed": n, "heavy": n, "n_pages": n, "stopped_at": page or None} or
    {"outcome": <encrypted | password | too_many_pages | empty | unreadable>, ...}.

    `heavy` pages are those whose content goes beyond a decompression or parsing limit; reading stops at
    `stopped_at` (1-based) after `max_chars` characters, MAX_TOTAL_CONTENT bytes of content or MAX_HEAVY_STREAMS
    heavy streams."""
    import pypdf
    from pypdf.errors import DependencyError, LimitReachedError

    pypdf.overwrite_configuration(
        zlib_maximum_output_length=MAX_STREAM_BYTES, lzw_maximum_output_length=MAX_STREAM_BYTES,
        run_length_maximum_output_length=MAX_STREAM_BYTES, brotli_maximum_output_length=MAX_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_STREAM_BYTES, maximum_declared_stream_length=MAX_STREAM_BYTES,
        stream_decoding_work_maximum_length=4 * MAX_STREAM_BYTES, stream_parsing_work_maximum_count=MAX_PARSE_WORK)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))      # tries the empty password itself when the file is encrypted
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            return {"outcome": "password"}
        n_pages = len(reader.pages)
    except DependencyError:                             # AES encryption needs the `cryptography` package
        return {"outcome": "encrypted"}
    except Exception:                                   # noqa: BLE001 — pypdf raises many kinds on damaged files
        return {"outcome": "unreadable"}
    if n_pages > max_pages:
        return {"outcome": "too_many_pages", "n_pages": n_pages}
    if n_pages == 0:
        return {"outcome": "empty"}
    pages, failed, heavy, chars, content, stopped_at = [], 0, 0, 0, 0, None
    seen: dict[str, str | None] = {}        # content stream reference -> its text (None: too heavy), read once
    for number, page in enumerate(reader.pages, start=1):
        if chars >= max_chars or content >= MAX_TOTAL_CONTENT or len([v for v in seen.values() if v is None]) \
                >= MAX_HEAVY_STREAMS:
            stopped_at = number
            break
        key = repr(page.get("/Contents"))
        if key in seen:                     # pages that draw the same stream (a bomb's trick) cost nothing more
            text = seen[key]
        else:
            try:
                contents = page.get_contents()
                content += len(contents.get_data()) if contents is not None else 0
                text = page.extract_text() or "" if content <= MAX_TOTAL_CONTENT else ""
            except DependencyError:
                return {"outcome": "encrypted"}
            except LimitReachedError:       # a page that expands beyond the limits is left out
                text = None
            except MemoryError:
                raise
            except Exception:               # noqa: BLE001 — one broken page should not lose the others
                pages.append("")
                failed += 1
                continue
            if key.startswith("IndirectObject"):
                seen[key] = text
        if text is None:
            pages.append("")
            heavy += 1
            continue
        pages.append(text)
        chars += len(text)
    return {"outcome": "ok", "pages": pages, "failed": failed, "heavy": heavy, "n_pages": n_pages,
            "stopped_at": stopped_at}


def main() -> int:
    max_pages, max_chars = int(sys.argv[1]), int(sys.argv[2])
    limit_resources()
    data = sys.stdin.buffer.read()
    try:
        report = extract(data, max_pages, max_chars)
    except MemoryError:
        report = {"outcome": "memory"}
    sys.stdout.write(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
