"""Self-paced quiz attempts over the database (SQLite and PostgreSQL): kept under the browser's id across a reopen,
with the response as given."""
from core.workshop.attempts import Attempts


def test_attempts_survive_a_reopen_under_the_learners_key(open_db):
    Attempts(open_db()).record("b-ada", "Ada", "q1", "rlhf", True, ["a", "b"])
    again = Attempts(open_db())
    assert again.rows("b-ada")[0]["response"] == ["a", "b"]
    assert again.rows("b-ada")[0]["learner"] == "Ada" and again.rows("b-ada")[0]["correct"] == 1
    assert again.rows("Ada") == []                 # a typed name is not a key
    again.record("b-bob", "Bob", "q2", "rlhf", False, 3)
    assert [a["learner_key"] for a in again.rows()] == ["b-ada", "b-bob"]
