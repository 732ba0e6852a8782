"""50 simulated participants answer one live question within 5 seconds, against the real database (SQLite by default).

Prints: answers recorded (of those sent), time per answer (the whole Workshop.answer call: checks + one write
transaction), and the presenter view's refresh time (the reads and computations behind one refresh of the
live-results fragment: room, question, answers, participants, distribution, leaderboard), measured while the
answers arrive. Run: .venv/bin/python -m bench.quiz_store [participants] [seconds] [--url postgresql://...]
(--url: any database URL open_database accepts, e.g. a PostgreSQL server; default: a temporary SQLite file).
"""
from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from core.lessons import load_sections
from core.storage.database import open_database
from core.workshop.quiz import distribution, leaderboard, load_bank
from core.workshop.workshop import Workshop


def ms(values: list[float], q: float) -> str:
    return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:.1f}" if len(values) > 1 else "-"


def presenter_refresh(ws: Workshop, code: str, question) -> None:
    room = ws.rooms.room(code)
    current = ws.rooms.current_question(code)
    participants = ws.rooms.participants(code)
    answers = ws.rooms.answers(code, current.seq)
    distribution(question, [a["response"] for a in answers])
    leaderboard(ws.rooms.answers(code), participants)
    ws.seconds_left(current), room.phase


def presenter_page_runs(db_url: str, code: str, runs: int = 5) -> list[float]:
    """Time full reruns of the presenter console (unlocked, room open, Live quiz data) with AppTest."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ.update(GENAI_LAB_DATABASE_URL=db_url, GENAI_LAB_PRESENTER_KEY="bench")
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.run()
    at.session_state["presenter_ok"] = True
    at.session_state["presenter_room"] = code
    at.switch_page("app_pages/90_presenter.py")
    at.run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
    assert not at.exception, [e.value for e in at.exception]
    return times


def main(n: int = 50, window_s: float = 5.0, url: str | None = None) -> None:
    bank = load_bank(section_ids=[s.id for s in load_sections()])
    question = bank.by_id("cq-train-7b")
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        ws = Workshop(open_database(url))
        room = ws.open_room()
        names = [f"participant-{i:02d}" for i in range(n)]
        for name in names:
            ws.join(room.code, name)
        live = ws.launch(room.code, question, 20)
        latencies, failures, refreshes = [], [], []
        done = threading.Event()
        rng = random.Random(0)
        delays = sorted(rng.uniform(0, window_s) for _ in names)
        start = time.perf_counter()

        def participant(name: str, delay: float) -> None:
            time.sleep(max(0.0, start + delay - time.perf_counter()))
            answer = 168 if rng.random() < 0.7 else 24
            t0 = time.perf_counter()
            try:
                ws.answer(room.code, live.seq, name, question, answer)
            except Exception as exc:
                failures.append(f"{name}: {exc}")
            latencies.append(time.perf_counter() - t0)

        def presenter() -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                presenter_refresh(ws, room.code, question)
                refreshes.append(time.perf_counter() - t0)
                time.sleep(0.25)

        watcher = threading.Thread(target=presenter)
        watcher.start()
        threads = [threading.Thread(target=participant, args=(name, d)) for name, d in zip(names, delays)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        done.set()
        watcher.join()
        recorded = ws.rooms.answers(room.code, live.seq)
        # a second answer from everybody must be refused
        dupes = 0
        for name in names:
            try:
                ws.answer(room.code, live.seq, name, question, 168)
            except Exception:
                dupes += 1
        t0 = time.perf_counter()
        for _ in range(20):
            presenter_refresh(ws, room.code, question)
        full_refresh = (time.perf_counter() - t0) / 20
        page_runs = presenter_page_runs(url, room.code)
    print(f"database: {type(ws.rooms.db).__name__}")
    print(f"participants: {n}, answers sent within {window_s:.0f} s (finished after {elapsed:.2f} s)")
    print(f"answers recorded: {len(recorded)} of {n}; failures: {len(failures)}; "
          f"second answers refused: {dupes} of {n}")
    print(f"time per answer (ms): median {statistics.median(latencies) * 1000:.1f}, p95 {ms(latencies, 95)}, "
          f"max {max(latencies) * 1000:.1f}")
    print(f"presenter refresh while answers arrive (ms): {len(refreshes)} refreshes, median "
          f"{statistics.median(refreshes) * 1000:.1f}, p95 {ms(refreshes, 95)}, max {max(refreshes) * 1000:.1f}")
    print(f"presenter refresh with all {n} answers in (ms): {full_refresh * 1000:.1f}")
    print(f"whole presenter page rerun in Streamlit (AppTest, live question with {n} answers, charts built) (ms): "
          f"median {statistics.median(page_runs) * 1000:.0f}, max {max(page_runs) * 1000:.0f} "
          "(an upper bound for the 2 s fragment refresh, which redraws only the results)")
    for f in failures[:5]:
        print("  failure:", f)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("participants", nargs="?", type=int, default=50)
    parser.add_argument("seconds", nargs="?", type=float, default=5.0)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    main(args.participants, args.seconds, args.url)
