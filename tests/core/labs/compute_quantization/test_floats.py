"""Bit patterns against struct, numpy and torch; round-to-nearest-even; ranges; INT8 scale and zero point."""
import math
import struct

import numpy as np
import pytest
import torch

from core.labs.compute_quantization import floats as fl

# Values exactly representable in FP32, so every library rounds once (no double rounding from float64).
VALUES = [3.141592, 1.0, -2.5, 0.1, 1 / 3, 65504.0, 65519.0, 65520.0, 70000.0, 1e-5, 6.1e-5, 5.96e-8, 2.9e-8,
          3e-8, 1e-8, 1e-38, 1e-40, 1.4e-45, 3.4e38, -0.0, 0.0, 123456.789, -1e-3, 1 + 2 ** -8, 1 + 3 * 2 ** -9,
          1 + 2 ** -11, 1 + 3 * 2 ** -11, 2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, math.inf, -math.inf]
VALUES = [float(np.float32(v)) for v in VALUES]
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


def fp32_bits(v):
    return format(struct.unpack(">I", struct.pack(">f", v))[0], "032b")


def fp16_bits(v):
    return format(int(np.array([v], dtype=np.float32).astype(np.float16).view(np.uint16)[0]), "016b")


def bf16_bits(v):
    return format(int(torch.tensor([v], dtype=torch.float32).to(torch.bfloat16).view(torch.int16)[0]) & 0xFFFF, "016b")


@pytest.mark.parametrize("v", VALUES)
def test_bits_match_struct_numpy_and_torch(v):
    assert fl.encode(v, fl.FP32).bit_string == fp32_bits(v)
    assert fl.encode(v, fl.FP16).bit_string == fp16_bits(v)
    assert fl.encode(v, fl.BF16).bit_string == bf16_bits(v)
    assert fl.encode(v, fl.FP16).bit_string == format(int(torch.tensor([v]).half().view(torch.int16)[0]) & 0xFFFF,
                                                      "016b")


@pytest.mark.parametrize("v", VALUES)
def test_stored_value_matches_the_libraries(v):
    assert fl.encode(v, fl.FP16).stored == float(np.float16(np.float32(v)))
    assert fl.encode(v, fl.BF16).stored == float(torch.tensor(v, dtype=torch.float32).to(torch.bfloat16))
    for fmt in (fl.FP32, fl.FP16, fl.BF16):
        e = fl.encode(v, fmt)
        assert fl.decode_bits(e.bit_string, fmt) == e.stored or (math.isnan(e.stored))


def test_the_decks_pi():
    assert fl.encode(3.141592, fl.FP32).bit_string == "0" "10000000" "10010010000111111011000"
    assert fl.encode(3.141592, fl.FP16).bit_string == "0" "10000" "1001001000"
    assert fl.encode(3.141592, fl.BF16).bit_string == "0" "10000000" "1001001"
    assert fl.encode(3.141592, fl.FP16).stored == 3.140625
    assert fl.encode(3.141592, fl.FP32).stored == 3.1415920257568359375


def test_nan_and_kinds():
    for fmt in (fl.FP32, fl.FP16, fl.BF16):
        n = fl.encode(float("nan"), fmt)
        assert n.kind == "nan" and set(n.exponent) == {"1"} and "1" in n.fraction
        assert math.isnan(fl.decode_bits(n.bit_string, fmt))
    assert fp32_bits(float("nan"))[1:9] == "11111111"
    assert fl.encode(-0.0, fl.FP16).sign == "1"
    assert fl.encode(1e-40, fl.FP32).kind == "subnormal"
    assert fl.encode(1e-6, fl.FP16).kind == "subnormal"


def test_round_half_to_even():
    # 1 + 2^-11 is exactly between FP16 neighbours 1 and 1 + 2^-10: ties go to the even one (1).
    assert fl.encode(1 + 2 ** -11, fl.FP16).stored == 1.0
    # 1 + 3·2^-11 lies between 1 + 2^-10 (odd) and 1 + 2^-9 (even): goes up to the even one.
    assert fl.encode(1 + 3 * 2 ** -11, fl.FP16).stored == 1 + 2 ** -9


