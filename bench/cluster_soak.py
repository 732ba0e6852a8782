"""A workshop room on the deployment's shape: nginx in front of several Streamlit replicas sharing one PostgreSQL
(deploy/local_cluster.py), with simulated participants speaking Streamlit's WebSocket protocol (tests/wire/client.py)
and one presenter in a real headless chromium, everyone through nginx. Then one replica dies.

The room is bench/room_soak.py's (its participants and presenter steps): everyone joins through nginx, whose route
cookie spreads them over the replicas; the presenter walks lessons (follow-me), runs live questions on their own,
starts a short training run on page 9 (the cheapest policy update its sliders allow: it executes on the presenter's
replica and is published through the database, and every participant, on every replica, must show it running and
then finished with its result), and a labeling round (every participant, on every replica, must see the same
completions). Then a live question
during which a replica that holds participants but not the presenter is killed with SIGKILL: its participants'
sockets drop, and each reconnects as the browser does (same cookies, through nginx, which sends it to a live
replica; a fresh Streamlit session there takes the seat back from the `genai_lab_id` cookie and the `?room=` in the
address). They answer the question only after that (they were still reading when the server died), and must keep
their seat (the same participant row) and their points; no acknowledged answer may be lost, and the presenter
reveals the question once everyone's answer is in.

Reported: participants per replica; per question seen/answered/acknowledged/stored; follow-me latency (median, p95,
max) per replica; the training run (which replica executed it; per replica how many showed it running, finished
and its result, and when: after the presenter's click, and after the run finished); labeling (same texts
everywhere, rankings acknowledged vs stored); the kill (which question, which replica, how
many participants it held, reconnect time median/max, seats and points kept, the question's answers acknowledged
vs stored, whether it was revealed and acknowledged); each replica's open files/threads/RSS; errors seen by the
clients and in the surviving replicas' logs.

Usage: .venv/bin/python -m bench.cluster_soak [--replicas 3] [--participants 90] [--lessons 4] [--questions 3]
       [--no-training] [--no-labeling] [--kill-question ID]
       (needs nginx and PostgreSQL's initdb/pg_ctl: deploy/local_cluster.py says how to install them)
tests/browser/test_cluster.py runs a short version (2 replicas, 6 participants) and asserts on it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from pathlib import Path

from bench import room_soak as room
from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
KEY = "cluster-soak-presenter-key-0123"
KILL_LIMIT_S = 120          # the killed replica's participants reconnect and answer within the question's time


def route_keys(url: str, addresses: list[str], n: int) -> list[str]:
    """`n` values of nginx's route cookie that spread `n` browsers evenly over the replicas (as its hash does on
    average over a large room; a small one could land on one replica by chance). Each key is tried with a GET of
    `/_stcore/health`, whose response names the replica that key reaches."""
    import secrets
    import urllib.request

    from deploy.local_cluster import REPLICA_HEADER, ROUTE_COOKIE

    want = {a: n // len(addresses) + (1 if i < n % len(addresses) else 0) for i, a in enumerate(addresses)}
    keys: dict[str, list[str]] = {a: [] for a in addresses}
    for _ in range(50 * n + 100):
        if all(len(keys[a]) >= want[a] for a in addresses):
            break
        key = secrets.token_hex(8)
        request = urllib.request.Request(url + "/_stcore/health", headers={"Cookie": f"{ROUTE_COOKIE}={key}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            replica = (response.headers.get(REPLICA_HEADER) or "").split(",")[-1].strip()
        if replica in keys and len(keys[replica]) < want[replica]:
            keys[replica].append(key)
    spread = [k for group in zip(*(keys[a] + [None] * (n - len(keys[a])) for a in addresses)) for k in group]
    return [k for k in spread if k is not None][:n]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": round(statistics.median(values), 2),
            "p95": round(room.percentile(values, 0.95), 2), "max": round(max(values), 2)}


async def set_time_limit(page, seconds: int) -> bool:
    """The console's "Time limit (seconds)" select slider to its last stop (`seconds`), by keyboard as a user can."""
    try:
        thumb = page.locator("[data-testid=stSlider]").filter(has_text="Time limit").get_by_role("slider")
        await thumb.focus()
        await thumb.press("End")
        await page.locator("[data-testid=stSlider]").filter(has_text="Time limit").get_by_text(
            str(seconds), exact=True).first.wait_for(timeout=10_000)
        await room.settle(page)
        return True
    except Exception:          # noqa: BLE001 — the default limit then; reported
        return False


