"""Give memory back to the system after big work (a batch of answers, a training run)."""
from __future__ import annotations

import ctypes
import sys


def release_freed_memory() -> bool:
    """Ask glibc to return freed heap memory to the system (`malloc_trim`); False where there is no glibc.

    A burst of 200 answers (batches of 32) left resident memory at 1,350 MB after a 943 MB start although nothing
    was still referenced: glibc keeps freed arenas. Trimmed, it is back at 973 MB, and repeated bursts stay there."""

    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False