def test_ranges_and_overflow_underflow():
    assert fl.FP16.max_value == 65504 and fl.FP16.smallest_normal == 2 ** -14 and fl.FP16.smallest_subnormal == 2 ** -24
    assert (fl.FP32.max_value == float(np.finfo(np.float32).max)
            and fl.FP32.smallest_normal == float(np.finfo(np.float32).tiny))
    assert fl.BF16.max_value == float(torch.finfo(torch.bfloat16).max)
    assert fl.BF16.smallest_normal == float(torch.finfo(torch.bfloat16).tiny)
    assert fl.FP32.smallest_subnormal == float(np.finfo(np.float32).smallest_subnormal)
    over = fl.encode(70000, fl.FP16)
    assert over.stored == math.inf and "overflow" in over.note
    assert fl.encode(70000, fl.BF16).stored == 70144                  # BF16 holds it, coarsely
    under = fl.encode(1e-8, fl.FP16)
    assert under.stored == 0 and "underflow" in under.note
    assert fl.encode(1e39, fl.FP32).stored == math.inf                 # beyond FP32, fine as a Python float


def test_summary_table_matches_the_deck():
    rows = {r["type"]: (r["bits"], r["exponent"], r["fraction"], r["bytes"]) for r in fl.format_table()}
    assert rows == {"FP32": (32, 8, 23, 4), "FP16": (16, 5, 10, 2), "BF16": (16, 8, 7, 2), "INT8": (8, None, None, 1)}


def test_int8_scale_and_zero_point():
    e = fl.encode_int8(3.141592, -4, 4)
    assert (e.q, e.zero_point, e.bits) == (100, 0, "01100100") and e.stored == pytest.approx(3.1496, abs=1e-4)
    assert fl.encode_int8(-1.0, -4, 4).bits == format(-32 & 0xFF, "08b")
    assert fl.encode_int8(10.0, -4, 4).clipped and fl.encode_int8(10.0, -4, 4).q == 127
    a = fl.encode_int8(0.0, 0, 6, symmetric=False)                     # asymmetric: 0.0 maps to the zero point
    assert a.q == a.zero_point == -128 and a.stored == 0
    assert abs(fl.encode_int8(3.0, 0, 6, symmetric=False).error) <= (6 / 255) / 2 + 1e-12
    with pytest.raises(ValueError):
        fl.encode_int8(float("nan"))
    with pytest.raises(ValueError):
        fl.int8_params(4, -4)


def test_int8_bits_are_twos_complement():
    # scale 1, zero point 0: the stored bits are q itself. The top bit is worth −128, not a sign flag.
    for q, bits in ((-1, "11111111"), (-128, "10000000"), (127, "01111111"), (-127, "10000001")):
        e = fl.encode_int8(float(q), -128, 127, symmetric=False)
        assert (e.q, e.zero_point, e.bits) == (q, 0, bits)
        assert -128 * int(bits[0]) + int(bits[1:], 2) == q          # two's complement read-back


@pytest.mark.parametrize("text", ["", "abc", "1e", "--1", None, True, "x" * 500])
def test_bad_numbers_give_a_message(text):
    with pytest.raises(ValueError) as info:
        fl.parse_number(text)
    assert str(info.value)


def test_numbers_parse():
    assert fl.parse_number(" 3.141592 ") == 3.141592
    assert fl.parse_number("1,000") == 1000 and fl.parse_number("−2") == -2
    assert math.isinf(fl.parse_number("1e400")) and math.isnan(fl.parse_number("nan"))


@pytest.mark.parametrize("value", [1e308, -1e308, 5.7e306])
@pytest.mark.parametrize("symmetric", [True, False])
def test_int8_of_a_huge_number_clips_instead_of_overflowing(value, symmetric):
    enc = fl.encode_int8(value, -4.0, 4.0, symmetric)
    assert enc.clipped and enc.q in (127, -127, -128)


def test_int8_range_too_wide_for_a_scale_is_a_clear_error():
    with pytest.raises(ValueError, match="too wide"):
        fl.encode_int8(1.0, -1.7e308, 1.7e308, symmetric=False)
