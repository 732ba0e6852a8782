"""Float explorer: one number stored in FP32, FP16, BF16 and INT8, bit by bit."""
from __future__ import annotations

import html
import math
from decimal import Decimal

import streamlit as st

from components.common.text import literal
from core.labs.compute_quantization import floats

SIGN, EXPONENT, FRACTION = "#ef9a9a", "#a5d6a7", "#90caf9"   # sign red, exponent green, fraction blue
EXAMPLES = {"π (the lesson's 3.141592)": "3.141592", "0.1 (never exact in binary)": "0.1",
            "65,504 (FP16's largest)": "65504", "70,000 (too big for FP16)": "70000",
            "1e-8 (too small for FP16)": "1e-8", "1e-40 (subnormal in FP32)": "1e-40", "−2.5": "-2.5",
            "0": "0", "infinity": "inf", "NaN": "nan", "1e39 (too big for FP32)": "1e39"}


def _box(bit: str, colour: str) -> str:
    return (f"<span style='display:inline-block;width:1.2em;text-align:center;margin:1px;padding:3px 0;"
            f"background:{colour};border-radius:3px;font-family:monospace;font-size:1rem;color:#111'>"
            f"{html.escape(bit)}</span>")


def bits_html(label: str, fields: list[tuple[str, str, str]]) -> str:
    """fields: (name, bits, colour). Every piece of text is escaped."""
    groups = []
    for name, bits, colour in fields:
        boxes = "".join(_box(b, colour) for b in bits)
        groups.append(f"<div style='display:inline-block;margin-right:10px;vertical-align:top'>{boxes}"
                      f"<div style='font-size:0.8rem;opacity:.75'>{html.escape(name)}</div></div>")
    return (f"<div style='margin:4px 0 10px 0'><div style='font-weight:600;margin-bottom:2px'>{html.escape(label)}"
            f"</div>{''.join(groups)}</div>")


def _fmt(x: float, exact: bool = False) -> str:
    """Shortest text that reads back as x; with exact=True the stored value's exact decimal when it is short."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "−∞" if x < 0 else "+∞"
    if x == 0:
        return "−0" if math.copysign(1, x) < 0 else "0"
    if exact:
        digits = format(Decimal(x), "f")
        if len(digits.replace("-", "").replace(".", "").lstrip("0")) <= 24 and len(digits) <= 30:
            return digits
    return repr(x)


def _on_example(key: str) -> None:
    choice = st.session_state[f"{key}_example"]
    if choice in EXAMPLES:
        st.session_state[f"{key}_number"] = EXAMPLES[choice]


def show(key: str = "floats") -> None:
    st.markdown("#### Try it: how is your number stored?")
    st.markdown("Type any number. Each format rounds it to the nearest value its bits can hold (ties go to the "
                "even neighbour, as IEEE 754 prescribes). Red is the sign bit, green the exponent (how big), blue "
                "the fraction (how precise). Watch what the 2-byte formats lose, and where each one runs out of range.")
    st.session_state.setdefault(f"{key}_number", "3.141592")
    left, right = st.columns([1, 1])
    left.selectbox("Examples", ["—"] + list(EXAMPLES), key=f"{key}_example", on_change=_on_example, args=(key,))
    text = right.text_input("Your number", key=f"{key}_number", max_chars=60)
    try:
        value = floats.parse_number(text)
    except ValueError as exc:
        st.info(f"{literal(exc)}.")   # the message quotes what was typed
        return
    if math.isinf(value) and "inf" not in text.lower():
        st.warning("That is beyond even a 64-bit float (about 1.8 × 10³⁰⁸), so Python already reads it as infinity.")
    for fmt in (floats.FP32, floats.FP16, floats.BF16):
        enc = floats.encode(value, fmt)
        st.html(bits_html(f"{fmt.name} — {fmt.bits} bits, {fmt.bytes} bytes",
                          [("sign 1 bit", enc.sign, SIGN),
                           (f"exponent {fmt.exponent_bits} bits", enc.exponent, EXPONENT),
                           (f"fraction {fmt.fraction_bits} bits", enc.fraction, FRACTION)]))
        err = enc.error
        detail = (f"stored value **{_fmt(enc.stored, exact=True)}**" +
                  (f" · error {err:+.3g} ({enc.relative_error:.2g} relative)" if math.isfinite(err) and err else "") +
                  (f" · power of two 2^{enc.exponent_value}" if enc.exponent_value is not None else ""))
        st.markdown(detail)
        if enc.kind in ("inf", "zero", "subnormal") and enc.note != "exact" and math.isfinite(value) and value != 0:
            st.warning(f"{fmt.name}: {enc.note}.")
        elif enc.kind == "nan":
            st.caption(f"{fmt.name}: {enc.note}.")
    _int8(value, key)
    with st.expander("Each format's range (computed from its bits)"):
        rows = [{k: (_fmt(v) if isinstance(v, float) else ("—" if v is None else str(v))) for k, v in row.items()}
                for row in floats.format_table()]
        st.dataframe(rows, hide_index=True, key=f"{key}_ranges")
        st.caption("Past the maximum a number overflows to infinity; below half the smallest subnormal it "
                   "underflows to 0. BF16 keeps FP32's 8 exponent bits, so it has (almost) FP32's range with "
                   "far fewer digits; FP16 has more digits than BF16 but tops out at 65,504.")


def _int8(value: float, key: str) -> None:
    st.markdown("**INT8** — a whole number from −128 to 127 plus a scale (and a zero point) stored once for many "
                "values")
    a, b, c = st.columns(3)
    low = a.number_input("Range low", value=-4.0, step=1.0, key=f"{key}_int8_low")
    high = b.number_input("Range high", value=4.0, step=1.0, key=f"{key}_int8_high")
    symmetric = c.toggle("Symmetric (zero point 0)", value=True, key=f"{key}_int8_sym")
    if not math.isfinite(value):
        st.info("INT8 has no infinity or NaN: only finite numbers can be quantized.")
        return
    try:
        enc = floats.encode_int8(value, low, high, symmetric)
    except ValueError as exc:
        st.info(f"{exc}.")
        return
    st.html(bits_html("INT8 — 8 bits, 1 byte (two's complement: the top bit counts −128, the others add 64 … 1)",
                      [("worth −128", enc.bits[0], SIGN), ("worth 64 32 16 8 4 2 1", enc.bits[1:], FRACTION)]))
    st.markdown(f"q = round({_fmt(value)} ÷ {enc.scale:.6g})" + (f" + {enc.zero_point}" if enc.zero_point else "") +
                f" = **{enc.q}** · stored value ({enc.q} − {enc.zero_point}) × {enc.scale:.6g} = "
                f"**{enc.stored:.6g}** · error {enc.error:+.3g}")
    st.caption("A scale is stored once per tensor, row or group of weights; the 8 bits above are all each weight "
               "costs.")
    if enc.clipped:
        st.warning(f"{_fmt(value)} lies outside the range [{low:g}, {high:g}], so it is clipped to the nearest end. "
                   "Choosing the range (the scale) is the hard part of integer quantization.")
