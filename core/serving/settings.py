"""Process-wide settings, read from environment variables once.

Every field has a default that works offline on a fresh machine; an environment
variable overrides it (the name is given next to each field).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genai-lab"


@dataclass(frozen=True)
class Settings:
    # GENAI_LAB_CACHE: where converted models are kept between runs.
    cache_dir: Path
    # GENAI_LAB_DEVICE: "cuda", "mps" or "cpu"; empty means pick the best available.
    device: str
    # GENAI_LAB_MODELS: the model registry file (YAML).
    registry_path: Path
    # HF_HUB_OFFLINE: "1" (default) forbids any download from the Hugging Face hub.
    offline: bool
    # GENAI_LAB_TORCH_THREADS: torch's CPU threads for the models (process-wide, set when the service starts);
    # 0 or empty means the cores this process may use (CPU affinity and cgroup quota; see bench/threads.py).
    torch_threads: int = 0
    # GENAI_LAB_MAX_BATCH: how many chat generations run together in one forward pass (core/serving/batching.py).
    max_batch: int = 32

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        device = env.get("GENAI_LAB_DEVICE", "").strip().lower()
        if device not in ("", "cuda", "mps", "cpu"):
            raise ValueError(f"GENAI_LAB_DEVICE must be cuda, mps or cpu, not {device!r}")
        threads = env.get("GENAI_LAB_TORCH_THREADS", "").strip()
        if threads and not (threads.isdigit() and 0 <= int(threads) <= 1024):
            raise ValueError(f"GENAI_LAB_TORCH_THREADS must be a number of threads (0 = automatic), not {threads!r}")
        batch = env.get("GENAI_LAB_MAX_BATCH", "").strip()
        if batch and not (batch.isdigit() and 1 <= int(batch) <= 1024):
            raise ValueError(f"GENAI_LAB_MAX_BATCH must be a number of sequences from 1 to 1024, not {batch!r}")
        return cls(
            cache_dir=Path(env.get("GENAI_LAB_CACHE") or _default_cache_dir()).expanduser(),
            device=device,
            registry_path=Path(env.get("GENAI_LAB_MODELS") or PROJECT_ROOT / "config" / "models.yaml"),
            offline=is_offline(env),
            torch_threads=int(threads or 0),
            max_batch=int(batch or 32),
        )


def is_offline(env: dict[str, str] | None = None) -> bool:
    """True unless HF_HUB_OFFLINE is explicitly 0/false: the lab never downloads by default."""
    value = (os.environ if env is None else env).get("HF_HUB_OFFLINE", "1").strip().lower()
    return value not in ("0", "false", "")


def enforce_offline_default() -> None:
    """Make the Hugging Face libraries offline unless the user explicitly allowed the hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
