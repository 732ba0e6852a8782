"""Page 4 (inference configuration: the sampling lab, step-through and generation) under AppTest, on the real
bundled model."""
import pytest
from streamlit.testing.v1 import AppTest

from tests.openai_servers import SERVED
from tests.pages import apptest, stubs
from tests.pages.apptest import button, ok

pytestmark = pytest.mark.model

INFERENCE = "app_pages/04_inference_configuration.py"


def open_page(page: str) -> AppTest:
    return apptest.open_page(page, timeout=300)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def chart_rows(at):
    return at.session_state["sampling_rows"]


def test_sampling_lab_chart_reacts_to_every_knob():
    at = open_page(INFERENCE)
    assert chart_rows(at)[0]["final"] > chart_rows(at)[0]["base"]   # the defaults (0.7, top-p 0.9) sharpen already
    at.slider(key="sampling_temperature").set_value(1.0).run()
    at.slider(key="sampling_top_p").set_value(1.0).run()
    base = chart_rows(ok(at))
    assert abs(sum(r["base"] for r in base) - sum(r["final"] for r in base)) < 1e-6   # all knobs off: same bars
    at.slider(key="sampling_temperature").set_value(0.3).run()
    sharp = chart_rows(ok(at))
    assert sharp[0]["final"] > base[0]["final"]               # a low temperature favours the favourite
    at.slider(key="sampling_top_k").set_value(2).run()
    rows = chart_rows(ok(at))
    assert sum(r["final"] > 0 for r in rows) == 2 and rows[2]["removed_by"] == "top-k"
    assert metric(at, "Tokens still possible") == "2"
    at.slider(key="sampling_temperature").set_value(0.0).run()     # temperature 0 = greedy
    assert metric(ok(at), "Tokens still possible") == "1"
    at.slider(key="sampling_temperature").set_value(1.0).run()
    at.slider(key="sampling_top_k").set_value(0).run()
    at.slider(key="sampling_top_p").set_value(0.0).run()          # top-p 0 keeps only the top token
    assert metric(ok(at), "Tokens still possible") == "1"


def test_step_through_greedy_rewind_and_branch():
    at = open_page(INFERENCE)
    button(at, "sampling_greedy").click().run()
    button(ok(at), "sampling_greedy").click().run()
    assert len(at.session_state["sampling_path"]) == 2
    button(ok(at), "sampling_branch").click().run()
    button(ok(at), "sampling_rewind").click().run()
    assert len(at.session_state["sampling_path"]) == 1 and len(at.session_state["sampling_branches"]) == 1
    button(ok(at), "sampling_go_0").click().run()
    assert len(ok(at).session_state["sampling_path"]) == 2
    # Frequency penalties act on the path: the chart changes once a token has been used.
    at.slider(key="sampling_temperature").set_value(1.0).run()
    at.slider(key="sampling_top_p").set_value(1.0).run()
    before = [r["final"] for r in chart_rows(ok(at))]
    at.slider(key="sampling_frequency_penalty").set_value(2.0).run()
    assert [r["final"] for r in chart_rows(ok(at))] != before


def test_generation_caps_max_new_tokens_and_reports_stop_sequences():
    at = open_page(INFERENCE)
    at.number_input(key="generation_max_new").set_value(5_000_000).run()
    assert any("capped at 1,024" in w.value for w in ok(at).warning)
    at.number_input(key="generation_max_new").set_value(6).run()
    at.text_area(key="generation_stops").input("zzz-never\n\n").run()
    button(ok(at), "generation_run").click().run()
    ok(at)
    assert int(metric(at, "New tokens")) <= 6
    assert any("None of your stop sequences appeared" in c.value for c in at.caption)


def test_generation_stop_sequence_hit_and_n_samples():
    at = open_page(INFERENCE)
    at.text_area(key="sampling_prompt").input("Count from 1 to 20, separated by commas.").run()
    at.number_input(key="generation_max_new").set_value(40).run()
    at.text_area(key="generation_stops").input("5").run()
    button(ok(at), "generation_run").click().run()
    assert any("Stopped at the stop sequence" in s.value for s in ok(at).success)
    at.slider(key="generation_n").set_value(2).run()
    at.number_input(key="generation_max_new").set_value(4).run()
    button(ok(at), "generation_many").click().run()
    assert "of 2" in metric(ok(at), "Distinct answers")
    # The answers of one click share the session's turn: the second must not cancel the first (replace=False).
    ended = list(next(d for d in at.dataframe if "ended by" in d.value.columns).value["ended by"])
    assert len(ended) == 2 and "cancelled" not in ended, ended


@pytest.mark.parametrize("prompt, message", [("", "Type a prompt"),
                                             ("word " * 8500, "more than the 8,192-token window")])
def test_sampling_lab_bad_prompts(prompt, message, monkeypatch):
    stubs.flat_next_token_logits(monkeypatch)   # the message is the point, not an 8,192-token forward pass (~30 s)
    at = open_page(INFERENCE)
    at.text_area(key="sampling_prompt").input(prompt).run()
    assert any(message in e.value for e in list(ok(at).info) + list(at.warning)), message


def test_generation_on_a_model_server(server_registry, served_smollm2):
    """`transformers serve` stands in for vLLM: the page answers with the server's text, says which knobs it refuses
    (top-k: HTTP 422) and that it sends no probabilities; the next-token chart keeps the model in this app."""
    server_registry(*served_smollm2)
    at = open_page(INFERENCE)
    at.selectbox(key="model_size_decoder").set_value(SERVED)
    at.text_area(key="sampling_prompt").input("What is the capital of France?")
    at.slider(key="sampling_temperature").set_value(0.0)
    at.slider(key="sampling_top_k").set_value(5)                # a vLLM extra that transformers serve refuses
    at.number_input(key="generation_max_new").set_value(12)
    at.run()
    texts = apptest.texts(ok(at))
    assert "Served SmolLM2 runs on a model server" in texts
    assert "The next-token chart needs the model's weights in this app; it shows SmolLM2-135M-Instruct" in texts
    assert chart_rows(at)                                       # drawn by the model in this app
    assert not any("Context window" in p.text for p in at.get("progress"))
    button(at, "generation_run").click().run()
    result, _ = at.session_state["generation_last"]
    assert "Paris" in result.text and not result.has_probabilities and not ok(at).error
    texts = apptest.texts(at)
    assert "refuses top-k and the repetition penalty" in texts and "sends no token probabilities" in texts
    assert "counted by its server (it counted" in texts
    at.slider(key="generation_n").set_value(2)
    at.number_input(key="generation_max_new").set_value(4)
    button(at, "generation_many").click().run()
    assert "of 2" in metric(ok(at), "Distinct answers") and not at.error
