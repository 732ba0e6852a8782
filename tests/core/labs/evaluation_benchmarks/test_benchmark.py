"""The mini-benchmark: the shipped set, prompts, log-likelihood scoring, intervals, calibration, perturbations."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from core.labs.evaluation_benchmarks import benchmark as bm
from core.serving import inspection


@pytest.fixture(scope="module")
def data() -> bm.Benchmark:
    return bm.load()


# ---- the shipped set ---------------------------------------------------------------------------------------
def test_shipped_set_is_mmlu_shaped(data):
    assert len(data.questions) >= 60 and len(data.subjects) >= 4
    for q in data.questions + data.examples:
        assert len(q.choices) == 4 and len(set(q.choices)) == 4 and 0 <= q.answer < 4 and q.question
    per_subject = {s: sum(q.subject == s for q in data.questions) for s in data.subjects}
    assert min(per_subject.values()) >= 10, per_subject
    letters = [q.answer for q in data.questions]
    assert max(letters.count(i) for i in range(4)) - min(letters.count(i) for i in range(4)) <= 4


def test_examples_are_not_scored_questions(data):
    asked = {q.question for q in data.questions}
    assert not any(e.question in asked for e in data.examples)
    assert all(any(e.subject == s for e in data.examples) for s in data.subjects)


def test_a_short_run_covers_every_subject(data):
    order = data.balanced_order()
    assert sorted(order) == list(range(len(data.questions)))
    assert {data.questions[i].subject for i in order[:len(data.subjects)]} == set(data.subjects)


@pytest.mark.parametrize("broken, message", [
    ({"subject": "nope"}, "unknown subject"),
    ({"choices": ["a", "b", "c"]}, "4 distinct"),
    ({"choices": ["a", "a", "b", "c"]}, "4 distinct"),
    ({"answer": "E"}, "one of A, B, C, D"),
    ({"question": "  "}, "empty"),
])
def test_a_broken_file_is_refused_with_the_reason(tmp_path, broken, message):
    import yaml

    row = {"subject": "s", "question": "Q?", "choices": ["a", "b", "c", "d"], "answer": "A"} | broken
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({"subjects": {"s": {"title": "S"}}, "questions": [row]}))
    with pytest.raises(ValueError, match=message):
        bm.load(path)


# ---- prompts -----------------------------------------------------------------------------------------------
Q = bm.Question("geo", "What is the capital of France?", ("Berlin", "Paris", "Rome", "Madrid"), 1)
SHOT = bm.Question("geo", "Which ocean is the largest?", ("Atlantic", "Indian", "Pacific", "Arctic"), 2)
OTHER = bm.Question("math", "What is 2 + 2?", ("3", "4", "5", "22"), 1)
TINY = bm.Benchmark("tiny", {"geo": "Geography", "math": "Arithmetic"}, (OTHER, SHOT), (Q,))


def test_letter_prompt_is_mmlu_format():
    assert bm.prompt(TINY, Q, 0, "letter") == (
        "The following are multiple choice questions (with answers) about geography.\n\n"
        "What is the capital of France?\nA. Berlin\nB. Paris\nC. Rome\nD. Madrid\nAnswer:")
    assert bm.continuations(Q, "letter") == [" A", " B", " C", " D"]


def test_few_shot_takes_the_same_subject_first_and_shows_answers():
    assert bm.shots_for(TINY, Q, 1) == [SHOT] and bm.shots_for(TINY, Q, 2) == [SHOT, OTHER]
    text = bm.prompt(TINY, Q, 1, "letter")
    assert "Which ocean is the largest?\nA. Atlantic\nB. Indian\nC. Pacific\nD. Arctic\nAnswer: C\n\n" in text
    assert text.endswith("D. Madrid\nAnswer:")
    with pytest.raises(ValueError):
        bm.shots_for(TINY, Q, bm.MAX_SHOTS + 1)


def test_cloze_prompt_scores_the_choice_words():
    assert bm.prompt(TINY, Q, 1, "text") == ("Question: Which ocean is the largest?\nAnswer: Pacific\n\n"
                                            "Question: What is the capital of France?\nAnswer:")
    assert bm.continuations(Q, "text") == [" Berlin", " Paris", " Rome", " Madrid"]


@pytest.mark.parametrize("reply, letter", [("B", 1), ("B.", 1), ("(C)", 2), ("The answer is D", 3),
                                           ("Answer: A. Berlin", 0), ("Paris", None), ("", None), ("ABBA", None),
                                           ("A mammal, so B", 1), ("A bird.", None), ("A is right", 0),
                                           ("A or B? A.", 0), ("A", 0)])
def test_parse_letter(reply, letter):
    assert bm.parse_letter(reply) == letter


# ---- scoring with a fixed scorer ---------------------------------------------------------------------------
def fixed_scorer(values: dict[str, list[float]]):
    """encode: one fake id per character; score: the given per-token log-probs for each continuation."""
    def encode(text):
        return [ord(c) for c in text]

    def score(context, conts):
        return [np.array(values["".join(map(chr, c))]) for c in conts]
    return encode, score


def test_acc_takes_the_highest_log_likelihood_and_acc_norm_divides_by_length():
    encode, score = fixed_scorer({" Berlin": [-3.0], " Paris": [-2.0, -2.5], " Rome": [-4.0], " Madrid": [-9.0]})
    s = bm.score_question(TINY, Q, 0, 0, "text", encode, score)
    assert s.loglik == (-3.0, -4.5, -4.0, -9.0) and s.lengths == (6, 5, 4, 6)
    assert s.predicted == 0 and not s.correct                       # Berlin: -3.0 is the highest sum
    # per character: -0.5, -0.9, -1.0, -1.5 -> Berlin again; make Paris win when normalised
    encode, score = fixed_scorer({" Berlin": [-6.0], " Paris": [-2.0, -2.5], " Rome": [-4.4], " Madrid": [-9.0]})
    s = bm.score_question(TINY, Q, 0, 0, "text", encode, score)
    assert s.predicted == 2 and s.predicted_norm == 1 and s.correct_norm and not s.correct
    assert math.isclose(s.probabilities.sum(), 1.0) and s.confidence == pytest.approx(s.probabilities[2])


def test_acc_norm_counts_the_choice_without_its_leading_space():
    """lm-evaluation-harness divides by len(choice): with the space, Rome (-3.7 / 5) would beat Paris (-4.5 / 6)."""
    encode, score = fixed_scorer({" Berlin": [-9.0], " Paris": [-2.0, -2.5], " Rome": [-3.7], " Madrid": [-9.0]})
    s = bm.score_question(TINY, Q, 0, 0, "text", encode, score)
    assert s.predicted == 2 and s.predicted_norm == 1


def test_generate_mode_parses_the_reply():
    s = bm.score_question(TINY, Q, 0, 0, "generate", encode=None, generate=lambda m: "B. Paris")
    assert s.correct and s.predicted == 1 and s.loglik == ()
    s = bm.score_question(TINY, Q, 0, 0, "generate", encode=None, generate=lambda m: "Paris")
    assert s.predicted is None and not s.correct and math.isnan(s.confidence)


def test_summary_and_subjects():
    rows = [bm.Scored(0, Q, "letter", 0, loglik=(0, 1, 0, 0), predicted=1, predicted_norm=1),
            bm.Scored(1, OTHER, "letter", 0, loglik=(1, 0, 0, 0), predicted=0, predicted_norm=0)]
    s = bm.Summary(rows)
    assert s.n == 2 and s.correct == 1 and s.accuracy == 0.5
    by = {r.subject: r for r in s.by_subject(TINY)}
    assert by["geo"].correct == 1 and by["math"].correct == 0


# ---- confidence interval -----------------------------------------------------------------------------------
def test_wilson_interval_hand_values():
    low, high = bm.wilson_interval(40, 80)
    assert low == pytest.approx(0.39297, abs=1e-4) and high == pytest.approx(0.60703, abs=1e-4)
    assert bm.wilson_interval(0, 10)[0] == 0.0 and bm.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert bm.wilson_interval(0, 0) == (0.0, 1.0)


# ---- calibration -------------------------------------------------------------------------------------------
def test_ece_equals_the_hand_computed_value():
    conf = [0.32, 0.36, 0.91, 0.95, 0.62]
    right = [False, True, True, True, False]
    bins, ece = bm.reliability(conf, right, n_bins=10)
    # bin 0.3-0.4: mean conf 0.34, accuracy 0.5 -> 2/5 * 0.16; bin 0.9-1.0: 0.93 vs 1 -> 2/5 * 0.07;
    # bin 0.6-0.7: 0.62 vs 0 -> 1/5 * 0.62
    assert ece == pytest.approx(0.4 * 0.16 + 0.4 * 0.07 + 0.2 * 0.62, abs=1e-12)
    assert sum(b.count for b in bins) == 5 and bins[3].count == 2 and bins[3].accuracy == 0.5


def test_a_perfectly_calibrated_set_has_zero_ece():
    conf = [0.75] * 4
    assert bm.reliability(conf, [True, True, True, False])[1] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        bm.reliability([0.5], [True, False])


# ---- robustness --------------------------------------------------------------------------------------------
def test_shuffling_keeps_every_question_valid(data):
    for i, q in enumerate(data.questions):
        s = bm.shuffled(q, seed=i)
        assert sorted(s.choices) == sorted(q.choices) and s.choices != q.choices
        assert s.choices[s.answer] == q.choices[q.answer] and s.question == q.question


def test_a_typo_swaps_two_neighbouring_letters_inside_a_word(data):
    changed = 0
    for i, q in enumerate(data.questions):
        t = bm.with_typo(q, seed=i)
        assert len(t.question) == len(q.question) and t.choices == q.choices and t.answer == q.answer
        diff = [j for j, (a, b) in enumerate(zip(q.question, t.question)) if a != b]
        if diff:
            changed += 1
            assert len(diff) == 2 and diff[1] == diff[0] + 1
            assert q.question[diff[0]] == t.question[diff[1]] and q.question[diff[1]] == t.question[diff[0]]
    assert changed >= len(data.questions) * 0.9
    assert bm.with_typo(bm.Question("s", "Is 2 + 2 = 4?", ("a", "b", "c", "d"), 0), 1).question == "Is 2 + 2 = 4?"


# ---- on the real model -------------------------------------------------------------------------------------
@pytest.mark.model
@pytest.mark.parametrize("mode, k", [("text", 2), ("letter", 0)])
def test_log_likelihood_equals_a_direct_computation_from_the_logits(service, data, mode, k):
    """The service scores the context once and the continuations on its KV cache; here each choice is run in full
    through the model on its own. float32 kernels differ in the last digits between the two paths."""
    import torch

    q = next(q for q in data.questions if q.subject == "geography")
    encode = service.encode_ids
    s = bm.score_question(data, q, 0, k, mode, encode, functools.partial(inspection.continuation_logprobs, service))
    context = encode(bm.prompt(data, q, k, mode))
    lengths = []
    with service.borrowed_decoder() as net, torch.inference_mode():
        for i, cont in enumerate(bm.continuations(q, mode)):
            ids = encode(cont)
            lengths.append(len(ids))
            logits = net(input_ids=torch.tensor([context + ids])).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)
            direct = sum(float(logp[len(context) - 1 + j, t]) for j, t in enumerate(ids))
            assert s.loglik[i] == pytest.approx(direct, abs=1e-4)
    assert s.predicted == int(np.argmax(s.loglik)) and s.tokens == tuple(lengths)
    if mode == "text":
        assert max(lengths) > 1            # the multi-token path (KV cache + padded batch) was exercised
