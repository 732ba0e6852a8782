"""The self-contained bertviz pages: nothing fetched from a CDN, tokens cannot break out of the script."""
import json
import re

import numpy as np
import pytest

from core.labs.inside_transformer.bertviz_offline import (
    VENDOR_FILES,
    bertviz_folder,
    head_view_html,
    load_vendor,
    model_view_html,
    view_script,
)
from core.serving.settings import PROJECT_ROOT

VENDOR = PROJECT_ROOT / "components" / "static" / "vendor"


@pytest.fixture(scope="module")
def vendor():
    return load_vendor(VENDOR)


def weights(layers=2, heads=3, seq=4):
    w = np.random.default_rng(0).random((layers, heads, seq, seq)).astype(np.float32)
    return w / w.sum(-1, keepdims=True)


def test_vendored_files_are_the_pinned_versions():
    for name in VENDOR_FILES.values():
        assert (VENDOR / name).is_file()
    assert "RequireJS 2.3.6" in (VENDOR / "require-2.3.6.js").read_text()[:300]
    assert "v5.7.0" in (VENDOR / "d3-5.7.0.min.js").read_text()[:200]
    assert "jQuery v2.1.0" in (VENDOR / "jquery-2.1.0.min.js").read_text()[:200]
    for lic in ("d3-LICENSE.txt", "jquery-LICENSE.txt", "requirejs-LICENSE.txt"):
        assert (VENDOR / lic).is_file()


def test_bertviz_scripts_lose_their_cdn_config():
    assert (bertviz_folder() / "head_view.js").is_file()
    for view in ("head", "model"):
        js = view_script(view)
        assert "cdnjs" not in js and "require.config" not in js and "PYTHON_PARAMS" in js
    with pytest.raises(ValueError):
        view_script("neuron")


@pytest.mark.parametrize("build", [head_view_html, model_view_html])
def test_pages_are_self_contained(vendor, build):
    page = build(weights(), ["a", "b", "c", "d"], vendor)
    assert page.html.startswith("<!DOCTYPE html>") and page.height > 100
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page.html)
    assert "cdnjs" not in page.html and "sourceMappingURL" not in page.html
    # d3, jQuery, require.js, the shims, the view (+ zoom)
    assert len(re.findall(r"^<script>", page.html, re.M)) == (5 if build is head_view_html else 6)
    assert "define('d3'" in page.html and "define('jquery'" in page.html


def test_params_hold_the_weights_and_tokens(vendor):
    w = weights(layers=3)
    page = head_view_html(w, ["x", "y", "z", "w"], vendor, layer=2)
    params = json.loads(re.search(r"const params = (\{.*?\}); //", page.html, re.DOTALL).group(1))
    assert params["layer"] == 2 and params["include_layers"] == [0, 1, 2]
    attn = np.array(params["attention"][0]["attn"])
    assert attn.shape == (3, 3, 4, 4) and np.allclose(attn, w, atol=5e-4)
    mv = model_view_html(w, ["x", "y", "z", "w"], vendor, layers=[1, 2])
    params = json.loads(re.search(r"const params = (\{.*?\}); //", mv.html, re.DOTALL).group(1))
    assert params["include_layers"] == [1, 2] and np.allclose(params["attention"][0]["attn"], w[1:], atol=5e-4)


@pytest.mark.parametrize("layer", [0, 12, 29])
def test_head_view_opens_on_the_given_layer(vendor, layer):
    """bertviz counts layers from 0 like the page's sliders: slider 12 -> params.layer 12, found at position 12
    of include_layers by head_view.js (the view must open on the slider's layer)."""
    def params(page):
        return json.loads(re.search(r"const params = (\{.*?\}); //", page.html, re.DOTALL).group(1))

    opened = params(head_view_html(weights(layers=30, heads=2), list("abcd"), vendor, layer=layer))
    assert opened["layer"] == layer and opened["include_layers"].index(layer) == layer
    assert params(head_view_html(weights(), list("abcd"), vendor))["layer"] == 0             # the default


def test_tokens_with_markup_cannot_close_the_script(vendor):
    tokens = ["</script><script>alert(1)</script>", "<!--", "a&b", "[0.0,"]
    page = head_view_html(weights(), tokens, vendor)
    assert "alert(1)</script>" not in page.html and "<!--" not in page.html.split("<script>", 5)[-1]
    params = json.loads(re.search(r"const params = (\{.*?\}); //", page.html, re.DOTALL).group(1))
    assert params["attention"][0]["left_text"] == tokens       # the browser still shows the exact text


def test_bad_arguments(vendor):
    with pytest.raises(ValueError, match="positions"):
        head_view_html(weights(), ["a", "b"], vendor)
    with pytest.raises(ValueError, match="layer"):
        head_view_html(weights(), list("abcd"), vendor, layer=5)
    with pytest.raises(ValueError, match="layers"):
        model_view_html(weights(), list("abcd"), vendor, layers=[0, 7])
    with pytest.raises(ValueError):
        head_view_html(np.ones((2, 2, 3)), list("abc"), vendor)
    with pytest.raises(FileNotFoundError):
        load_vendor(PROJECT_ROOT / "nowhere")
