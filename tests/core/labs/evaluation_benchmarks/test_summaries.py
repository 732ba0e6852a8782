"""The summarisation task: the shipped set, the prompt, what is graded, and the ROUGE it gets."""
from __future__ import annotations

import pytest
from rouge_score import rouge_scorer

from core.labs.evaluation_benchmarks import summaries as sm


@pytest.fixture(scope="module")
def task() -> sm.TaskSet:
    return sm.load()


def test_shipped_set(task):
    assert len(task.items) >= 20 and len(task.examples) >= 3
    assert len({i.id for i in task.items}) == len(task.items)
    assert any(len(i.references) == 2 for i in task.items)
    assert not {e.dialogue for e in task.examples} & {i.dialogue for i in task.items}


def test_messages_put_worked_examples_before_the_dialogue(task):
    item = task.items[0]
    zero = sm.messages(task, item, 0)
    assert zero == [{"role": "user", "content": f"{task.instruction}\n\n{item.dialogue}"}]
    three = sm.messages(task, item, 3)
    assert [m["role"] for m in three] == ["user", "assistant"] * 3 + ["user"]
    assert three[1]["content"] == task.examples[0].references[0] and three[-1] == zero[0]


@pytest.mark.parametrize("reply, graded", [
    ("Tom and Maria moved lunch to 1 pm. They will meet at the café.", "Tom and Maria moved lunch to 1 pm."),
    ("Summary: Sam lost his keys.", "Sam lost his keys."),
    ("**Summary:** Sam lost his keys", "Sam lost his keys"),
    ("\n\n  Ana booked the 9.30 train!\nMore text", "Ana booked the 9.30 train!"),
    ("", ""),
])
def test_only_the_first_sentence_is_graded(reply, graded):
    assert sm.first_sentence(reply) == graded


def test_score_is_rouge_score_with_stemming_and_the_best_reference(task):
    item = next(i for i in task.items if len(i.references) == 2)
    reply = item.references[1]
    s = sm.score(item, reply)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    best = scorer.score_multi(list(item.references), sm.first_sentence(reply))
    assert (s.rouge1, s.rouge2, s.rougeL) == (best["rouge1"].fmeasure, best["rouge2"].fmeasure,
                                              best["rougeL"].fmeasure)
    assert s.rougeL == pytest.approx(1.0)


def test_reply_board_shares_work_between_sessions():
    import threading

    board = sm.ReplyBoard()
    mine, theirs = board.claim(["a", "b"])
    assert mine == ["a", "b"] and theirs == []
    mine2, theirs2 = board.claim(["a", "b", "c"])          # a second session: only "c" is free
    assert mine2 == ["c"] and theirs2 == ["a", "b"]
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(board.wait("a", timeout=30)))
    waiter.start()
    board.finish("a", ("reply", 1.0))
    waiter.join(timeout=30)
    assert woke == [True] and board.get("a") == ("reply", 1.0)
    board.release(["a", "b"])                               # the first session is cancelled before "b"
    assert not board.pending("b") and board.get("b") is None and board.get("a") == ("reply", 1.0)
    assert board.claim(["b"]) == (["b"], [])                 # the next session takes "b" over
