"""Workshop rooms on PostgreSQL: two replicas share rooms, nicknames and answers, concurrent launches number
questions without gaps, timestamps keep sub-second precision, a whole workshop runs. The server comes from
tests/core/conftest.py; without one these tests skip."""
import shlex
import threading
import time

import pytest

from core.storage.database import AlreadyExists, PostgresDatabase, StoreError
from core.workshop.rooms import Rooms
from core.workshop.workshop import Workshop

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements.txt)")


def test_two_replicas_share_rooms_nicknames_and_answers(postgres_url):
    a, b = Rooms(PostgresDatabase(postgres_url)), Rooms(PostgresDatabase(postgres_url))
    a.create_room("ABCDE", 1e12, "rlhf")
    with pytest.raises(AlreadyExists):
        b.create_room("ABCDE", 1e12)
    b.add_participant("ABCDE", "Ada", "ada")
    with pytest.raises(AlreadyExists):
        a.add_participant("ABCDE", "ADA", "ada")
    q = a.start_question("ABCDE", "q1", "rlhf", 20)
    b.add_answer("ABCDE", q.seq, "Ada", "ada", {"pick": [1, 2]}, True, 1.25, 900)
    with pytest.raises(AlreadyExists):
        a.add_answer("ABCDE", q.seq, "Ada", "ada", "again", True, 2.0, 800)
    assert a.answers("ABCDE", q.seq)[0]["response"] == {"pick": [1, 2]}
    assert b.update_room("ABCDE", section="quantization").version == a.room("ABCDE").version
    with pytest.raises(StoreError, match="no room"):
        a.update_room("ZZZZZ", phase="podium")
    a.db.close()
    b.db.close()


def test_concurrent_launches_number_questions_without_gaps_or_clashes(postgres_url):
    replicas = [Rooms(PostgresDatabase(postgres_url)) for _ in range(2)]
    replicas[0].create_room("ABCDE", 1e12)
    errors = []

    def launch(i):
        try:
            replicas[i % 2].start_question("ABCDE", f"q{i}", "s", 20)
        except Exception as exc:          # pragma: no cover - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=launch, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [q.seq for q in replicas[0].questions("ABCDE")] == list(range(1, 13))
    for r in replicas:
        r.db.close()


def test_timestamps_keep_sub_second_precision(db_pg):
    rooms = Rooms(db_pg)
    before = time.time()
    rooms.create_room("ABCDE", before + 0.125)
    room = rooms.room("ABCDE")
    assert room.expires_at == before + 0.125 and abs(room.created_at - before) < 1


def test_a_workshop_runs_on_postgres(db_pg):
    from core.lessons import load_sections
    from core.workshop.quiz import load_bank

    question = load_bank(section_ids=[s.id for s in load_sections()]).by_id("cq-train-7b")
    ws = Workshop(db_pg)
    room = ws.open_room()
    for name in ("Ada", "Grace"):
        ws.join(room.code, name)
    live = ws.launch(room.code, question, 20)
    ws.answer(room.code, live.seq, "Ada", question, 168)
    ws.answer(room.code, live.seq, "Grace", question, 24)
    answers = Rooms(db_pg).answers(room.code, live.seq)
    assert sorted((a["nickname"], bool(a["correct"])) for a in answers) == [("Ada", True), ("Grace", False)]


@pytest.fixture
def db_pg(postgres_url):
    db = PostgresDatabase(postgres_url)
    yield db
    db.close()


@pytest.fixture
def own_postgres(tmp_path):
    """A PostgreSQL server of this test's own (deploy/postgres.py), so it can be stopped and restarted."""
    from deploy import postgres

    try:
        server = postgres.start(tmp_path)
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"no PostgreSQL to restart ({exc})")
    yield server
    server.stop()


def _pg_ctl(server, action: str, options: str = "") -> None:
    import subprocess

    # -l: the restarted server writes to its log, not to pipes this test would wait on until it exits.
    done = subprocess.run([server.pg_ctl, "-D", str(server.data), "-l", str(server.log), "-m", "fast", "-w",
                           "-t", "60", *(["-o", options] if options else []), action],
                          user=server.user, cwd=server.root, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, server.log.read_text(errors="replace")[-500:]


def test_a_room_goes_on_after_postgresql_restarts_mid_question(own_postgres):
    """PostgreSQL restarted mid-question (an upgrade, a failover): while it is down an answer gets one clear
    sentence, never a traceback; once it is back the same replica's pool answers again without a restart of the
    app, and every answer acknowledged before the restart is still there."""
    from core.lessons import load_sections
    from core.workshop.quiz import load_bank

    bank = load_bank(section_ids=[s.id for s in load_sections()])
    question = next(q for q in bank.questions if q.type == "single")
    db = PostgresDatabase(own_postgres.url, wait_s=3.0, connect_timeout_s=2)
    try:
        ws = Workshop(db)
        code = ws.open_room(question.section).code
        for name in ("Ada", "Bo", "Cy"):
            ws.join(code, name)
        live = ws.launch(code, question, 300)
        ws.answer(code, live.seq, "Ada", question, question.answer)

        # The server's own options (port, socket folder), to start it again as it was: postgres "-D" "…" "-p" …
        words = shlex.split((own_postgres.data / "postmaster.opts").read_text())[1:]
        options = shlex.join(w for i, w in enumerate(words) if w != "-D" and (i == 0 or words[i - 1] != "-D"))
        _pg_ctl(own_postgres, "stop")
        with pytest.raises(StoreError) as down:
            ws.answer(code, live.seq, "Bo", question, question.answer)
        sentence = str(down.value)
        assert "PostgreSQL" in sentence and "Traceback" not in sentence and "\n" not in sentence

        _pg_ctl(own_postgres, "start", options)
        ws.answer(code, live.seq, "Bo", question, question.answer)      # the pool replaced its broken connections
        ws.answer(code, live.seq, "Cy", question, question.answer)
        answers = ws.rooms.answers(code, live.seq)
        assert sorted(a["nickname"] for a in answers) == ["Ada", "Bo", "Cy"]
        assert ws.reveal(code).revealed
    finally:
        db.close()
