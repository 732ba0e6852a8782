"""Distillation: the loss against a direct computation (T² included), the student built from the teacher's layers,
and a short training run on the tiny Llama where both losses fall."""
from __future__ import annotations

import math

import pytest
import torch

from core.labs.lifecycle_optimization import distillation as dl


def test_loss_equals_a_direct_computation_with_the_t_squared_factor():
    student = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    teacher = torch.tensor([[1.0, 1.0, 0.0], [3.0, -1.0, 0.5]])
    targets = torch.tensor([0, 2])
    T, alpha = 2.0, 0.3
    total, soft, hard = dl.distillation_loss(student, teacher, targets, T, alpha)
    kl = 0.0
    for s_row, t_row in zip(student.tolist(), teacher.tolist()):
        p = [math.exp(v / T) for v in t_row]
        p = [v / sum(p) for v in p]
        q = [math.exp(v / T) for v in s_row]
        q = [v / sum(q) for v in q]
        kl += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    expected_soft = kl / 2 * T * T
    ce = 0.0
    for s_row, y in zip(student.tolist(), targets.tolist()):
        ce -= s_row[y] - math.log(sum(math.exp(v) for v in s_row))
    expected_hard = ce / 2
    assert soft.item() == pytest.approx(expected_soft, rel=1e-5)
    assert hard.item() == pytest.approx(expected_hard, rel=1e-5)
    assert total.item() == pytest.approx(alpha * expected_soft + (1 - alpha) * expected_hard, rel=1e-5)


def test_soft_labels_flatten_as_the_temperature_rises():
    logits = torch.tensor([4.0, 2.0, 0.0])
    cold, warm = dl.soft_labels(logits, 1.0), dl.soft_labels(logits, 5.0)
    assert cold[0] > warm[0] and cold[2] < warm[2] and warm.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("temperature,alpha,steps", [(0, 0.5, 10), (-1, 0.5, 10), (1e9, 0.5, 10),
                                                     (float("nan"), 0.5, 10), (2, 1.5, 10), (2, 0.5, 0), (2, 0.5, "9")])
def test_bad_settings_are_refused_with_a_message(temperature, alpha, steps):
    with pytest.raises(dl.DistillationError):
        dl.check_settings(temperature, alpha, steps)


def test_student_copies_the_chosen_layers_and_trains(tiny):
    student = dl.make_student(tiny, layers=(1,))
    assert student.config.num_hidden_layers == 1
    assert torch.equal(student.model.layers[0].mlp.up_proj.weight, tiny.model.layers[1].mlp.up_proj.weight)
    assert not student.get_input_embeddings().weight.requires_grad
    assert student.get_output_embeddings().weight.data_ptr() == student.get_input_embeddings().weight.data_ptr()
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    torch.manual_seed(1)
    text = torch.randint(0, 64, (700,)).tolist()
    rows = dl.batches(text, seq_len=16)
    labels = dl.teacher_labels(tiny, rows, k=8)
    train_rows, held_out = list(range(len(rows) - 4)), rows[-4:]
    distilled = dl.train(student, labels, train_rows, held_out, 30, 2.0, 0.5, "distilled", lr=3e-3, every=10)
    assert len(distilled.losses) == 30 and len(distilled.held_out) == 3
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())        # the teacher is untouched
    calls = []
    stopped = dl.train(dl.make_student(tiny, layers=(1,)), labels, train_rows, held_out, 30, 2.0, 0.0, "baseline",
                       cancelled=lambda: len(calls) >= 5, on_step=lambda run: calls.append(1))
    assert stopped.cancelled and len(stopped.steps) == 5


def test_sparse_soft_loss_with_every_id_kept_equals_the_full_soft_term():
    torch.manual_seed(0)
    student, teacher = torch.randn(5, 7), torch.randn(5, 7)
    ids = torch.arange(7).expand(5, 7)
    _, soft, _ = dl.distillation_loss(student, teacher, torch.full((5,), -100), 3.0, 1.0)
    assert dl.sparse_soft_loss(student, ids, teacher, 3.0).item() == pytest.approx(soft.item(), rel=1e-5)
    # keeping the top 3: still a KL, so never negative, and zero when the student copies the teacher exactly
    top = teacher.topk(3, dim=-1)
    assert dl.sparse_soft_loss(student, top.indices, top.values, 3.0).item() > 0
    assert dl.sparse_soft_loss(teacher, ids, teacher, 3.0).item() == pytest.approx(0.0, abs=1e-6)


def test_the_race_trains_two_students_on_the_same_batches_and_measures_all(tiny):
    import copy
    torch.manual_seed(2)
    train_ids = torch.randint(0, 64, (dl.TRAIN_ROWS * dl.SEQ_LEN + 1,)).tolist()
    held_ids = torch.randint(0, 64, (dl.HELD_OUT_ROWS * dl.SEQ_LEN + 1,)).tolist()
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    phases = []
    race = dl.run_race(lambda: copy.deepcopy(tiny), train_ids, held_ids, dl.RaceSettings(steps=3, lr=1e-3),
                       layers=(1,), update=lambda r: phases.append(r.phase))
    assert race.state == "done" and [s.name for s in race.students] == ["distilled", "hard labels only"]
    assert race.teacher.kl == pytest.approx(0.0, abs=1e-6) and race.teacher.top1 == 1.0
    assert race.teacher.probe_kl == pytest.approx(0.0, abs=1e-6) and race.students[0].probe_kl > 0
    assert race.student_parameters < race.teacher_parameters and race.teacher_layers == 2
    assert race.combined is not None and race.combined.name == "distilled + INT8"
    for s in [race.untrained, *race.students, race.combined]:
        assert s.kl > 0 and 0 <= s.top1 <= 1 and s.perplexity > 1 and s.bytes > 0 and s.tokens_per_second > 0
    assert all(len(s.run.steps) == 3 for s in race.students)
    assert any("soft" in p for p in phases) and any("hard labels only" in p for p in phases)
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())


@pytest.mark.parametrize("settings, words", [(dl.RaceSettings(alpha=0.0), "α = 0"),
                                             (dl.RaceSettings(lr=0.0), "learning rate"),
                                             (dl.RaceSettings(temperature=0.0), "temperature"),
                                             (dl.RaceSettings(steps=0), "steps")])
def test_bad_race_settings_get_a_sentence(settings, words):
    with pytest.raises(dl.DistillationError, match=words):
        dl.check_race(settings)


def test_the_corpus_is_lessons_and_a_held_out_text():
    train, held = dl.corpus()
    assert "<!--" not in train and len(train) > 20_000 and 3_000 < len(held) < 20_000
    assert held[:200] not in train
