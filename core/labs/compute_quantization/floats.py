"""How one number is stored in FP32, FP16, BF16 and INT8: bit fields, stored value, rounding error, range.

Floats are encoded here with exact integer arithmetic (fractions), following IEEE 754 binary formats with
round-to-nearest, ties-to-even — the same result numpy and torch give (the tests compare bit for bit).
A binary float stores  value = (-1)^sign × 1.fraction × 2^(exponent - bias)  for normal numbers and
(-1)^sign × 0.fraction × 2^(1 - bias) for subnormals (exponent field all zeros).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class FloatFormat:
    name: str
    exponent_bits: int     # bits for the power of two (range)
    fraction_bits: int     # bits after the binary point (precision)

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits + self.fraction_bits

    @property
    def bytes(self) -> int:
        return self.bits // 8

    @property
    def bias(self) -> int:
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def max_exponent(self) -> int:        # largest unbiased exponent of a finite number
        return self.bias

    @property
    def min_exponent(self) -> int:        # unbiased exponent of the smallest normal number
        return 1 - self.bias

    @property
    def max_value(self) -> float:
        return float((2 - Fraction(1, 2 ** self.fraction_bits)) * Fraction(2) ** self.max_exponent)

    @property
    def smallest_normal(self) -> float:
        return float(Fraction(2) ** self.min_exponent)

    @property
    def smallest_subnormal(self) -> float:
        return float(Fraction(2) ** (self.min_exponent - self.fraction_bits))

    @property
    def epsilon(self) -> float:           # gap between 1 and the next number: the relative precision
        return 2.0 ** -self.fraction_bits


FP32 = FloatFormat("FP32", 8, 23)
FP16 = FloatFormat("FP16", 5, 10)
BF16 = FloatFormat("BF16", 8, 7)
FORMATS = {f.name: f for f in (FP32, FP16, BF16)}


@dataclass(frozen=True)
class Encoded:
    format: FloatFormat
    value: float           # the number asked for
    sign: str              # "0" or "1"
    exponent: str          # exponent field bits, most significant first
    fraction: str          # fraction field bits
    stored: float          # the number the bits actually mean
    kind: str              # "normal", "subnormal", "zero", "inf", "nan"
    note: str              # what happened: exact, rounded, overflow to inf, underflow to 0, ...

    @property
    def bit_string(self) -> str:
        return self.sign + self.exponent + self.fraction

    @property
    def as_int(self) -> int:
        return int(self.bit_string, 2)

    @property
    def error(self) -> float:
        """stored - value (nan when either is not finite)."""
        if not (math.isfinite(self.value) and math.isfinite(self.stored)):
            return math.nan
        return float(Fraction(self.stored) - Fraction(self.value))

    @property
    def relative_error(self) -> float:
        if self.value == 0 or not math.isfinite(self.error):
            return math.nan if not math.isfinite(self.error) else 0.0
        return abs(self.error) / abs(self.value)

    @property
    def exponent_value(self) -> int | None:
        """The unbiased power of two (None for zero, inf, nan)."""
        if self.kind == "normal":
            return int(self.exponent, 2) - self.format.bias
        if self.kind == "subnormal":
            return self.format.min_exponent
        return None


def _round_half_even(x: Fraction) -> int:
    floor = x.numerator // x.denominator
    rest = x - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


def parse_number(text) -> float:
    """A float from user input ('3.14', '1e-8', 'inf', 'nan', '-0'); raises ValueError with a clear message."""
    if isinstance(text, bool):
        raise ValueError("enter a number, not a yes/no value")
    if isinstance(text, (int, float)):
        return float(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("enter a number, for example 3.141592")
    cleaned = text.strip().replace("_", "").replace(",", "").replace("−", "-")
    if len(cleaned) > 400:
        raise ValueError("that is too long to be a number")
    try:
        return float(cleaned)
    except (ValueError, OverflowError):
        raise ValueError(f"“{text.strip()[:40]}” is not a number; "
                         "try 3.141592, -0.1, 1e-8, 70000, inf or nan") from None


def encode(value: float, fmt: FloatFormat) -> Encoded:
    """The bits `fmt` stores for `value`, rounded once with round-to-nearest-even."""
    value = float(value)
    e_bits, f_bits = fmt.exponent_bits, fmt.fraction_bits
    all_ones = "1" * e_bits
    if math.isnan(value):   # a quiet NaN: exponent all ones, top fraction bit set
        return Encoded(fmt, value, "0", all_ones, "1" + "0" * (f_bits - 1), math.nan, "nan",
                       "not a number: stays NaN in every format")
    sign = "1" if math.copysign(1.0, value) < 0 else "0"
    if math.isinf(value):
        return Encoded(fmt, value, sign, all_ones, "0" * f_bits, value, "inf", "infinity stays infinity")
    if value == 0:
        return Encoded(fmt, value, sign, "0" * e_bits, "0" * f_bits, value, "zero", "exact")
    a = Fraction(abs(value))
    e = max(math.frexp(abs(value))[1] - 1, fmt.min_exponent)   # unbiased exponent; subnormals use the minimum
    quantum = Fraction(2) ** (e - f_bits)                       # gap between neighbours at this exponent
    q = _round_half_even(a / quantum)                           # significand as an integer (with hidden bit)
    if q == 2 ** (f_bits + 1):                                  # rounding carried into the next power of two
        e, q = e + 1, q // 2
        quantum *= 2
    if e > fmt.max_exponent:
        inf = math.copysign(math.inf, value)
        return Encoded(fmt, value, sign, all_ones, "0" * f_bits, inf, "inf",
                       f"overflow: larger than {fmt.name}'s maximum {fmt.max_value:.6g}, so it becomes infinity")
    if q == 0:
        zero = math.copysign(0.0, value)
        return Encoded(fmt, value, sign, "0" * e_bits, "0" * f_bits, zero, "zero",
                       f"underflow: smaller than half of {fmt.name}'s smallest subnormal "
                       f"{fmt.smallest_subnormal:.3g}, so it becomes 0")
    stored = float(q * quantum) * (-1 if sign == "1" else 1)
    if q < 2 ** f_bits:   # no hidden 1: a subnormal number, exponent field all zeros
        kind, exp_field, frac = "subnormal", 0, q
    else:
        kind, exp_field, frac = "normal", e + fmt.bias, q - 2 ** f_bits
    exact = q * quantum == a
    if kind == "subnormal":
        note = (f"subnormal: below {fmt.name}'s smallest normal {fmt.smallest_normal:.3g}, "
                "so precision is lost" + ("" if exact else " and it is rounded"))
    else:
        note = "exact" if exact else "rounded to the nearest value the format can hold (ties go to the even one)"
    return Encoded(fmt, value, sign, format(exp_field, f"0{e_bits}b"), format(frac, f"0{f_bits}b"),
                   stored, kind, note)


def decode_bits(bits: str, fmt: FloatFormat) -> float:
    """The value of a bit string in `fmt` (sign | exponent | fraction)."""
    if len(bits) != fmt.bits or set(bits) - {"0", "1"}:
        raise ValueError(f"{fmt.name} needs {fmt.bits} bits of 0 and 1")
    s, e, f = bits[0], int(bits[1:1 + fmt.exponent_bits], 2), int(bits[1 + fmt.exponent_bits:], 2)
    sign = -1.0 if s == "1" else 1.0
    if e == 2 ** fmt.exponent_bits - 1:
        return math.nan if f else sign * math.inf
    if e == 0:
        return sign * float(Fraction(f, 2 ** fmt.fraction_bits) * Fraction(2) ** fmt.min_exponent)
    return sign * float((1 + Fraction(f, 2 ** fmt.fraction_bits)) * Fraction(2) ** (e - fmt.bias))


# ---- INT8: a whole number plus a scale (and a zero point) -----------------------------------------------

@dataclass(frozen=True)
class Int8Encoded:
    value: float
    q: int                 # the stored integer, -128..127
    bits: str              # its 8 bits (two's complement)
    scale: float           # real value of one integer step
    zero_point: int        # the integer that stands for 0.0
    stored: float          # (q - zero_point) × scale
    clipped: bool          # the value lay outside the range and was clamped
    symmetric: bool

    @property
    def error(self) -> float:
        return self.stored - self.value


def int8_params(low: float, high: float, symmetric: bool = True) -> tuple[float, int]:
    """Scale and zero point that map [low, high] onto INT8 (symmetric: ±max|x| onto ±127, zero point 0)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ValueError("the range needs two finite numbers with low < high")
    if symmetric:
        amax = max(abs(low), abs(high))
        return amax / 127, 0
    scale = (high - low) / 255
    if not math.isfinite(scale) or scale == 0:
        raise ValueError("the range is too wide (or too narrow) for a float to hold its scale")
    zero_point = int(min(127, max(-128, round(-128 - low / scale))))
    return scale, zero_point


