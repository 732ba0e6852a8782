"""A PDF bomb against page 11's upload: time and memory before (pypdf in the server's process) and after (the
sandboxed child process of core/labs/rag_applications/pdf_worker.py).

The bomb: one compressed content stream of 4 MB of text operators, drawn by each of 200 pages (~37 KB on disk).
"Before" parses pages in a fresh process the way the upload callback used to, for `--pages` pages, and extrapolates
to all 200; "after" is `uploads.read_pdf` as the app calls it now: the server's own resident memory and the child's
peak are both printed.

Usage: .venv/bin/python -m bench.pdf_bomb [--pages 2] [--megabytes 4]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import psutil

from core.labs.rag_applications import uploads
from tests.core.labs.rag_applications.crafted_pdfs import bomb

IN_PROCESS = """
import io, json, resource, sys, time
import pypdf
data = sys.stdin.buffer.read()
pages = int(sys.argv[1])
started = time.perf_counter()
reader = pypdf.PdfReader(io.BytesIO(data))
chars = sum(len(reader.pages[i].extract_text() or "") for i in range(pages))
print(json.dumps({"seconds": time.perf_counter() - started, "chars": chars,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2, help="pages parsed in-process for the 'before' estimate")
    parser.add_argument("--megabytes", type=float, default=4.0)
    args = parser.parse_args()
    data = bomb(megabytes=args.megabytes, pages=200, text=True)
    print(f"bomb: {len(data) / 1e3:.0f} KB on disk, {args.megabytes:g} MB of content drawn by each of 200 pages")

    server = psutil.Process()
    rss_before = server.memory_info().rss / 1e6
    started = time.perf_counter()
    try:
        uploads.read_pdf("bomb.pdf", data)
        outcome = "read (!)"
    except uploads.UploadError as exc:
        outcome = str(exc)
    seconds = time.perf_counter() - started
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"after (sandboxed child): {seconds:.2f} s, server resident memory {rss_before:.0f} → "
          f"{server.memory_info().rss / 1e6:.0f} MB, child peak {child_peak:.0f} MB")
    print(f"  the learner reads: {outcome}")

    before = json.loads(subprocess.run([sys.executable, "-c", IN_PROCESS, str(args.pages)], input=data,
                                       capture_output=True, check=True).stdout)
    per_page = before["seconds"] / args.pages
    print(f"before (pypdf in the server process): {args.pages} page(s) in {before['seconds']:.1f} s "
          f"({per_page:.1f} s a page, {before['chars']:,} characters), peak {before['peak_mb']:.0f} MB; "
          f"all 200 pages ≈ {per_page * 200 / 60:.0f} minutes")



if __name__ == "__main__":
    main()
