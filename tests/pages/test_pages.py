"""Every page renders under AppTest without an exception; the tokenizer demo reacts to input."""
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from tests.pages import apptest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = ["app_pages/00_home.py"] + [s["page"] for s in yaml.safe_load((ROOT / "lessons/sections.yaml").read_text())]


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=120, check=False)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page):
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "every page has a title"
    words = sum(len(m.value.split()) for m in at.main.markdown)
    assert words >= (50 if page.endswith(("quiz.py", "home.py")) else 150), "every page teaches something"


def test_home_links_every_lesson():
    at = open_page("app_pages/00_home.py")
    assert at.title[0].value == "GenAI Lab"


def test_sidebar_shows_device_and_both_models():
    at = open_page("app_pages/00_home.py")
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Running on" in captions and "SmolLM2-135M-Instruct" in captions and "all-MiniLM-L6-v2" in captions


def metrics(at) -> dict:
    out = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(m.value)
    return out


@pytest.mark.model
def test_tokenizer_demo_counts_tokens_for_both_models():
    at = open_page("app_pages/02_inside_transformer.py")
    at.text_area(key="tokenizer_text").input("Hello world").run()
    assert not at.exception
    m = metrics(at)
    assert m["Tokens"] == ["2", "4"]            # SmolLM2: Hello, ' world'; MiniLM: [CLS] hello world [SEP]
    assert m["Characters"] == ["11", "11"]


@pytest.mark.model
def test_tokenizer_example_picker_fills_the_text():
    at = open_page("app_pages/02_inside_transformer.py")
    at.selectbox(key="tokenizer_example").select("Emoji").run()
    assert "🍕" in at.text_area(key="tokenizer_text").value and not at.exception


@pytest.mark.model
@pytest.mark.parametrize("text", ["", "👨‍👩‍👧 東京 مرحبا", "a\u200bb\x00c\x07",
                                  "<script>alert(1)</script><img src=x onerror=alert(2)>",
                                  "x" * 200_001, "word " * 9000])
def test_tokenizer_demo_survives_bad_input(text):
    at = open_page("app_pages/02_inside_transformer.py")
    at.text_area(key="tokenizer_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    if not text:
        assert any("Type some text" in i.value for i in at.info)
    if len(text) > 200_000:
        assert any("only the first 200,000" in w.value for w in at.warning)
    if text.startswith("word"):
        assert any("do not fit" in w.value for w in at.warning)   # beyond MiniLM's 256 and SmolLM2's 8,192


@pytest.fixture
def fresh_service():
    """Forget the process-wide model service before and after a test that changes its settings."""
    from components.common import cache as app_cache
    app_cache.model_service.clear()
    yield
    app_cache.model_service.clear()


@pytest.mark.parametrize("env, message", [
    ({"GENAI_LAB_DEVICE": "cuda"}, "could not start"),            # asked for a GPU that is not there (CI has none)
    ({"GENAI_LAB_DEVICE": "tpu"}, "GENAI_LAB_DEVICE"),
    ({"GENAI_LAB_MODELS": "/nonexistent/models.yaml"}, "cannot read the model registry"),
])
def test_a_broken_setup_shows_a_message_not_a_traceback(monkeypatch, fresh_service, env, message):
    import torch
    if env.get("GENAI_LAB_DEVICE") == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any(message in e.value for e in at.sidebar.error), [e.value for e in at.sidebar.error]
