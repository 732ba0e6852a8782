"""Training compute: 6·N·D FLOPs, petaflop/s-days, GPU-days, and the Chinchilla 20-tokens-per-parameter rule.

- Training a dense transformer costs about 6 floating point operations per parameter per token
  (2 for the forward pass, 4 for the backward pass): C ≈ 6 · N · D.
- 1 petaflop/s-day = 10^15 operations per second for 86,400 seconds = 8.64 × 10^19 operations.
- Chinchilla (Hoffmann et al. 2022): compute-optimal training uses about D ≈ 20 · N tokens. With C = 6·N·D
  and D = 20·N, a budget C gives N = sqrt(C / 120) and D = 20 · N.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core.labs.compute_quantization.memory import PUBLISHED, InputError, check_parameters

FLOPS_PER_PARAM_TOKEN = 6
PETAFLOP_S_DAY = 1e15 * 86_400        # 8.64e19 operations
TOKENS_PER_PARAM = 20                 # Chinchilla's compute-optimal ratio
MAX_TOKENS = 1e16


def check_tokens(d) -> float:
    if isinstance(d, bool) or not isinstance(d, (int, float)) or math.isnan(d) or math.isinf(d):
        raise InputError("the token count must be a finite number")
    if d <= 0:
        raise InputError("training needs at least one token")
    if d > MAX_TOKENS:
        raise InputError(f"{d:.3g} tokens is more than {MAX_TOKENS:.0e}; the calculator stops there")
    return float(d)


def training_flops(n_params, n_tokens) -> float:
    """C ≈ 6 · N · D floating point operations."""
    return FLOPS_PER_PARAM_TOKEN * check_parameters(n_params) * check_tokens(n_tokens)


def petaflop_s_days(flops: float) -> float:
    return flops / PETAFLOP_S_DAY


def gpu_days(flops: float, peak_tflops: float, utilisation: float = 0.4) -> float:
    """Days one GPU would take at `utilisation` of its peak (real training reaches roughly 30–60 %)."""
    if not (isinstance(peak_tflops, (int, float)) and peak_tflops > 0):
        raise InputError("this GPU has no peak throughput listed; pick another")
    if not (isinstance(utilisation, (int, float)) and 0 < utilisation <= 1):
        raise InputError("utilisation must be between 0 and 100 %")
    return flops / (peak_tflops * 1e12 * utilisation * 86_400)


def chips_for_one_pfs_day(peak_tflops: float) -> float:
    """GPUs running flat out for 24 hours that deliver one petaflop/s-day."""
    return 1000 / peak_tflops


def compute_optimal_tokens(n_params) -> float:
    return TOKENS_PER_PARAM * check_parameters(n_params)


@dataclass(frozen=True)
class Plan:
    budget_flops: float
    parameters: float
    tokens: float

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.parameters


def chinchilla_plan(budget_flops: float) -> Plan:
    """The compute-optimal model for a budget: C = 6·N·D with D = 20·N  =>  N = sqrt(C / 120)."""
    if isinstance(budget_flops, bool) or not isinstance(budget_flops, (int, float)) or not math.isfinite(budget_flops):
        raise InputError("the compute budget must be a finite number")
    if budget_flops <= 0:
        raise InputError("the compute budget must be above 0")
    n = math.sqrt(budget_flops / (FLOPS_PER_PARAM_TOKEN * TOKENS_PER_PARAM))
    return Plan(budget_flops=float(budget_flops), parameters=n, tokens=TOKENS_PER_PARAM * n)


@dataclass(frozen=True)
class TrainedModel:
    name: str
    parameters: float
    tokens: float
    source: str

    @property
    def flops(self) -> float:
        return training_flops(self.parameters, self.tokens)

    @property
    def optimal_tokens(self) -> float:
        return compute_optimal_tokens(self.parameters)

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.parameters


# The deck's Chinchilla table, in its order.
DECK_TABLE = tuple(TrainedModel(m.name.replace(" 175B", "").replace(" 176B", "").replace(" 70B", ""),
                                m.parameters, m.tokens, m.source)
                   for m in sorted((m for m in PUBLISHED if m.tokens), key=lambda m: ["Chinchilla 70B", "LLaMA-65B",
                                   "GPT-3 175B", "OPT-175B", "BLOOM 176B"].index(m.name)))

# Placed on the compute chart next to the deck's models.
SMOLLM2 = TrainedModel("SmolLM2-135M (this app's model)", 134.5e6, 2e12, "SmolLM2 model card: 2 trillion tokens")
KNOWN_MODELS = DECK_TABLE + (SMOLLM2,)


def round_like_deck(tokens: float) -> str:
    """1.4T, 1.3T, 3.5T, 300B: one decimal in trillions, whole billions below a trillion."""
    if tokens >= 1e12:
        return f"{tokens / 1e12:.1f}T"
    if tokens >= 10e9:
        return f"{tokens / 1e9:.0f}B"
    if tokens >= 1e9:
        return f"{tokens / 1e9:.1f}B"
    return f"{tokens / 1e6:.0f}M"
