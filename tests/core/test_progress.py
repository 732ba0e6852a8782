"""Course progress over the database (SQLite and PostgreSQL): one row per learner, kind and item, with the first and
the latest time."""
from core.progress import Progress


def test_course_progress_is_kept_per_learner_with_its_first_and_latest_time(open_db):
    progress = Progress(open_db())
    progress.record("b-ada", "lesson", "tokenization")
    progress.record("b-ada", "demo", "tokenizer")
    progress.record("b-bob", "lesson", "rlhf")
    first = progress.rows("b-ada")
    progress.record("b-ada", "lesson", "tokenization")            # again: one row, a later last_at
    again = Progress(open_db()).rows("b-ada")                     # a new connection (a restart) sees it
    assert [(r["kind"], r["item"]) for r in again] == [("lesson", "tokenization"), ("demo", "tokenizer")]
    assert again[0]["first_at"] == first[0]["first_at"] and again[0]["last_at"] >= first[0]["last_at"]
    assert [r["item"] for r in progress.rows("b-bob")] == ["rlhf"] and progress.rows("b-nobody") == []
