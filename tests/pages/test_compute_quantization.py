"""Page 6 under AppTest: the deck's numbers on screen, bad input handled, live quantization, memory short."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages import apptest

ROOT = Path(__file__).resolve().parents[2]
PAGE = "app_pages/06_compute_quantization.py"


def open_page() -> AppTest:
    return apptest.open_page(PAGE, timeout=180)


def quant_table(at):
    """The live-quantization results table (AppTest does not expose dataframe keys: find it by its columns)."""
    return next(d.value for d in at.dataframe if "top-1 agree (fixed text)" in d.value.columns)


def metric(at, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_calculator_reproduces_the_deck():
    at = open_page()
    assert metric(at, "Total at FP32") == "4 GB"                        # 1B to store at 32-bit
    at.radio(key="memcalc_mode").set_value("full training (Adam)").run()
    assert metric(at, "Total at FP32") == "24 GB"
    at.text_input(key="memcalc_params").input("175B").run()
    assert metric(at, "Total at FP32") == "4,200 GB"
    assert metric(at, "A100 80 GB needed") == "53"
    at.text_input(key="memcalc_params").input("500B").run()
    assert metric(at, "Total at FP32") == "12,000 GB"
    at.radio(key="memcalc_mode").set_value("inference").run()
    for precision, gb in (("FP16", "1,000 GB"), ("BF16", "1,000 GB"), ("INT8", "500 GB"), ("INT4", "250 GB")):
        at.radio(key="memcalc_precision").set_value(precision).run()
        assert metric(at, f"Total at {precision}") == gb
    assert not at.exception


def test_known_model_and_kv_cache():
    at = open_page()
    option = next(o for o in at.selectbox(key="memcalc_model").options if o.startswith("SmolLM2"))
    at.selectbox(key="memcalc_model").select(option).run()
    at.toggle(key="memcalc_kv").set_value(True).run()
    at.number_input(key="memcalc_context").set_value(8192).run()
    assert at.number_input(key="memcalc_layers").value == 30 and at.number_input(key="memcalc_kvheads").value == 3
    # 538.06 MB of weights + KV cache 2 × 30 × 8192 × 192 × 4 bytes = 377.49 MB
    assert metric(at, "Total at FP32") == "916 MB"
    assert not at.exception


@pytest.mark.parametrize("bad", ["0", "-5", "1e15", "abc", "", "nan", "inf", "<script>x</script>"])
def test_bad_parameter_counts_show_a_message(bad):
    at = open_page()
    at.text_input(key="memcalc_params").input(bad).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("parameter" in i.value or "number" in i.value for i in at.info)


@pytest.mark.parametrize("bad,expect", [("70000", "overflow"), ("1e-8", "underflow"), ("1e400", "64-bit"),
                                        ("abc", "not a number"), ("", "enter a number"), ("nan", None), ("-inf", None)])
def test_float_explorer_bad_and_edge_input(bad, expect):
    at = open_page()
    at.text_input(key="floats_number").input(bad).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(x.value for x in list(at.warning) + list(at.info))
    if expect:
        assert expect in shown


def test_float_explorer_int8_range_errors_are_messages():
    at = open_page()
    at.number_input(key="floats_int8_low").set_value(5.0).run()
    assert not at.exception and any("low < high" in i.value for i in at.info)


def test_compute_and_chinchilla_inputs():
    at = open_page()
    assert metric(at, "Petaflop/s-days") == "3,646"                   # GPT-3: 6 × 175B × 300B
    at.text_input(key="compute_tokens").input("-1").run()
    assert not at.exception and at.info
    at.text_input(key="chinchilla_budget_petaflop/s-days").input(str(6 * 70e9 * 1.4e12 / 8.64e19)).run()
    assert metric(at, "Optimal parameters") == "70B" and metric(at, "Optimal tokens") == "1.4T"
    at.text_input(key="chinchilla_budget_petaflop/s-days").input("zero").run()
    assert not at.exception and any("compute budget" in i.value for i in at.info)


@pytest.mark.model
def test_live_quantization_runs_on_the_real_model():
    at = open_page()
    at.multiselect(key="quant_schemes").set_value(["INT8"]).run()
    at.slider(key="quant_tokens").set_value(8).run()
    at.button(key="quant_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = quant_table(at)
    assert list(table["precision"]) == ["FP32", "INT8"]
    # int8 linears + row scales + BF16 embeddings
    assert table["size (stored)"][0] == "538 MB" and table["size (stored)"][1] == "163 MB"


@pytest.mark.model
def test_quantizing_when_memory_is_short_says_so(monkeypatch):
    import psutil

    real = psutil.virtual_memory

    class Short:
        def __init__(self):
            self.available, self.total = 100 * 2 ** 20, real().total

    monkeypatch.setattr(psutil, "virtual_memory", Short)
    at = open_page()
    at.multiselect(key="quant_schemes").set_value(["INT4"]).run()
    at.selectbox(key="quant_group").select(128).run()                  # a copy no earlier test cached
    at.slider(key="quant_tokens").set_value(8).run()
    at.button(key="quant_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Not enough free memory" in w.value for w in at.warning)
    assert list(quant_table(at)["precision"]) == ["FP32"]


@pytest.mark.model
def test_measured_memory_next_to_the_estimate():
    at = open_page()
    at.button(key="measured_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "measured stored tensors" in d.value.columns)
    rows = {r["precision"]: r for _, r in table.iterrows()}
    assert list(rows) == ["FP32", "FP16", "BF16", "INT8", "INT4"]
    for p in ("FP32", "FP16", "BF16"):                                  # one number per parameter: no gap
        assert rows[p]["gap"] == "+0%" and rows[p]["calculator (N × bytes)"] == rows[p]["measured stored tensors"]
    assert rows["FP32"]["measured stored tensors"] == "538 MB"
    assert rows["INT8"]["gap"].startswith("+") and rows["INT8"]["gap"] != "+0%"


@pytest.mark.parametrize("prompt", ["", "x" * 600])
def test_quantization_prompt_bad_input(prompt):
    at = open_page()
    at.text_input(key="quant_prompt").input(prompt).run()
    assert not at.exception
    shown = " ".join(x.value for x in list(at.info) + list(at.warning))
    assert ("Type a prompt" in shown) if not prompt else ("only the first 500" in shown)


def test_encoder_decoder_kv_cache_keeps_cross_attention_and_head_width():
    from core.labs.compute_quantization import memory as mem
    model = next((m for m in mem.known_models() if m.kv_shape is not None and m.kv_shape.cross_attention), None)
    if model is None:
        pytest.skip("no encoder-decoder model with a known shape is shipped")
    at = open_page()
    option = next(o for o in at.selectbox(key="memcalc_model").options if o.startswith(model.name))
    at.selectbox(key="memcalc_model").select(option).run()
    at.toggle(key="memcalc_kv").set_value(True).run()
    shape = model.kv_shape
    assert at.toggle(key="memcalc_cross").value is True
    assert at.number_input(key="memcalc_layers").value == shape.layers
    assert at.number_input(key="memcalc_headdim").value == shape.head_dim
    # Turning cross-attention off shrinks the total: the toggle reaches the estimate.
    at.radio(key="memcalc_precision").set_value("FP32").run()
    with_cross = metric(at, "Total at FP32")
    at.toggle(key="memcalc_cross").set_value(False).run()
    assert metric(at, "Total at FP32") != with_cross
    assert not at.exception
