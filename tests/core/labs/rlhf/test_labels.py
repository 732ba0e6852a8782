"""RLHF preference labels over the database (SQLite and PostgreSQL): kept per labeler across a reopen, a second
ranking of the same answers replaces the first, filtered by room."""
from core.labs.rlhf.labels import Labels


def test_rlhf_labels_survive_a_reopen_and_a_second_ranking_replaces_the_first(open_db):
    labels = Labels(open_db())
    texts = ["one", "two", "three"]
    labels.record("b-1", "Ada", "How?", texts, {"A": 1, "B": 2, "C": "F"})
    labels.record("b-1", "Ada", "How?", texts, {"A": 2, "B": 1, "C": 3})              # labelled twice: replaced
    labels.record("b-2", "Bob", "How?", texts, {"A": 1, "B": 1, "C": 2}, room="ROOM1")
    labels.record("b-3", "Ada", "How?", texts, {"A": 3, "B": 2, "C": 1})        # another Ada: her own row
    again = Labels(open_db())
    mine = again.rows("b-1")
    assert len(mine) == 1 and mine[0]["ranking"] == {"A": 2, "B": 1, "C": 3} and mine[0]["completions"] == texts
    assert [r["labeler"] for r in again.rows()] == ["Ada", "Bob", "Ada"]
    assert [r["labeler"] for r in again.rows(room="ROOM1")] == ["Bob"]
    assert [r["labeler"] for r in again.rows(labeler_key="b-2", room="ROOM1")] == ["Bob"]
