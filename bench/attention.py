"""Attention demo timings: from a ~100-token text to everything the attention demo draws, on this machine.

Measures (warm models, median of 3 runs): both models' attention forward passes, the head statistics,
the two plotly heatmaps' figure building, bertviz's head and model view HTML (time and size), and the
greedy continuation + attention. Also reports the first (cold) call, which includes loading the models.

With --browser it also starts `streamlit run` and headless chromium, types the text into the attention
demo and times until the heatmaps and both bertviz views are drawn with the new tokens (models warm).

Usage: .venv/bin/python -m bench.attention [--browser | --browser-only]
(GENAI_LAB_CACHE as for the app; HF_HUB_OFFLINE=1)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


TEXT = ("Once upon a time, in a small village by the sea, there lived an old fisherman and his cat. "
        "The dog ignored the ball because it was tired. Later that evening, the children took it to the park, "
        "where it slept under a tree while they played football and argued about who had won the last game. "
        "When the sun went down, everyone walked home slowly, talking about school, homework, holidays and the "
        "strange noise they had heard near the old bridge.")


def timed(fn, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    import logging
    logging.getLogger("streamlit").setLevel(logging.ERROR)          # "No runtime found" from cached helpers
    from components.labs.inside_transformer.attention_view import (
        BERTVIZ_LAYERS,
        BERTVIZ_TOKENS,
        MAX_TOKENS,
        attention_heatmap,
        overview_figure,
    )
    from core.labs.inside_transformer.attention_stats import STATISTICS, head_grid
    from core.labs.inside_transformer.bertviz_offline import head_view_html, load_vendor, model_view_html
    from core.serving import inspection
    from core.serving.model_service import ModelService
    from core.serving.settings import Settings

    svc = ModelService(Settings.from_env())
    print(f"device: {svc.device_label}")
    t0 = time.perf_counter()
    dec = svc.attentions(TEXT, kind="causal-lm", max_tokens=MAX_TOKENS)
    enc = svc.attentions(TEXT, kind="sentence-encoder", max_tokens=MAX_TOKENS)
    print(f"cold: both models loaded + first attention pass   {time.perf_counter() - t0:7.2f} s")
    print(f"tokens: SmolLM2 {len(dec.tokens)}, MiniLM {len(enc.tokens)}")

    t_dec, dec = timed(lambda: svc.attentions(TEXT, kind="causal-lm", max_tokens=MAX_TOKENS))
    t_enc, enc = timed(lambda: svc.attentions(TEXT, kind="sentence-encoder", max_tokens=MAX_TOKENS))
    t_stats, _ = timed(lambda: [head_grid(a.weights, s) for a in (dec, enc) for s in STATISTICS])
    t_figs, _ = timed(lambda: (attention_heatmap(dec.weights[0, 0], dec.tokens, True).to_json(),
                               attention_heatmap(enc.weights[0, 0], enc.tokens, False).to_json(),
                               overview_figure(head_grid(dec.weights, "entropy"), "entropy", (0, 0)).to_json()))
    vendor = load_vendor(ROOT / "components" / "static" / "vendor")
    n = BERTVIZ_TOKENS
    t_head, head = timed(lambda: head_view_html(dec.weights[:, :, :n, :n], list(dec.tokens[:n]), vendor))
    t_model, model = timed(lambda: model_view_html(dec.weights[:, :, :n, :n], list(dec.tokens[:n]), vendor,
                                                   layers=list(range(BERTVIZ_LAYERS))))
    t_cont, (cont, prompt_len) = timed(
        lambda: inspection.attentions_with_continuation(svc, TEXT, 12, max_tokens=MAX_TOKENS), 2)

    rows = [
        ("SmolLM2 attention, all 30 layers x 9 heads", t_dec),
        ("MiniLM attention, all 6 layers x 12 heads", t_enc),
        ("head statistics, 4 kinds x both models", t_stats),
        ("plotly figures (2 heatmaps + overview) to JSON", t_figs),
        (f"bertviz head view HTML, {n} tokens, 30 layers ({len(head.html) / 1e6:.2f} MB)", t_head),
        (f"bertviz model view HTML, {n} tokens, {BERTVIZ_LAYERS} layers ({len(model.html) / 1e6:.2f} MB)", t_model),
        (f"greedy continuation +12 tokens, then attention ({len(cont.tokens)} tokens)", t_cont),
    ]
    for label, seconds in rows:
        print(f"{label:<72} {seconds * 1000:8.1f} ms")
    total = t_dec + t_enc + t_stats + t_figs + t_head + t_model
    print(f"{'total server time, text -> every attention view built (warm)':<72} {total * 1000:8.1f} ms")


def browser() -> None:
    """Wall time from submitting the text to every attention view drawn, in a real browser."""
    import socket
    import subprocess
    import urllib.request

    from playwright.sync_api import expect, sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                               str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = b.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)
            page.goto(url + "/inside-transformer")
            page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")
            expect(page.locator("[data-testid=stIFrame]")).to_have_count(2)      # models loaded, first views drawn
            box = page.get_by_role("textbox", name="Text for the attention maps")
            box.fill(TEXT)
            t0 = time.perf_counter()
            box.press("Control+Enter")
            page.wait_for_timeout(100)
            page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")
            expect(page.frame_locator("[data-testid=stIFrame]").nth(0).get_by_text("·fisherman").first).to_be_attached()
            print(f"browser: submit a ~100-token text -> heatmaps, overview, bertviz drawn  "
                  f"{time.perf_counter() - t0:7.2f} s")
            layer = page.locator("[data-testid=stSlider]").filter(has_text="Layer").first.get_by_role("slider")
            layer.focus()
            t0 = time.perf_counter()
            layer.press("ArrowRight")
            page.wait_for_timeout(100)
            page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")
            print(f"browser: move the layer slider -> page redrawn (cached results)        "
                  f"{time.perf_counter() - t0:7.2f} s")
            b.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    if "--browser-only" not in sys.argv:
        main()
    if "--browser" in sys.argv or "--browser-only" in sys.argv:
        browser()
