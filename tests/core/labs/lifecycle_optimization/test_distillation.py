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
