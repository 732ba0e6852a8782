"""Page 2's embedding and attention demos under AppTest: figure data checked through the element protos."""
import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = "app_pages/02_inside_transformer.py"

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at) -> dict:
    """Plotly figures by element key is not exposed, so index them by their first trace's type and order."""
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out.setdefault(spec["data"][0]["type"], []).append(spec)
    return out


def arr(value) -> np.ndarray:
    """A plotly array from the figure JSON: a plain list, or a typed array {dtype, bdata, shape}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(n) for n in shape.split(",")]
        return flat.reshape(shape) if shape else flat
    return np.array(value, dtype=float)


def texts(at, kind) -> str:
    return " ".join(e.value for e in getattr(at, kind))


def test_demos_draw_every_picture(page):
    figs = figures(page)
    # token heatmap, similarity matrix, 2 attention maps, head overview; bar chart of neighbours; 2-D/3-D maps
    assert len(figs["heatmap"]) == 5 and len(figs["bar"]) == 1
    assert "scatter" in figs and "scatter3d" in figs
    assert len(page.get("iframe")) == 2                        # bertviz head view and model view
    assert not page.exception


def test_token_heatmap_shows_the_first_dimensions_with_a_scale(page):
    spec = figures(page)["heatmap"][0]
    z = arr(spec["data"][0]["z"])
    assert z.shape == (10, 64)                                 # "The king and the queen ate pizza in Paris."
    assert spec["data"][0]["colorbar"]["title"]["text"] == "value"
    assert spec["layout"]["yaxis"]["ticktext"][1] == "1: ·king"
    bar = figures(page)["bar"][0]["data"][0]
    x = list(arr(bar["x"]))
    assert len(x) == 10 and x == sorted(x, reverse=True)   # neighbours of " king"
    assert "King" in bar["y"][0]


def test_one_word_shows_its_start_and_mid_sentence_forms_side_by_side(page):
    """The word "king" alone gave "ked, ks, kers, King"; one word now shows both forms, each named on the page."""
    word = page.text_input(key="embeddings_word")
    try:
        word.input("king").run()
        assert not page.exception, [e.value for e in page.exception]
        start, mid = (b for b in figures(page)["bar"])
        assert start["layout"]["xaxis"]["title"]["text"] == "cosine similarity with king"
        assert mid["layout"]["xaxis"]["title"]["text"] == "cosine similarity with ·king"
        start_labels, mid_labels = " ".join(start["data"][0]["y"]), " ".join(mid["data"][0]["y"])
        assert "ked" in start_labels and "·queen" not in start_labels
        assert mid["data"][0]["y"][0].startswith("·King") and "·queen" in mid_labels
        shown = texts(page, "markdown").replace("\\", "")            # labels are Markdown-escaped (\:)
        assert "at the start of a text: no space before it" in shown
        assert "in the middle of a sentence: with the space before it" in shown
        assert "keeps the space in front of a word inside the token" in texts(page, "caption")   # not only a tooltip

        page.text_input(key="embeddings_word").input("pizza").run()     # "p" + "izza", but " pizza" is one token
        assert len(figures(page)["bar"]) == 2
        assert ("is 2 tokens" in texts(page, "caption")
                and "showing the neighbours of the first" in texts(page, "caption"))
        assert figures(page)["bar"][0]["layout"]["xaxis"]["title"]["text"] == "cosine similarity with p"

        page.text_input(key="embeddings_word").input("the king").run()  # several words: used as typed, one chart
        assert len(figures(page)["bar"]) == 1 and not page.exception
    finally:
        page.text_input(key="embeddings_word").input("").run()
    assert len(figures(page)["bar"]) == 1


def test_similarity_matrix_and_pca_groups(page):
    sim = figures(page)["heatmap"][1]["data"][0]
    z = arr(sim["z"])
    assert z.shape == (16, 16) and np.allclose(np.diag(z), 1, atol=1e-5) and np.allclose(z, z.T, atol=1e-6)
    scatter = figures(page)["scatter"][0]["data"]
    assert [t["name"] for t in scatter] == ["animals", "food", "sport", "space"]
    assert sum(len(arr(t["x"])) for t in scatter) == 16
    assert "Elephants remember" in " ".join(scatter[0]["hovertext"])


def test_search_ranks_pets_first(page):
    frame = page.dataframe[-1].value
    assert list(frame.columns) == ["rank", "similarity", "sentence", "topic"]
    assert frame["topic"].iloc[0] == "animals"
    assert frame["similarity"].is_monotonic_decreasing


def test_attention_heatmaps_causal_and_full(page):
    dec, enc = figures(page)["heatmap"][2:4]
    zd, ze = arr(dec["data"][0]["z"]), arr(enc["data"][0]["z"])
    assert np.all(np.isnan(zd[np.triu_indices(len(zd), 1)]))   # the causal triangle is blank
    assert np.allclose(np.nansum(zd, 1), 1, atol=1e-3) and np.allclose(ze.sum(1), 1, atol=1e-3)
    assert not np.isnan(ze).any()
    assert enc["layout"]["yaxis"]["ticktext"][0] == "[CLS]"
    overview = figures(page)["heatmap"][4]["data"][0]
    assert arr(overview["z"]).shape == (30, 9)


def test_sliders_pick_the_layer_and_head(page):
    page.slider(key="attention_dec_layer").set_value(5).run()
    page.slider(key="attention_dec_head").set_value(3).run()
    assert not page.exception
    # the overview's red square follows the sliders
    rect = figures(page)["heatmap"][4]["layout"]["shapes"][0]
    assert (rect["x0"], rect["y0"]) == (2.5, 4.5)


def head_view_params(at) -> dict:
    html = at.get("iframe")[0].proto.srcdoc                   # the head view comes first, the model view second
    return json.loads(re.search(r"const params = (\{.*?\}); //", html, re.DOTALL).group(1))


def test_bertviz_head_view_opens_on_the_sliders_layer(page):
    """The head view stayed on layer 0 while the slider said 12. Both count from 0: no offset."""
    page.slider(key="attention_dec_layer").set_value(12).run()
    assert not page.exception
    assert head_view_params(page)["layer"] == 12
    assert page.session_state["attention_bv_drawn"] == ("dec", 12)
    assert "It opens on layer 12, the one SmolLM2's Layer slider above selects" in texts(page, "caption")
    page.slider(key="attention_enc_layer").set_value(4).run()           # the other model's slider: no change
    assert head_view_params(page)["layer"] == 12
    page.radio(key="attention_bv_model").set_value("enc").run()         # MiniLM in bertviz: its own slider
    assert head_view_params(page)["layer"] == 4 and len(head_view_params(page)["include_layers"]) == 6
    page.radio(key="attention_bv_model").set_value("dec").run()


def test_a_fragment_rerun_notices_a_stale_head_view():
    """Moving a slider reruns only the heatmaps' fragment, which cannot redraw bertviz: the fragment then asks for a
    full rerun, but only when the layer of the model bertviz shows has changed (AppTest always runs the whole page,
    so this part is checked directly)."""
    from components.labs.inside_transformer.attention_view import bertviz_layer, bertviz_stale

    layers = {"dec": 30, "enc": 6}
    state = {"a_dec_layer": 12, "a_enc_layer": 2, "a_bv_drawn": ("dec", 0)}
    assert bertviz_stale(state, "a", layers) == ("dec", 12)
    assert bertviz_stale({**state, "a_bv_drawn": ("dec", 12)}, "a", layers) is None
    assert bertviz_stale({**state, "a_bv_drawn": ("enc", 2)}, "a", layers) is None       # SmolLM2's slider: not shown
    assert bertviz_stale({"a_dec_layer": 3}, "a", layers) is None                        # never drawn yet
    assert bertviz_layer({}, "a", "dec", 30) == 0 and bertviz_layer({"a_enc_layer": 9}, "a", "enc", 6) == 5


def test_picking_a_top_head_opens_it(page):
    page.selectbox(key="attention_stat").select("previous").run()
    pick = page.selectbox(key="attention_pick")
    top = pick.options[1]
    pick.select_index(1).run()
    layer, head = page.slider(key="attention_dec_layer").value, page.slider(key="attention_dec_head").value
    assert f"layer {layer}, head {head}" in top


def test_generated_tokens_are_included():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE)
    at.run()
    at.text_area(key="attention_text").input("The capital of France is").run()
    at.checkbox(key="attention_generate").check().run()
    assert not at.exception
    shown = " ".join(e.proto.body for e in at.get("html"))
    assert "SmolLM2 continued your text" in shown and "Paris" in shown
    dec = figures(at)["heatmap"][2]
    assert len(arr(dec["data"][0]["z"])) > 5 and "d62728" in " ".join(dec["layout"]["yaxis"]["ticktext"])


@pytest.mark.parametrize("case", ["empty", "one token", "5000 words", "odd", "html"])
def test_bad_input_gives_messages_not_tracebacks(case):
    text = {"empty": "", "one token": "Hi", "5000 words": " ".join(["word"] * 5000),
            "odd": "👨‍👩‍👧 مرحبا بالعالم \u200b東京",
            "html": "<script>alert(1)</script><img src=x onerror=alert(2)>"}[case]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE)
    at.run()
    at.text_area(key="attention_text").input(text).run()
    at.text_input(key="embeddings_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    if case == "empty":
        assert "Type some text above to see its attention maps" in texts(at, "info")
        assert "Type a few words" in texts(at, "info")
    if case == "5000 words":
        assert "the first 96 are used" in texts(at, "warning")
        assert "the first 48 are drawn" in texts(at, "warning")
        assert "first 40 of 96 tokens" in texts(at, "warning")
    if case == "one token":                                   # "Hi" is one SmolLM2 token: no previous token
        at.selectbox(key="attention_stat").select("previous").run()
        assert "needs at least two tokens" in texts(at, "info") and not at.exception
    if case == "html":
        ticks = " ".join(figures(at)["heatmap"][2]["layout"]["yaxis"]["ticktext"])
        assert "&lt;" in ticks and "<script" not in ticks


@pytest.mark.parametrize("lines, message", [
    ("", "Type at least two sentences"),
    ("Only one sentence here.", "A 2-D map needs at least 3 different sentences (you have 1)"),
    ("a | Same.\nb | Same.\nc | Same.\nd | Other.", "appear more than once"),
])
def test_sentence_edge_cases(lines, message):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE)
    at.run()
    at.text_area(key="embeddings_sentences").input(lines).run()
    assert not at.exception, [e.value for e in at.exception]
    assert message in texts(at, "info") + texts(at, "warning")


def test_a_server_model_pick_leaves_the_insides_to_the_model_in_this_app(server_registry):
    """A learner who picked a model-server decoder elsewhere: page 2's demos keep SmolLM2 and say so, once each."""
    from tests.openai_servers import SERVED, closed_port

    server_registry(f"http://127.0.0.1:{closed_port()}/v1")           # never asked: nothing here generates
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["lab_decoder"] = SERVED
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    notes = [c.value for c in at.caption if "needs the model's weights in this app" in c.value]
    assert [n.split(" needs")[0] for n in notes] == ["The tokenizer demo", "The token embeddings demo",
                                                     "The attention map"], notes
    assert all("it shows SmolLM2-135M-Instruct (Served SmolLM2 runs on a model server)" in n for n in notes)