def next_question(store, code: str, wanted: str = ""):
    """The question the kill step launches, named rather than left to the console's pickers (which default to the
    room's current section, whatever the presenter last showed): `wanted` (a question id), else the first question
    not asked yet of the section the quiz ran on (the first lesson's when none ran)."""
    if wanted:
        return room.BANK.by_id(wanted)
    asked = [q.question_id for q in store.questions(code)]
    section = room.BANK.by_id(asked[-1]).section if asked else room.SECTIONS[0].id
    return next(q for q in room.BANK.for_section(section) if q.id not in asked)


async def pick_question(page, question) -> str:
    """The console's Section and Question pickers to `question`, as a presenter picks them. Returns what they showed
    before (the question a launch without picking would have asked)."""
    def picker(label: str):
        return page.locator("[data-testid=stSelectbox]").filter(has=page.get_by_text(label, exact=True))

    async def choose(label: str, option) -> None:
        """Open the picker and click `option`; again if a rerun of the console closed the list first."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout
        for _ in range(5):
            await room.settle(page)
            await picker(label).click()
            try:
                await option.click(timeout=15_000)
                await room.settle(page)
                return
            except PlaywrightTimeout:
                await page.keyboard.press("Escape")
        raise TimeoutError(f"the {label} picker did not offer {question.id}")

    shows = "e => [e.innerText, ...Array.from(e.querySelectorAll('input'), i => i.value)].join(' ')"
    before = " / ".join([" ".join((await picker(label).evaluate(shows)).split()) for label in ("Section", "Question")])
    await choose("Section", page.get_by_role("option", name=room.TITLES[question.section], exact=True))
    shown = r"\s+".join(map(re.escape, question.prompt[:90].split()))      # as the picker shows it, "✓ " if asked
    await choose("Question", page.get_by_role("option", name=re.compile(rf"^(✓ )?{shown}$")))
    return before


POLICY_BOX = "Try it: RLHF's policy update, with the KL penalty on a slider"
TRAINING_LIMIT_S = 600       # the presenter's short run, from the click until every phone shows it finished


async def lowest(page, box, name: str, value: str) -> None:
    """A slider of `box` to its lowest stop by keyboard (Home), as a user can; waits until it reads `value`."""
    slider = box.get_by_role("slider", name=name)
    end = time.monotonic() + 30
    while True:
        await slider.focus()
        await slider.press("Home")
        await asyncio.sleep(0.3)
        shown = await slider.get_attribute("aria-valuetext")
        if shown == value:
            return
        if time.monotonic() > end:
            raise TimeoutError(f"the {name!r} slider reads {shown!r}, not {value!r}")


async def training_watch(page, db, results: room.Results, participants: list[room.Participant],
                         addresses: list[str], pids: list[int]) -> dict:
    """The presenter goes to page 9 (follow-me takes the room along) and starts the cheapest policy update its
    sliders allow (4 steps, 2 answers per prompt, 8 tokens: a real run on the presenter's replica's training
    queue). Every participant, on every replica, must show the presenter's run ("Showing the presenter … — running"),
    then finished ("— done" with its result). Returns per replica how many saw it running and finished, and when
    (after the presenter's click), and which replica executed the run (the room_runs table's `replica`)."""
    code = results.code
    seated = [p for p in participants if p.replica is not None and p.name in {
        r["nickname"] for r in db.read("SELECT nickname FROM participants WHERE room = ?", (code,))}]
    title = page.locator("h1", has_text=room.TITLES["rlhf"])
    await room.settle(page)
    if not await title.count():
        results.moves["rlhf"] = time.monotonic()     # before the click: a sight before the stamp would not count
        await page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="9. RLHF").click()
        await title.wait_for()
    end = time.monotonic() + 90                            # the room arrives on the page (the run shows either way)
    while sum("rlhf" in p.seen_titles for p in seated) < len(seated) and time.monotonic() < end:
        await asyncio.sleep(0.5)
    box = page.get_by_text(POLICY_BOX).locator("xpath=ancestor::div[@data-testid='stLayoutWrapper'][1]")
    await box.scroll_into_view_if_needed()
    await lowest(page, box, "Steps", "4")
    await box.get_by_text("More settings: answers per prompt").click()
    await lowest(page, box, "Answers per prompt (k)", "2")
    await lowest(page, box, "Answer length (tokens)", "8")
    await room.settle(page)
    clicked, clicked_wall = time.monotonic(), time.time()
    await box.get_by_role("button", name="Start the policy update").click()
    print(f"training run started by the presenter ({clicked - results.started:.0f} s)", flush=True)
    shown = box.get_by_text(re.compile(r"Showing your run.* — (done|failed|cancelled)"))      # the presenter's own
    end = clicked + TRAINING_LIMIT_S
    presenter_done = None
    while time.monotonic() < end:
        if presenter_done is None and await shown.count():
            presenter_done = time.monotonic()
        finished = [p for p in seated if set(p.run_states) & {"done", "failed", "cancelled"}]
        if presenter_done is not None and len(finished) == len(seated) and \
                all(p.run_result_at is not None or "done" not in p.run_states for p in seated):
            break
        await asyncio.sleep(0.5)
    rows = [dict(r) for r in db.read("SELECT id, kind, state, replica, submitted_at, finished_at FROM room_runs "
                                     "WHERE room = ? ORDER BY submitted_at", (code,))]
    by_pid = {str(pid): addr for pid, addr in zip(pids, addresses)}
    executed_on = [by_pid.get(str(r["replica"]).rsplit(":", 1)[-1], r["replica"]) for r in rows]
    finished_at = rows[-1]["finished_at"] if rows and rows[-1]["finished_at"] else None
    stored_done = clicked + (finished_at - clicked_wall) if finished_at else None
    queued = clicked + (rows[-1]["submitted_at"] - clicked_wall) if rows else None   # after the click's preparation
    print(f"training run {rows[-1]['state'] if rows else 'not published'} on {executed_on} "
          f"({time.monotonic() - results.started:.0f} s)", flush=True)

    def per(group: list[room.Participant]) -> dict:
        first = [min(p.run_states.values()) - clicked for p in group if p.run_states]
        done = [p.run_states["done"] - clicked for p in group if "done" in p.run_states]
        lag = [p.run_states["done"] - stored_done for p in group if "done" in p.run_states and stored_done]
        after_queued = [min(p.run_states.values()) - queued for p in group if p.run_states and queued]
        return {"participants": len(group),
                "saw_it_running": sum("running" in p.run_states for p in group),
                "saw_it_queued_only": sum("queued" in p.run_states and "running" not in p.run_states for p in group),
                "saw_it_finished (done)": sum("done" in p.run_states for p in group),
                "saw_its_result": sum(p.run_result_at is not None for p in group),
                "saw_it_failed_or_cancelled": sum(bool(set(p.run_states) & {"failed", "cancelled"}) for p in group),
                "first_sight_after_click_s": summary(first), "first_sight_after_queued_s": summary(after_queued),
                "done_after_click_s": summary(done),
                "done_after_the_run_finished_s": summary(lag)}

    return {"runs_published": len(rows), "states": [r["state"] for r in rows], "executed_on": executed_on,
            "queued_after_click_s (reward model, toxicity score)": round(queued - clicked, 1) if queued else None,
            "run_s (click to finished)": round(stored_done - clicked, 1) if stored_done else None,
            "presenter_saw_it_finished_after_s": round(presenter_done - clicked, 1) if presenter_done else None,
            "per_replica": {a: per([p for p in seated if p.replica == a]) for a in addresses}}


async def kill_question(page, cluster, store, db, results: room.Results, participants: list[room.Participant],
                        victim: int, victim_addr: str, wanted: str = "") -> dict:
    """Launch a question; once the victim replica's participants see it, SIGKILL that replica; they reconnect
    through nginx and answer; reveal when every answer is in (or the time is up); wait for the acknowledgements."""
    from core.workshop.quiz import leaderboard

    code = results.code
    seq = len(store.questions(code)) + 1
    victims = [p for p in participants if p.replica == victim_addr and p.name in store.participants(code)]
    for p in victims:
        p.hold = seq
    rows = "SELECT nickname, seat_hash, joined_at FROM participants WHERE room = ? ORDER BY nickname"
    seats_before = {r["nickname"]: dict(r) for r in db.read(rows, (code,))}
    points_before = {s.nickname: s.points for s in leaderboard(store.answers(code), store.participants(code))}
    await room.open_live_quiz_tab(page)
    await room.settle(page)
    chosen = next_question(store, code, wanted)
    pickers_showed = await pick_question(page, chosen)
    long_limit = await set_time_limit(page, KILL_LIMIT_S)
    await page.get_by_role("button", name="Launch question").click()
    end = time.monotonic() + 60
    while (store.current_question(code) is None or store.current_question(code).seq != seq) \
            and time.monotonic() < end:
        await asyncio.sleep(0.2)
    end = time.monotonic() + 90
    while not all(seq in p.seen_questions for p in victims) and time.monotonic() < end:
        await asyncio.sleep(0.2)
    seen_before_kill = sum(seq in p.seen_questions for p in victims)
    killed_at = time.monotonic()
    cluster.kill_replica(victim)
    print(f"question {seq}: killed replica {victim} ({victim_addr}) holding {len(victims)} participants "
          f"({killed_at - results.started:.0f} s)", flush=True)
    question = store.current_question(code)
    end = time.monotonic() + question.time_limit + 10
    while time.monotonic() < end:
        if len(store.answers(code, seq)) >= results.joined and all(p.reconnected for p in victims):
            break
        await asyncio.sleep(0.5)
    all_in_after = round(time.monotonic() - killed_at, 1)
    if not store.current_question(code).revealed:
        await room.settle(page)
        await page.get_by_role("button", name="Reveal the answer").click()
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if store.current_question(code).revealed and \
                all(seq in p.acknowledged for p in participants if seq in p.clicked):
            break
        await asyncio.sleep(0.5)
    stored = {a["nickname"]: a for a in store.answers(code, seq)}
    seats_after = {r["nickname"]: dict(r) for r in db.read(rows, (code,))}
    points_after = {s.nickname: s.points for s in leaderboard(store.answers(code), store.participants(code))}
    end = time.monotonic() + 60          # the reveal's caption ("1,234 points · …") reaches every phone
    while any(p.points_shown != points_after.get(p.name) for p in victims) and time.monotonic() < end:
        await asyncio.sleep(0.5)
    times = [p.reconnected[0]["s"] for p in victims if p.reconnected]
    return {
        "replica": victim, "address": victim_addr, "question": seq,
        "question_launched": f"{question.question_id} ({room.BANK.by_id(question.question_id).type})",
        "question_picked": question.question_id == chosen.id, "pickers_showed_before": pickers_showed,
        "time_limit_s": question.time_limit,
        "time_limit_raised": long_limit,
        "participants_on_it": len(victims), "saw_the_question_before_the_kill": seen_before_kill,
        "reconnected": len(times), "reconnect_s": summary(times),
        "reconnected_to": {addr: sum(1 for p in victims if p.reconnected and p.reconnected[0]["to"] == addr)
                           for addr in sorted({p.reconnected[0]["to"] for p in victims if p.reconnected} - {None})},
        "reruns_asked_on_reconnect": sum(1 for p in victims if p.reconnected and p.reconnected[0]["rerun"]),
        "seats_kept (same participant row)": sum(1 for p in victims if p.name in seats_before
                                                 and seats_after.get(p.name) == seats_before[p.name]),
        "rows_before_after": (len(seats_before), len(seats_after)),
        "points_kept": sum(1 for p in victims if points_after.get(p.name, 0)
                           == points_before.get(p.name, 0) + stored.get(p.name, {}).get("points", 0)),
        "points_shown_match_store": sum(1 for p in victims if p.points_shown == points_after.get(p.name)),
        "victims_answers_stored": sum(1 for p in victims if p.name in stored),
        "victims_acknowledged": sum(1 for p in victims if seq in p.acknowledged),
        "answers_stored": len(stored), "acknowledged": results.acknowledged.get(seq, 0),
        "all_answers_in_after_s": all_in_after,
        "revealed": store.current_question(code).revealed,
    }


async def run(args) -> dict:
    from playwright.async_api import async_playwright

    from core.labs.rlhf.labels import Labels
    from core.storage.database import open_database
    from core.workshop.rooms import Rooms
    from core.workshop.rounds import LabelingRounds
    from deploy.local_cluster import ROUTE_COOKIE, LocalCluster

    results = room.Results()
    env = {"GENAI_LAB_CACHE": str(ROOT / ".cache" / "test-models")}
    cluster = LocalCluster(replicas=args.replicas, presenter_key=KEY, env=env)
    cluster.up()
    print(f"cluster up: {cluster.url}, replicas {cluster.replica_ports} ({time.monotonic() - results.started:.0f} s)",
          flush=True)
    db = None
    try:
        addresses = [f"127.0.0.1:{port}" for port in cluster.replica_ports]
        db = open_database(cluster.database_url)
        store = Rooms(db)
        stop, samplers_stop = asyncio.Event(), asyncio.Event()
        samples: list[list[dict]] = [[] for _ in addresses]
        samplers = [asyncio.create_task(room.sample(pid, results, samplers_stop, args.sample_every, into=samples[i]))
                    for i, pid in enumerate(cluster.replica_pids)]
        routes = route_keys(cluster.url, addresses, args.participants) if args.balance else []
        participants = [room.Participant(i + 1, cluster.url, "", results, reconnect=True,
                                    cookies={ROUTE_COOKIE: routes[i]} if i < len(routes) else None)
                        for i in range(args.participants)]
        tasks: list = []
        kill: dict = {}
        training: dict = {}
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page, presenter_replica = await room.open_room(browser, cluster.url, results, KEY)
                print(f"room {results.code} on {presenter_replica}: {args.participants} participants joining",
                      flush=True)
                await room.admit(participants, tasks, stop, results)
                await room.walk_lessons(page, results, [s.id for s in room.SECTIONS[:args.lessons]])
                if args.questions:
                    await room.run_quiz(page, store, results.code, args.questions, results)
                if args.training:
                    training = await training_watch(page, db, results, participants, addresses,
                                                    cluster.replica_pids)
                if args.labeling:
                    await room.labeling_round(page, results)
                held = {a: sum(1 for x in participants if x.replica == a) for a in addresses}
                candidates = [a for a in addresses if a != presenter_replica and held[a]]
                if candidates:
                    victim_addr = max(candidates, key=held.get)
                    kill = await kill_question(page, cluster, store, db, results, participants,
                                               addresses.index(victim_addr), victim_addr,
                                               getattr(args, "kill_question", ""))
                else:
                    kill = {"skipped": "no replica holds participants without the presenter"}
                boxes = await page.locator("[data-testid=stException]").count()
                if boxes:
                    results.errors.append(f"the presenter's page shows {boxes} exception box(es)")
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                await browser.close()
        samplers_stop.set()
        await asyncio.gather(*samplers)
        return report(args, results, cluster, store, db, participants, addresses, presenter_replica, samples, kill,
                      training, Labels, LabelingRounds)
    finally:
        if db is not None:
            db.close()
        cluster.down()


def report(args, results: room.Results, cluster, store, db, participants, addresses, presenter_replica, samples, kill,
           training, Labels, LabelingRounds) -> dict:
    code = results.code
    stored = {q.seq: {a["nickname"] for a in store.answers(code, q.seq)} for q in store.questions(code)}
    lost = [f"{p.name} q{seq}" for p in participants for seq in p.acknowledged if p.name not in stored.get(seq, ())]
    follow: dict[str, list[float]] = {a: [] for a in addresses}
    for p in participants:
        for section, seen in p.seen_at.items():
            if section in results.moves and seen >= results.moves[section] and p.replica in follow:
                follow[p.replica].append(seen - results.moves[section])
    current = LabelingRounds(db).current(code) if code else None
    shown = [p.completions for p in participants if p.completions is not None]
    victim = kill.get("replica")
    logs = {}
    for i in range(len(addresses)):
        path = cluster.replica_log(i)
        text = path.read_text(errors="replace") if path.exists() else ""
        logs[i] = [line for line in text.splitlines()
                   if " ERROR " in line or "Traceback" in line or "out of system resource" in line][:20]
    duration = time.monotonic() - results.started
    return {
        "replicas": len(addresses), "participants": args.participants, "joined": results.joined,
        "join_failures": results.join_failures[:5], "presenter_on": presenter_replica,
        "participants_per_replica": {a: sum(1 for p in participants if p.replica == a) for a in addresses},
        "questions": {seq: {"seen": results.seen_questions.get(seq, 0), "answered": results.answered.get(seq, 0),
                            "acknowledged": results.acknowledged.get(seq, 0), "stored": len(names)}
                      for seq, names in sorted(stored.items())},
        "acknowledged_answers_lost": lost,
        "follow_me_s_per_replica": {a: summary(v) for a, v in follow.items()},
        "follow_me_s_all": summary([x for v in follow.values() for x in v]),
        "labeling": {} if not args.labeling else {
            "round_texts_in_store": len(current.completions) if current else 0,
            "participants_who_saw_the_round": len(shown),
            "saw_identical_texts": len(shown) > 0 and current is not None
            and all(t == tuple(c or "(empty reply)" for c in current.completions) for t in shown),
            "saw_it_per_replica": {a: sum(1 for p in participants if p.replica == a and p.completions is not None)
                                   for a in addresses},
            "sent": results.rankings_sent, "acknowledged": results.rankings_acknowledged,
            "stored": len(Labels(db).rows(room=code)) if code else 0,
            "refused by the page (random ranks)": results.rankings_refused},
        "training_watch": training,
        "kill": kill,
        "replica_samples (min, max after the joins)": {
            a: {k: (min(x[k] for x in warm), max(x[k] for x in warm)) for k in ("files", "threads", "rss_mb")}
            for a, s in zip(addresses, samples) if (warm := [x for x in s if x["t"] >= results.joined_at] or s[-1:])},
        "replica_samples (t s: open files, threads, RSS MB)": {
            a: [f"{x['t']}: {x['files']}, {x['threads']}, {x['rss_mb']}" for x in s]
            for a, s in zip(addresses, samples)},
        "script_runs_per_s": round(results.runs / duration, 1), "duration_s": round(duration),
        "client_errors": results.errors[:20], "client_error_count": len(results.errors),
        "server_log_errors (surviving replicas)": {addresses[i]: v for i, v in logs.items() if i != victim and v},
        "server_log_errors (killed replica, before it died)": logs.get(victim, []) if victim is not None else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--participants", type=int, default=90)
    parser.add_argument("--lessons", type=int, default=4, help="lessons the presenter walks through")
    parser.add_argument("--questions", type=int, default=3, help="live questions before the kill (self-running)")
    parser.add_argument("--no-labeling", dest="labeling", action="store_false", help="skip the labeling round")
    parser.add_argument("--no-training", dest="training", action="store_false",
                        help="skip watching the presenter's short training run")
    parser.add_argument("--kill-question", default="", metavar="ID",
                        help="the bank's question to launch for the kill (default: the quiz section's next one)")
    parser.add_argument("--sample-every", type=float, default=15.0)
    parser.add_argument("--no-balance", dest="balance", action="store_false",
                        help="let nginx's hash of a random route cookie place participants (default: even shares)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