def encode_int8(value: float, low: float = -4.0, high: float = 4.0, symmetric: bool = True) -> Int8Encoded:
    """Affine INT8 quantization of one number: q = clamp(round(x / scale) + zero_point)."""
    if not math.isfinite(value):
        raise ValueError("INT8 has no inf or NaN: only finite numbers can be quantized")
    scale, zp = int8_params(low, high, symmetric)
    lo_q, hi_q = (-127, 127) if symmetric else (-128, 127)
    ratio = value / scale
    # Clip before rounding: a huge value over a small scale overflows to inf, which round() cannot take.
    raw = round(min(max(ratio, lo_q - zp - 1), hi_q - zp + 1)) + zp
    q = int(min(hi_q, max(lo_q, raw)))
    return Int8Encoded(value=value, q=q, bits=format(q & 0xFF, "08b"), scale=scale, zero_point=zp,
                       stored=(q - zp) * scale, clipped=raw != q, symmetric=symmetric)


def format_table() -> list[dict]:
    """The deck's summary table plus each format's range, computed from the bit layout."""
    rows = [{"type": f.name, "bits": f.bits, "exponent": f.exponent_bits, "fraction": f.fraction_bits,
             "bytes": f.bytes, "max": f.max_value, "smallest normal": f.smallest_normal,
             "smallest subnormal": f.smallest_subnormal,
             "decimal digits": round((f.fraction_bits + 1) * math.log10(2), 1)}
            for f in (FP32, FP16, BF16)]
    # INT8 is a two's-complement whole number (-128..127): no exponent and no fraction bits (the deck's
    # "7" in its fraction column would be sign + 7 value bits, i.e. -127..127).
    rows.append({"type": "INT8", "bits": 8, "exponent": None, "fraction": None, "bytes": 1, "max": 127.0,
                 "smallest normal": None, "smallest subnormal": None, "decimal digits": None})
    return rows
