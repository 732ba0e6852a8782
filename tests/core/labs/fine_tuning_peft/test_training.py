"""Page 7's training, scoring, adapters and race on a tiny random Llama: loss falls, cancel and divergence stop
cleanly, merged and reloaded adapters give the same logits, and the shared model never changes."""
from __future__ import annotations

import copy
import hashlib

import pytest
import torch

from core.labs.fine_tuning_peft import adapters, data, evaluation, methods, race, training
from core.labs.fine_tuning_peft.methods import Method

STEPS = 4          # the fewest that show each loss falling on the tiny model (full 0.72, LoRA 0.98, prompt 0.994)


def _rows(tokenizer, n=8):
    return [data.encode(tokenizer, e) for e in data.task_examples("sentiment", "train")[:n]]


def _pad(tokenizer):
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _train(model, tokenizer, method, steps=20, **kw):
    model = methods.apply(model, method, tokenizer)
    run = training.train(model, _rows(tokenizer), _rows(tokenizer)[:2], title="t", lr=method.lr, steps=steps,
                         batch=4, seed=0, pad_id=_pad(tokenizer), **kw)
    return model, run


@pytest.mark.parametrize("method", [Method("full", lr=3e-2), Method("lora", lr=1e-1, targets=methods.LORA_TARGETS),
                                    Method("prompt", lr=3e-1)])
def test_loss_falls_over_a_fixed_seed_run(tiny, tokenizer, method):
    _, run = _train(copy.deepcopy(tiny), tokenizer, method, steps=STEPS)
    assert run.state == "done" and len(run.train_loss) == STEPS
    # a random 2-layer model moves its output mostly through the weights themselves: full tuning falls fast, the
    # frozen-weight methods slowly (on the real model all three reach ~0.1, see bench/fine_tuning.py)
    assert sum(run.train_loss[-3:]) / 3 < run.train_loss[0] * (0.9 if method.kind == "full" else 0.995)
    assert run.held_out[0][0] == 0 and run.held_out[-1][0] == STEPS and run.held_out[-1][1] < run.held_out[0][1]
    assert run.memory["weights"] > 0 and run.memory["activations"] > 0
    if method.kind == "full":
        assert run.memory["optimizer (Adam)"] == pytest.approx(2 * run.memory["weights"], rel=0.01)


def test_the_same_seed_gives_the_same_losses(tiny, tokenizer):
    _, a = _train(copy.deepcopy(tiny), tokenizer, Method("lora", lr=1e-2), steps=2)
    _, b = _train(copy.deepcopy(tiny), tokenizer, Method("lora", lr=1e-2), steps=2)
    assert a.train_loss == b.train_loss


def test_cancel_stops_within_one_step(tiny, tokenizer):
    steps = []
    _, run = _train(copy.deepcopy(tiny), tokenizer, Method("lora", lr=1e-2), steps=50,
                    on_step=lambda r: steps.append(r.steps[-1]), cancelled=lambda: len(steps) >= 3)
    assert run.state == "cancelled" and run.steps == [1, 2, 3]


def test_a_huge_learning_rate_is_reported_as_divergence(tiny, tokenizer):
    _, run = _train(copy.deepcopy(tiny), tokenizer, Method("full", lr=1e3), steps=30)
    assert run.state == "diverged" and "Diverged" in run.note and len(run.steps) < 30


def test_zero_steps_and_no_examples_are_refused(tiny, tokenizer):
    with pytest.raises(training.TrainingError):
        training.check_steps(0, 4)
    with pytest.raises(training.TrainingError):
        training.train(tiny, [], [], title="t", lr=1e-3, steps=2, batch=2, seed=0, pad_id=0)


def test_scores_handle_prompt_tuning_offsets(tiny, tokenizer):
    examples = data.task_examples("sentiment", "test")[:4]
    base = evaluation.task_score(tiny, tokenizer, examples, ("positive", "negative"))
    tuned = methods.apply(copy.deepcopy(tiny), Method("prompt", lr=1e-2, virtual_tokens=5), tokenizer)
    scored = evaluation.task_score(tuned, tokenizer, examples, ("positive", "negative"))
    assert 0 <= scored.answers <= scored.picks <= 1 and len(scored.predictions) == 4 and 0 <= base.picks <= 1
    assert 0 <= evaluation.general_score(tuned, tokenizer, data.general_questions("test")[:3]) <= 1
    ids = tokenizer(data.general_text(), add_special_tokens=False)["input_ids"][:40]
    assert 1 < evaluation.perplexity(tuned, ids) < 1e6
    assert isinstance(evaluation.complete(tuned, tokenizer, "Hi", max_new_tokens=3), str)


