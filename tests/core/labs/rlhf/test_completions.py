"""Sampled RLHF completions in the database (core/labs/rlhf/completions.py), on SQLite and PostgreSQL: the first
replica's samples win, every later one reads them."""
from __future__ import annotations

from core.labs.rlhf.completions import SampledCompletions


def test_the_first_samples_stored_are_the_ones_everyone_gets(open_db):
    first, second = SampledCompletions(open_db()), SampledCompletions(open_db())     # two replicas, one database
    assert first.get("smol", "Why is the sky blue?", 3, 60) is None
    mine = [("Rayleigh scattering.", 0.3, 1000), ("Because.", 0.7, 1001), ("", 1.0, 1002)]
    theirs = [("Something else.", 0.3, 1000), ("No.", 0.7, 1001), ("Maybe.", 1.0, 1002)]
    assert first.keep("smol", "Why is the sky blue?", 3, 60, mine) == mine
    assert second.keep("smol", "Why is the sky blue?", 3, 60, theirs) == mine          # the later sampler gets mine
    assert second.get("smol", "Why is the sky blue?", 3, 60) == mine
    assert second.get("smol", "Why is the sky blue?", 3, 30) is None                 # other lengths, models, n differ
    assert second.get("other", "Why is the sky blue?", 3, 60) is None
    assert second.get("smol", "Why is the sky blue?", 2, 60) is None
