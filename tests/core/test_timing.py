"""Measured rates behind the pages' time estimates."""
from core.timing import RateBook, estimate_text


def test_rates_average_unique_measurements_and_estimate_from_them():
    book = RateBook(keep=3)
    assert book.seconds_per_item("bench") is None
    assert "first guess" in estimate_text(book, "bench", 10, 2.0) and "20 s" in estimate_text(book, "bench", 10, 2.0)
    book.record("bench", "q1", 1.0)
    book.record("bench", "q1", 9.0)            # the same answer shown again from the cache: not counted twice
    book.record("bench", "q2", 3.0)
    assert book.seconds_per_item("bench") == (2.0, 2)
    assert estimate_text(book, "bench", 60, 9.9) == "about 2.0 min (measured on this server: 2.0 s each over 2 runs)"
    for i in range(5):
        book.record("bench", f"k{i}", 10.0)
    assert book.seconds_per_item("bench") == (10.0, 3)      # only the latest three kept
    book.record("other", "x", 0.0)
    assert book.seconds_per_item("other") is None