@pytest.mark.parametrize("kind", ["none", "lora", "prompt"])
def test_greedy_replies_continue_what_the_scored_forward_pass_predicts(tiny, tokenizer, kind):
    """complete() runs its own cached loop (the soft prompt put in front by hand): its tokens must be the ones the
    full forward pass, as training and scoring see the model, ranks first."""
    model = copy.deepcopy(tiny)
    if kind != "none":
        model = methods.apply(model, Method(kind, lr=1e-2, virtual_tokens=4), tokenizer)
        for p in model.parameters():
            if p.requires_grad:
                torch.nn.init.normal_(p, std=0.5)          # a trained-looking adapter / soft prompt, not the init
    ids = data.prompt_ids(tokenizer, "What is 2 + 2?")
    expected = []
    for _ in range(4):
        x = torch.tensor([ids + expected])
        expected.append(int(evaluation._logits(model, x, torch.ones_like(x))[0, -1].argmax()))
    assert evaluation.complete(model, tokenizer, "What is 2 + 2?", max_new_tokens=4) == \
        tokenizer.decode(expected, skip_special_tokens=True).strip()


def test_merged_and_reloaded_adapters_give_the_same_logits(tiny, tokenizer, tmp_path):
    model, _ = _train(copy.deepcopy(tiny), tokenizer, Method("lora", lr=5e-2, rank=4), steps=5)
    ids = _rows(tokenizer)[0].ids
    trained = adapters.logits(model, ids)
    saved = adapters.save(model, tmp_path / "a")
    assert "adapter_model.safetensors" in saved.files and saved.bytes < 1e6
    reloaded = adapters.load(copy.deepcopy(tiny), tmp_path / "a")
    assert (adapters.logits(reloaded, ids) - trained).abs().max() == 0
    check = adapters.merge_check(reloaded, ids)
    assert check.max_abs_difference < 1e-4 and check.adapter_change > 1e-3
    assert check.parameters_merged == check.parameters_base


def _digest(model) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def test_a_race_trains_private_copies_and_leaves_the_shared_model_alone(tiny, tokenizer):
    before = _digest(tiny)
    updates = []
    settings = race.RaceSettings(steps=2, batch=2, methods=race.DEFAULT_METHODS)
    result = race.run_race(lambda: copy.deepcopy(tiny), tokenizer, settings, update=lambda r: updates.append(r.phase))
    assert _digest(tiny) == before
    assert result.state == "done" and [o.run.state for o in result.outcomes] == ["done"] * 3
    assert result.before is not None and all(o.after is not None for o in result.outcomes)
    assert [o.adapter is None for o in result.outcomes] == [True, False, False]
    assert race.adapter_file(result.outcomes[0]) is None                  # full fine-tuning has no adapter
    assert len(result.sample_prompts) == len(result.before_samples) == 3
    assert "Scoring the original model" in updates and updates[-1] == "Finished"


def test_a_cancelled_race_keeps_what_it_finished(tiny, tokenizer):
    settings = race.RaceSettings(steps=3, batch=2, methods=race.DEFAULT_METHODS[1:])
    calls = []
    result = race.run_race(lambda: copy.deepcopy(tiny), tokenizer, settings,
                           update=lambda r: calls.append(len(r.outcomes)), cancelled=lambda: len(calls) > 3)
    assert result.state == "cancelled" and result.outcomes and result.outcomes[-1].run.state == "cancelled"


def test_an_uploaded_race_needs_pairs(tiny, tokenizer):
    with pytest.raises(data.DataError, match="Upload"):
        race.run_race(lambda: copy.deepcopy(tiny), tokenizer, race.RaceSettings(task="upload"))
    pairs = [data.Example(f"Say {i}", str(i)) for i in range(10)]
    result = race.run_race(lambda: copy.deepcopy(tiny), tokenizer,
                           race.RaceSettings(task="upload", steps=2, batch=2, methods=(Method("lora", lr=1e-2),)),
                           uploaded=pairs)
    assert result.state == "done" and result.before.task is None and result.outcomes[0].after.task is None


