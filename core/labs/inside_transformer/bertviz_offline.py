"""bertviz's head view and model view as one self-contained HTML page that works without internet.

bertviz (pinned in requirements-models.txt) draws attention with D3. Its Python side only builds a
JSON of the weights and pastes it into its JavaScript, which asks require.js to fetch d3 and jQuery
from a CDN — offline, the view stays empty. Here we read bertviz's own JavaScript files, build the
same JSON, and inline require.js, d3 and jQuery (vendored in components/static/vendor) so the page
never loads anything. bertviz's Python module is not imported: it needs IPython, which this app
does not install.
"""
from __future__ import annotations

import importlib.util
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The vendored files (npm requirejs@2.3.6, d3@5.7.0, jquery@2.1.0), by role.
VENDOR_FILES = {"require": "require-2.3.6.js", "d3": "d3-5.7.0.min.js", "jquery": "jquery-2.1.0.min.js"}
FONT = "font-family:'Helvetica Neue', Helvetica, Arial, sans-serif;"
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.DOTALL)
_ZERO = re.compile(r"(?<=[\[,])0\.0(?=[,\]])")

# Pixel sizes of bertviz's drawings (constants in head_view.js and model_view.js), used to size the frame.
_HEAD_BOX_HEIGHT, _HEAD_TEXT_TOP = 22.5, 30
_MODEL_DIV_WIDTH, _MODEL_THUMB_PAD, _MODEL_AXIS = 970, 5, 15 + 5 + 13 + 5


@dataclass(frozen=True)
class VendorScripts:
    require: str
    d3: str
    jquery: str


def load_vendor(folder: Path) -> VendorScripts:
    """Read the three vendored libraries; the error names a missing file."""
    texts = {}
    for role, name in VENDOR_FILES.items():
        path = Path(folder) / name
        if not path.is_file():
            raise FileNotFoundError(f"vendored script missing: {path}")
        # A source-map comment would make an open devtools window try to fetch the map.
        texts[role] = re.sub(r"//[#@] sourceMappingURL=\S+", "", path.read_text(encoding="utf-8"))
    return VendorScripts(**texts)


def bertviz_folder() -> Path:
    """The installed bertviz package folder, found without running its __init__ (which imports IPython)."""
    spec = importlib.util.find_spec("bertviz")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("bertviz is not installed (pip install --no-deps -r requirements-models.txt)")
    return Path(list(spec.submodule_search_locations)[0])


def view_script(view: str) -> str:
    """bertviz's JavaScript for 'head' or 'model' view, with its CDN configuration taken out."""
    if view not in ("head", "model"):
        raise ValueError("view must be 'head' or 'model'")
    js = (bertviz_folder() / f"{view}_view.js").read_text(encoding="utf-8")
    js, n = _REQUIRE_CONFIG.subn("", js, count=1)
    if n != 1 or "PYTHON_PARAMS" not in js:
        raise ValueError(f"this bertviz version's {view}_view.js has an unexpected layout")
    return js


