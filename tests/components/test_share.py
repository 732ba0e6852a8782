"""Links that reproduce an experiment (components/common/share.py), in a toy app under AppTest."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from streamlit.testing.v1 import AppTest


def toy():
    import streamlit as st

    from components.common import share

    fields = [share.Field("prompt", "toy_prompt", max_chars=20), share.Field("t", "toy_t", float, 0.0, 2.0),
              share.Field("k", "toy_k", int, 0, 200), share.Field("mode", "toy_mode", choices=("a", "b")),
              share.Field("cot", "toy_cot", bool)]
    share.apply("toy", fields)
    st.session_state.setdefault("toy_prompt", "Hello")
    st.session_state.setdefault("toy_t", 1.0)
    st.session_state.setdefault("toy_k", 50)
    st.text_area("Prompt", key="toy_prompt")
    st.slider("T", 0.0, 2.0, key="toy_t")
    st.slider("k", 0, 200, key="toy_k")
    st.radio("Mode", ["a", "b"], key="toy_mode")
    st.toggle("CoT", key="toy_cot")
    st.text(share.url("toy", fields, base="http://lab.example/inference-configuration?other=1"))


def _open(**params) -> AppTest:
    at = AppTest.from_function(toy)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def test_a_link_fills_in_the_demo_and_the_link_reproduces_it():
    at = _open(**{"toy.prompt": "Once upon", "toy.t": "0.7", "toy.k": "5", "toy.mode": "b", "toy.cot": "1"})
    assert not at.exception and not at.warning
    assert (at.text_area[0].value, at.slider[0].value, at.slider[1].value, at.radio[0].value, at.toggle[0].value) == (
        "Once upon", 0.7, 5, "b", True)
    link = urlsplit(at.text[0].value)
    assert (link.scheme, link.netloc, link.path) == ("http", "lab.example", "/inference-configuration")
    assert parse_qs(link.query) == {"toy.prompt": ["Once upon"], "toy.t": ["0.7"], "toy.k": ["5"],
                                    "toy.mode": ["b"], "toy.cot": ["1"]}


def test_a_link_applies_once_so_the_learner_can_change_it_afterwards():
    at = _open(**{"toy.t": "0.7"})
    at.slider[0].set_value(1.5).run()
    at.run()
    assert at.slider[0].value == 1.5


def test_bad_parts_of_a_link_are_named_and_the_rest_applies():
    at = _open(**{"toy.prompt": "x" * 500 + "<b>", "toy.t": "nan", "toy.k": "9999", "toy.mode": "<script>",
                  "toy.cot": "maybe"})
    assert not at.exception
    assert len(at.warning) == 1 and "could not be used" in at.warning[0].value
    for name in ("“t” is not a finite number", "“mode” is not one of the choices", "“cot” is not on or off"):
        assert name in at.warning[0].value
    assert at.text_area[0].value == "x" * 20            # cut to the field's limit
    assert at.slider[1].value == 200                    # clamped to the widget's range
    assert at.slider[0].value == 1.0                    # the default: the link's value was unusable


def test_no_link_changes_nothing():
    at = _open()
    assert not at.warning and at.text_area[0].value == "Hello" and at.slider[0].value == 1.0
