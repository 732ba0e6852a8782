"""Choosing where the models run: CUDA, else Apple's MPS, else the CPU."""
from __future__ import annotations

import torch


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
