"""The app in its dark theme (a browser whose system prefers dark): pages open cleanly, and every text the app
colours itself (HTML boxes, token chips, legends) keeps a readable contrast against what is behind it."""
from __future__ import annotations

import pytest

from tests.browser.harness import LabPage

pytestmark = pytest.mark.browser

# For each text node inside the app's own markdown and HTML: its colour (with the opacities above it) against the
# first opaque background behind it (semi-transparent layers blended in), as a WCAG contrast ratio.
CONTRAST_JS = """
() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return [0, 0, 0, 0];
    const v = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const lum = c => { const f = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const background = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const b = parse(getComputedStyle(e).backgroundColor);
      if (b[3] > 0) { layers.push(b); if (b[3] >= 1) break; } }
    let c = [255, 255, 255, 1]; if (layers.length && layers[layers.length - 1][3] >= 1) c = layers.pop();
    for (const l of layers.reverse()) c = over(l, c); return c; };
  const out = [];
  const roots = document.querySelectorAll('[data-testid=stMain] [data-testid=stMarkdownContainer], ' +
                                          '[data-testid=stMain] [data-testid=stHtml]');
  for (const root of roots) {
    // value labels float over the track
    if (root.closest('[data-testid=stSlider], [data-testid=stSelectSlider]')) continue;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement; if (!n.textContent.trim() || !el.getClientRects().length) continue;
      const s = getComputedStyle(el); if (s.visibility === 'hidden') continue;
      let alpha = parse(s.color)[3];
      for (let e = el; e; e = e.parentElement) alpha *= Number(getComputedStyle(e).opacity);
      const bg = background(el), fg = over([...parse(s.color).slice(0, 3), alpha], bg);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      if (ratio < 3) out.push(`${ratio.toFixed(2)}: "${n.textContent.trim().slice(0, 40)}" ${s.color} on ${bg}`);
    }
  }
  return out;
}
"""


@pytest.fixture
def dark(browser, server_url):
    tab = LabPage.new(browser, server_url, color_scheme="dark")
    yield tab
    tab.close()


@pytest.mark.parametrize("path", ["", "model-cards-architectures", "lifecycle-optimization", "rag-applications"])
def test_pages_read_well_in_the_dark_theme(dark, path):
    dark.open(path)
    background = dark.page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
    assert background == "rgb(21, 20, 26)", background          # the dark theme of .streamlit/config.toml
    dark.assert_healthy()
    low = dark.page.evaluate(CONTRAST_JS)
    dark.screenshot(f"dark-{path or 'home'}")
    assert not low, low
