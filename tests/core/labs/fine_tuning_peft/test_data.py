"""Page 7's data: shipped sets, the chat-template encoding with its loss mask, mixing, and uploads' errors."""
from __future__ import annotations

import json

import pytest

from core.labs.fine_tuning_peft import data


def test_shipped_sets_have_their_splits_and_labels():
    for task in data.TASKS:
        train, test = data.task_examples(task, "train"), data.task_examples(task, "test")
        assert (len(train), len(test)) == (240, 80)
        assert {e.completion for e in train} == set(data.TASKS[task].labels)
        assert not {e.prompt for e in train} & {e.prompt for e in test}
    assert (len(data.general_questions("train")), len(data.general_questions("test"))) == (150, 50)
    assert all(q.answer not in q.distractors and len(q.options) == 4 for q in data.general_questions("test"))
    assert len(data.general_text().split()) > 500


def test_only_the_completion_and_end_of_turn_are_graded(tokenizer):
    example = data.task_examples("sentiment", "train")[0]
    enc = data.encode(tokenizer, example)
    graded = [i for i, g in zip(enc.ids, enc.graded) if g]
    assert tokenizer.decode(graded) == f"{example.completion}<|im_end|>"
    assert not any(enc.graded[:enc.prompt_length]) and all(enc.graded[enc.prompt_length:])
    assert list(enc.ids[:enc.prompt_length]) == data.prompt_ids(tokenizer, example.prompt)


def test_a_long_prompt_loses_its_start_never_the_answer(tokenizer):
    enc = data.encode(tokenizer, data.Example("word " * 500, "yes"), max_tokens=64)
    assert len(enc.ids) == 64 and tokenizer.decode([i for i, g in zip(enc.ids, enc.graded) if g]) == "yes<|im_end|>"


def test_mixing_reaches_the_share_and_keeps_every_task_example():
    task, general = data.task_examples("sentiment", "train"), data.general_examples("train")
    out = data.mixed(task, general, 0.3)
    n_general = sum(e.kind == "general" for e in out)
    assert n_general / len(out) == pytest.approx(0.3, abs=0.01) and len(out) - n_general == len(task)
    assert data.mixed(task, general, 0.0) == task
    with pytest.raises(data.DataError):
        data.mixed(task, general, 1.0)


def _jsonl(rows) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


GOOD = [{"prompt": f"Say {i}", "completion": str(i)} for i in range(10)]


def test_good_jsonl_and_csv_uploads_parse():
    assert len(data.parse_pairs("mine.jsonl", _jsonl(GOOD))) == 10
    csv_bytes = ("prompt,completion\n" + "\n".join(f"\"Say, {i}\",{i}" for i in range(9))).encode()
    pairs = data.parse_pairs("mine.csv", csv_bytes)
    assert len(pairs) == 9 and pairs[0].prompt == "Say, 0"
    train, test = data.split(pairs)
    assert len(test) == 2 and len(train) == 7


@pytest.mark.parametrize("name, blob, expected", [
    ("x.jsonl", b"", "empty"),
    ("x.jsonl", _jsonl(GOOD[:2]) + b"\n{not json\n" + _jsonl(GOOD), "Line 3 is not valid JSON"),
    ("x.jsonl", _jsonl(GOOD + [{"prompt": "only"}]), "Line 11 has no `completion`"),
    ("x.jsonl", _jsonl(GOOD + [{"prompt": "", "completion": "a"}]), "Line 11: `prompt` is empty"),
    ("x.jsonl", _jsonl(GOOD + [{"prompt": 5, "completion": "a"}]), "must be text"),
    ("x.jsonl", _jsonl(GOOD + [[1, 2]]), "must be a JSON object"),
    ("x.jsonl", _jsonl(GOOD[:3]), "at least 8"),
    ("x.csv", b"question,answer\na,b\n", "Line 1 (the header)"),
    ("x.jsonl", b"\x00\x01\x02" * 10, "binary"),
    ("x.jsonl", b"\xff\xfe\xfa", "not UTF-8"),
    ("x.xlsx", _jsonl(GOOD), "only .jsonl and .csv"),
    ("x.jsonl", b"a" * (10 * 1024 * 1024), "10.0 MB; the limit is 1 MB"),
    ("x.jsonl", _jsonl(GOOD + [{"prompt": "p" * 1001, "completion": "a"}]), "1,001 characters"),
])
def test_bad_uploads_get_one_sentence_naming_the_line(name, blob, expected):
    with pytest.raises(data.DataError, match=None) as info:
        data.parse_pairs(name, blob)
    assert expected in str(info.value)
