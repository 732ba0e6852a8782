"""torch's CPU threads: set once when the service starts, from GENAI_LAB_TORCH_THREADS or the usable cores."""
from __future__ import annotations

import os

import pytest
import torch

from core.serving.device import set_torch_threads, usable_cores
from core.serving.settings import Settings


def test_usable_cores_never_exceed_the_affinity():
    n = usable_cores()
    assert 1 <= n <= len(os.sched_getaffinity(0)) <= (os.cpu_count() or n)


@pytest.mark.parametrize("value, expected", [("", 0), ("0", 0), ("3", 3), (" 2 ", 2)])
def test_env_variable(value, expected):
    assert Settings.from_env({"GENAI_LAB_TORCH_THREADS": value}).torch_threads == expected
    assert Settings.from_env({}).torch_threads == 0


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "5000"])
def test_bad_env_variable_is_refused(value):
    with pytest.raises(ValueError, match="GENAI_LAB_TORCH_THREADS"):
        Settings.from_env({"GENAI_LAB_TORCH_THREADS": value})


def test_set_torch_threads():
    before = torch.get_num_threads()
    try:
        assert set_torch_threads(1) == 1 and torch.get_num_threads() == 1
        assert set_torch_threads(0) == usable_cores() == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
