"""How torch's CPU worker threads wait between operations (GNU OpenMP): set before torch is imported.

torch runs each CPU operation on a team of OpenMP threads, and every Python thread that calls torch gets its own
team: the generation worker, and each Streamlit session's script thread that draws an attention map or an
embedding. As soon as two teams exist on 2 cores there are more OpenMP threads than cores, and GNU OpenMP then
lets an idle thread spin only 100 times before it sleeps, so every one of the ~1,000 small operations of a decode
step wakes a sleeping thread through the kernel. Measured on the 2-core development machine (8 greedy answers of
48 tokens through the batch scheduler, after one other thread had used torch): 62 tok/s with the defaults, 76 tok/s
with the wait policy "active" (1,000 spins when over-subscribed). The spin count caps how long an idle thread spins
when it is not over-subscribed (about 0.1 ms instead of the default 300,000 spins), so idle threads do not steal
the cores from the web server.

GNU OpenMP reads these variables once, when torch loads it: `configure()` must run before the first
`import torch` (app.py, tests/conftest.py and the bench scripts call it first). A value already set in the
environment wins.
"""
from __future__ import annotations

import os
import sys

DEFAULTS = {"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": "100000"}


def configure() -> bool:
    """Put the defaults into the environment (values already there win). False when torch was imported already,
    so the settings come too late for this process."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    return "torch" not in sys.modules
