"""RLHF labeling rounds over the database (SQLite and PostgreSQL): one open round per room, a new one closes it, and
they survive a reopen."""
from core.workshop.rounds import LabelingRounds


def test_a_labeling_round_opens_closes_and_survives_a_reopen(open_db):
    rounds = LabelingRounds(open_db())
    assert rounds.current("ROOM1") is None and rounds.close("ROOM1") is None
    first = rounds.open("ROOM1", "How?", ["one", "two", "three"])
    assert first.open and first.prompt == "How?" and first.completions == ("one", "two", "three")
    second = rounds.open("ROOM1", "Why?", ["a", "b"])        # a new round closes the open one
    assert second.id != first.id and second.open
    rounds.open("ROOM2", "Other room", ["x", "y"])
    again = LabelingRounds(open_db())
    assert again.current("ROOM1") == second
    closed = again.close("ROOM1")
    assert closed.id == second.id and not closed.open and closed.closed_at >= closed.opened_at
    assert again.close("ROOM1") is None                    # closing twice changes nothing
    assert again.current("ROOM2").open
