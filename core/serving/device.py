"""Choosing where the models run: CUDA, else Apple's MPS, else the CPU; and how many CPU threads torch uses."""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch


def usable_cores() -> int:
    """CPU cores this process may really use: its CPU affinity, capped by a cgroup CPU quota (containers).

    torch's own default counts the machine's cores, which in a container limited to 2 CPUs of a 64-core host
    means 64 threads fighting over 2 cores."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):      # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max" and int(period) > 0:
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def set_torch_threads(requested: int = 0) -> int:
    """Set torch's intra-op threads (process-wide): `requested`, or the usable cores when 0. Returns the count."""
    n = requested if requested > 0 else usable_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def pick_device(requested: str = "") -> torch.device:
    """Return the requested device, or the best one available when `requested` is empty.

    A requested accelerator that is missing raises ValueError, so a typo in
    GENAI_LAB_DEVICE is reported instead of silently running on the CPU.
    """
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("GENAI_LAB_DEVICE=cuda but no CUDA GPU is visible to torch")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ValueError("GENAI_LAB_DEVICE=mps but MPS is not available")
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """A short human label, e.g. 'CUDA · NVIDIA H100 80GB HBM3' or 'CPU · 2 threads'."""
    if device.type == "cuda":
        return f"CUDA · {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU · {torch.get_num_threads()} threads"