def _direct_general_scores(model, tokenizer, questions):
    """Each option's mean log-probability from one full forward pass of question + option (the plain way)."""
    out = []
    for q in questions:
        context = data.prompt_ids(tokenizer, q.question)
        means = []
        for option in q.options:
            ids = tokenizer(option, add_special_tokens=False)["input_ids"]
            x = torch.tensor([context + ids])
            logp = torch.log_softmax(evaluation._logits(model, x, torch.ones_like(x))[0], dim=-1)
            means.append(sum(float(logp[len(context) + j - 1, t]) for j, t in enumerate(ids)) / len(ids))
        out.append(means)
    return out


@pytest.mark.parametrize("kind", ["none", "lora", "prompt"])
def test_option_scores_with_a_shared_question_cache_equal_the_plain_way(tiny, tokenizer, kind):
    model = copy.deepcopy(tiny)
    if kind != "none":
        model = methods.apply(model, Method(kind, lr=1e-2, virtual_tokens=4), tokenizer)
        for p in model.parameters():
            if p.requires_grad:
                torch.nn.init.normal_(p, std=0.5)
    questions = data.general_questions("test")[:6]
    direct = _direct_general_scores(model, tokenizer, questions)
    for q, expected in zip(questions, direct):
        assert evaluation.option_means(model, tokenizer, q) == pytest.approx(expected, abs=1e-4)
    right = sum(max(range(4), key=m.__getitem__) == 0 for m in direct)
    assert evaluation.general_score(model, tokenizer, questions) == pytest.approx(right / len(questions))


def test_two_adapters_are_saved_reloaded_swapped_and_one_merged(tiny, tokenizer, tmp_path):
    before = _digest(tiny)
    phases = []
    swap = adapters.swap_demo(lambda: copy.deepcopy(tiny), tokenizer, tmp_path, steps=2, batch=2, reviews=2,
                              update=phases.append)
    assert _digest(tiny) == before
    assert set(swap.saved) == {"sentiment", "aspect"} and all(s.bytes > 0 for s in swap.saved.values())
    assert any(name.endswith("adapter_model.safetensors") for name in swap.saved["aspect"].files)
    assert swap.reload_difference < 1e-5 and swap.merge.max_abs_difference < 1e-4
    assert len(swap.replies) == 2 and {"review", "sentiment adapter", "aspect adapter"} <= set(swap.replies[0])
    assert set(swap.zipped) == {"sentiment", "aspect"} and phases[0] == "Training the sentiment adapter"
    assert adapters.swap_demo(lambda: copy.deepcopy(tiny), tokenizer, tmp_path / "x", steps=2,
                              cancelled=lambda: True) is None


def test_the_race_s_adapters_download_as_files_peft_loads_back(tiny, tokenizer, tmp_path):
    import io
    import zipfile

    from peft import PeftModel, set_peft_model_state_dict

    settings = race.RaceSettings(steps=2, batch=2, methods=race.DEFAULT_METHODS[1:])
    result = race.run_race(lambda: copy.deepcopy(tiny), tokenizer, settings)
    ids = _rows(tokenizer)[0].ids
    for outcome in result.outcomes:                                       # LoRA, then prompt tuning
        blob = race.adapter_file(outcome)
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            assert sorted(z.namelist()) == ["adapter_config.json", "adapter_model.safetensors"]
            z.extractall(tmp_path / outcome.method.kind)
        loaded = PeftModel.from_pretrained(copy.deepcopy(tiny), str(tmp_path / outcome.method.kind))
        rebuilt = methods.apply(copy.deepcopy(tiny), outcome.method, tokenizer)
        set_peft_model_state_dict(rebuilt, outcome.adapter)              # the adapter as the race held it
        loaded.eval(), rebuilt.eval()
        assert (adapters.logits(loaded, ids) - adapters.logits(rebuilt, ids)).abs().max() < 1e-5