def _script_json(value) -> str:
    """JSON that is safe inside a <script> element: no '</script>' or '<!--' can close it early."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _check(weights, tokens) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float32)
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        raise ValueError(f"attention must be (layers, heads, seq, seq), got shape {w.shape}")
    if w.shape[2] != len(tokens) or not tokens:
        raise ValueError(f"attention has {w.shape[2]} positions but there are {len(tokens)} tokens")
    return w


def _rounded(w: np.ndarray, digits: int) -> list:
    # Three decimals are enough to draw a line's opacity and keep the page small (≈6 bytes a weight).
    # Round in float64: a rounded float32 prints as 0.12300000339746475 in JSON, four times the bytes.
    return np.round(np.nan_to_num(w.astype(np.float64), nan=0.0), digits).tolist()


def _page(div_id: str, controls: str, view_js: str, params: dict, vendor: VendorScripts, min_width: int = 0) -> str:
    """One HTML document: d3 and jQuery first (no loader yet, so they become globals), then require.js and
    two named modules handing those globals to bertviz's `requirejs(['jquery', 'd3'], ...)` call."""
    # The weights are spliced in separately, with zeros (a decoder's whole masked triangle) written as "0"
    # rather than "0.0": a tenth smaller page. Only numbers are touched, never token text.
    weights = [view["attn"] for view in params["attention"]]
    marked = {**params, "attention": [{**view, "attn": f"@@ATTN{i}@@"} for i, view in enumerate(params["attention"])]}
    text = _script_json(marked)
    for i, w in enumerate(weights):
        text = text.replace(f'"@@ATTN{i}@@"', _ZERO.sub("0", json.dumps(w, separators=(",", ":"))), 1)
    script = view_js.replace("PYTHON_PARAMS", text)
    return "\n".join([
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head>",
        f"<body style=\"margin:0;background:white;{FONT}\">",
        f"<div id='{div_id}' style=\"{FONT}\"><span style='user-select:none'>{controls}</span>"
        "<div id='vis'></div></div>",
        f"<script>{vendor.d3}</script>",
        f"<script>{vendor.jquery}</script>",
        f"<script>{vendor.require}</script>",
        "<script>define('d3', [], function () { return window.d3; });"
        "define('jquery', [], function () { return window.jQuery; });</script>",
        f"<script>{script}</script>",
        # The model view is drawn 970 px wide: shrink it to fit a narrower frame instead of cutting it off.
        (f"<script>function fit() {{ document.body.style.zoom = Math.min(1, window.innerWidth / {min_width}); }}"
         "fit(); window.addEventListener('resize', fit);</script>") if min_width else "",
        "</body></html>",
    ])


@dataclass(frozen=True)
class ViewPage:
    html: str       # the whole self-contained page
    height: int     # pixels the drawing needs


def head_view_html(weights, tokens: list[str], vendor: VendorScripts, layer: int = 0,
                   digits: int = 3) -> ViewPage:
    """bertviz's head view: lines from each token to the tokens it attends to, one colour per head.

    `layer` is the 0-based layer the view opens on (bertviz's `layer` argument: its dropdown lists 0…layers − 1
    and head_view.js finds `layer` in `include_layers`, which holds every layer here)."""
    w = _check(weights, tokens)
    layers = list(range(w.shape[0]))
    if layer not in layers:
        raise ValueError(f"layer must be between 0 and {len(layers) - 1}")
    div_id = f"bertviz-{uuid.uuid4().hex}"
    params = {"attention": [{"name": None, "attn": _rounded(w, digits), "left_text": list(tokens),
                             "right_text": list(tokens)}],
              "default_filter": "0", "root_div_id": div_id, "layer": layer, "heads": None, "include_layers": layers}
    height = int(len(tokens) * _HEAD_BOX_HEIGHT + _HEAD_TEXT_TOP + 60)
    return ViewPage(_page(div_id, "Layer: <select id='layer'></select>", view_script("head"), params, vendor), height)


def model_view_html(weights, tokens: list[str], vendor: VendorScripts, layers: list[int] | None = None,
                    digits: int = 3) -> ViewPage:
    """bertviz's model view: a thumbnail of every head of the chosen layers (rows) — click one to enlarge."""
    w = _check(weights, tokens)
    layers = list(range(w.shape[0])) if layers is None else sorted(set(int(i) for i in layers))
    if not layers or layers[0] < 0 or layers[-1] >= w.shape[0]:
        raise ValueError(f"layers must be between 0 and {w.shape[0] - 1}")
    heads = w.shape[1]
    div_id = f"bertviz-{uuid.uuid4().hex}"
    params = {"attention": [{"name": None, "attn": _rounded(w[layers], digits), "left_text": list(tokens),
                             "right_text": list(tokens)}],
              "default_filter": "0", "display_mode": "light", "root_div_id": div_id,
              "include_layers": layers, "include_heads": list(range(heads)), "total_heads": heads}
    thumb = len(tokens) * 7 * (12 / heads) + 2 * _MODEL_THUMB_PAD
    detail = len(tokens) * 18 + 2 * 15 + 25
    height = int(max(len(layers) * thumb + _MODEL_AXIS, detail) + 40)
    return ViewPage(_page(div_id, "", view_script("model"), params, vendor, min_width=_MODEL_DIV_WIDTH + 10), height)
