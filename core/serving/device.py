"""Choosing where the models run: CUDA when it has room, else Apple's MPS, else the CPU; and how many CPU threads
torch uses."""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch

log = logging.getLogger("genai_lab")

# What the bundled models need on a CUDA card, in bfloat16 (the registry's dtype "auto" there): SmolLM2-135M's
# 134.5 M parameters are 0.27 GB, MiniLM's 22.7 M are 0.05 GB, and a full batch's KV cache (32 answers of 1,024
# tokens; 30 layers x 3 KV heads x 64 x K and V x 2 bytes = 23 KB a token) is 0.75 GB: about 1.1 GB.
CUDA_NEEDED_BYTES = 1_100_000_000
# Activations, torch's allocator and the CUDA context itself come on top.
CUDA_MARGIN_BYTES = 1_000_000_000


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


def cuda_has_room(needed: int = CUDA_NEEDED_BYTES + CUDA_MARGIN_BYTES) -> bool:
    """True when the CUDA card has `needed` bytes free now; else False, with one log line saying why.

    A replica sharing the card with a model server (vLLM takes 90% of it by default) must not load there too."""
    try:
        free, total = torch.cuda.mem_get_info()
    except Exception as exc:  # a card that cannot even be asked is no place for the models
        log.warning("GENAI_LAB_DEVICE is not set and the CUDA GPU could not report its free memory (%s): the models "
                    "run on the CPU", exc)
        return False
    if free < needed:
        log.warning("GENAI_LAB_DEVICE is not set and the CUDA GPU has %.1f GB free of %.1f GB, under the %.1f GB the "
                    "bundled models need with a margin (another process, e.g. vLLM, holds the rest): the models run "
                    "on the CPU; set GENAI_LAB_DEVICE=cuda to use the GPU anyway", free / 1e9, total / 1e9,
                    needed / 1e9)
        return False
    return True


def pick_device(requested: str = "") -> torch.device:
    """Return the requested device, or the best one available when `requested` is empty.

    A requested accelerator that is missing raises ValueError, so a typo in
    GENAI_LAB_DEVICE is reported instead of silently running on the CPU. The automatic choice takes CUDA only
    when the card has room for the bundled models (`cuda_has_room`); an explicit `cuda` is obeyed as asked.
    """
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("GENAI_LAB_DEVICE=cuda but no CUDA GPU is visible to torch")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ValueError("GENAI_LAB_DEVICE=mps but MPS is not available")
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda" if cuda_has_room() else "cpu")
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
