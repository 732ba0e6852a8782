"""A live workshop in real browsers: one presenter and N participants (separate browser contexts) on one server.

Each round: the presenter opens a lesson (followers must arrive), launches a live question from the console
(every participant must see it and answer), reveals it (every participant must see their place), then goes back
to the lesson. The script counts, per round, blank participant pages, console/page errors, exception boxes,
answers recorded in the database and how long follow-me took, and prints a summary. Nothing is asserted.

    .venv/bin/python -m bench.live_round --participants 10 --rounds 3 [--repeat 5]
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from tests.browser.harness import LabPage, launch, streamlit_server

ROOT = Path(__file__).resolve().parents[1]

KEY = "bench-presenter-key"
# Lessons the presenter walks through, one per round: text-only pages and demo pages (page 2 loads tokenizers).
LESSONS = [("generative-ai", "1. What is generative AI?"), ("inside-transformer", "2. Inside a transformer"),
           ("evaluation-benchmarks", "8. Evaluation & benchmarks"), ("prompt-engineering", "3. Prompt engineering"),
           ("rag-applications", "11. RAG & LLM apps")]


def wait_all(labs: list[LabPage], what: str, check, deadline: float) -> tuple[list[float], list[int]]:
    """Wait until `check(lab)` holds for every tab or the deadline passes: (seconds each took, indexes that failed)."""
    start, took, failed = time.monotonic(), [], []
    for i, lab in enumerate(labs):
        try:
            check(lab, max(1_000, int((deadline - time.monotonic()) * 1000)))
            took.append(time.monotonic() - start)
        except Exception:
            failed.append(i)
            if len(failed) == 1:
                lab.screenshot(f"live-round-failed-{what.split()[0].strip('.')}")
            now = time.monotonic()
            sent, got = getattr(lab, "frames", {}).get("sent"), getattr(lab, "frames", {}).get("received")
            print(f"    participant {i}: no '{what}' in time (blank page: {lab.is_blank()}, url {lab.page.url}, "
                  f"script {lab.page.locator('[data-testid=stApp]').get_attribute('data-test-script-state')}, "
                  f"last websocket frame sent {now - sent if sent else float('nan'):.1f} s ago, "
                  f"received {now - got if got else float('nan'):.1f} s ago)", flush=True)
    return took, failed


def watch_frames(lab: LabPage) -> None:
    """Record when the tab last sent and received a websocket frame (a stuck page: is its timer still ticking?)."""
    lab.frames = {}

    def on_socket(ws):
        ws.on("framesent", lambda _: lab.frames.__setitem__("sent", time.monotonic()))
        ws.on("framereceived", lambda _: lab.frames.__setitem__("received", time.monotonic()))
    lab.page.on("websocket", on_socket)


def question_shown(lab: LabPage):
    """The answer control of a live question: an answer tile (single choice) or the form's "Send answer" button."""
    main = lab.page.locator("[data-testid=stMain]")
    return main.locator("[class*='_tile_'] button").or_(main.get_by_role("button", name="Send answer")).first


def send_answer(lab: LabPage, timeout: int) -> None:
    """Answer whatever question is shown (the first tile, first option, first box, or the number 6) without waiting
    for the confirmation: a room answers at the same time, and this script clicks one tab after another."""
    main = lab.page.locator("[data-testid=stMain]")
    question_shown(lab).wait_for(timeout=timeout)
    tiles = main.locator("[class*='_tile_'] button")
    if tiles.count():
        tiles.first.click()
        return
    radios = main.locator("[data-testid=stRadio] [role=radiogroup] label")
    boxes = main.locator("[data-testid=stCheckbox] label")
    if radios.count():
        radios.first.click()
    elif boxes.count():
        boxes.first.click()
    else:
        main.get_by_label(re.compile("Your answer")).fill("6")
    main.get_by_role("button", name="Send answer").click()


def run(participants: int, rounds: int, wait_s: float, headed_log: str) -> dict:
    from playwright.sync_api import sync_playwright

    from core.storage.database import SQLiteDatabase
    from core.workshop.rooms import Rooms

    figures = {"rounds": [], "errors": 0, "exceptions": 0}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        db = Path(tmp) / "bench.db"
        env = {"GENAI_LAB_DB": str(db), "GENAI_LAB_PRESENTER_KEY": KEY, "GENAI_LAB_DATABASE_URL": None}
        with streamlit_server(headed_log, env) as url:
            browser = launch(p)
            presenter = LabPage.new(browser, url, timeout_ms=90_000).open("presenter-console")
            presenter.page.get_by_label("Presenter key").fill(KEY)
            presenter.page.get_by_role("button", name="Unlock").click()
            presenter.page.get_by_role("button", name="Open a new room").click()
            link = presenter.page.get_by_text(re.compile(r"live-quiz\?room=[A-Z0-9]{5}")).first
            link.wait_for()
            code = re.search(r"room=([A-Z0-9]{5})", link.inner_text()).group(1)
            labs = []
            t0 = time.monotonic()
            for i in range(participants):
                lab = LabPage.new(browser, url, width=420, height=860, timeout_ms=90_000)
                watch_frames(lab)
                lab.open("live-quiz")
                main = lab.page.locator("[data-testid=stMain]")
                main.get_by_label("Room code").fill(code)
                main.get_by_label("Nickname").fill(f"P{i:02d}")
                main.get_by_role("button", name="Join").click()
                labs.append(lab)
                print(f"  participant {i} opened the page after {time.monotonic() - t0:.1f} s", flush=True)
            _, not_joined = wait_all(labs, "waiting", lambda lab, t: lab.page.get_by_text(
                "Waiting for the presenter").wait_for(timeout=t), time.monotonic() + wait_s)
            print(f"{participants} joined in {time.monotonic() - t0:.1f} s ({len(not_joined)} not shown as joined)",
                  flush=True)
            store = Rooms(SQLiteDatabase(db))
            sidebar = presenter.page.locator("[data-testid=stSidebarNav]")
            for r in range(rounds):
                lesson, title = LESSONS[r % len(LESSONS)]
                row = {"round": r + 1, "lesson": lesson}
                # Follow me: the presenter opens a lesson from the menu.
                sidebar.get_by_role("link", name=title).click()
                presenter.page.locator("h1", has_text=title).wait_for()
                t = time.monotonic()
                took, failed = wait_all(labs, title, lambda lab, tm: lab.page.locator("h1", has_text=title).wait_for(
                    timeout=tm), t + wait_s)
                row["followed"], row["follow_s"] = participants - len(failed), max(took, default=float("nan"))
                # Live question from the console.
                sidebar.get_by_role("link", name="Presenter").click()
                presenter.page.locator("h1", has_text="Presenter console").wait_for()
                presenter.page.get_by_role("tab", name="Live quiz").click()
                slider = presenter.page.get_by_role("slider")
                try:
                    slider.focus()
                except Exception:
                    presenter.screenshot(f"live-round-presenter-console-{r + 1}")
                    print(f"    presenter: no time-limit slider on the console (script "
                          f"{presenter.page.locator('[data-testid=stApp]').get_attribute('data-test-script-state')})",
                          flush=True)
                    raise
                slider.press("End")                                            # 120 s
                presenter.page.get_by_role("button", name="Launch question").click()
                presenter.page.get_by_text(f"0 of {participants} answered").wait_for()
                t = time.monotonic()
                # Everyone must see the question within the wait; then each answers on their own clock (a person
                # answers on their own device at the same time as the others; this script clicks one tab after the
                # other, so a shared deadline would count its own slowness against the last participants).
                took, failed = wait_all(labs, "question", lambda lab, tm: question_shown(lab).wait_for(timeout=tm),
                                        t + wait_s)
                row["saw_question"], row["question_s"] = participants - len(failed), max(took, default=float("nan"))
                t = time.monotonic()
                for i, lab in enumerate(labs):
                    try:
                        send_answer(lab, int(wait_s * 1000))
                    except Exception:
                        print(f"    participant {i}: could not answer (blank page: {lab.is_blank()})", flush=True)
                row["clicks_s"] = time.monotonic() - t
                took, failed = wait_all(labs, "answer is in", lambda lab, tm: lab.page.get_by_text(
                    "Your answer is in").wait_for(timeout=tm), time.monotonic() + wait_s)
                row["answered_in_browser"], row["confirm_s"] = participants - len(failed), max(took, default=0.0)
                current = store.current_question(code)
                presenter.page.get_by_text(re.compile(r"\d+ of \d+ answered")).first.wait_for()
                row["recorded"] = len(store.answers(code, current.seq))
                presenter.page.get_by_role("button", name="Reveal the answer").click()
                try:
                    presenter.page.get_by_text("Leaderboard").wait_for()
                except Exception:
                    presenter.screenshot(f"live-round-presenter-reveal-{r + 1}")
                    print(f"    presenter: no leaderboard 90 s after Reveal (blank: {presenter.is_blank()})",
                          flush=True)
                    raise
                took, failed = wait_all(labs, "place", lambda lab, tm: lab.page.get_by_text("Your place").wait_for(
                    timeout=tm), time.monotonic() + wait_s)
                row["saw_reveal"] = participants - len(failed)
                presenter.page.get_by_role("button", name="Back to the lesson").click()
                took, failed = wait_all(labs, "back", lambda lab, tm: lab.page.locator("h1", has_text=title).wait_for(
                    timeout=tm), time.monotonic() + wait_s)
                row["back"] = participants - len(failed)
                row["blank"] = sum(lab.is_blank() for lab in labs)
                row["errors"] = sum(len(lab.errors) for lab in labs) - figures["errors"]
                figures["errors"] += row["errors"]
                row["exceptions"] = sum(lab.page.locator("[data-testid=stException]").count() for lab in labs)
                figures["rounds"].append(row)
                print(f"  round {r + 1} ({lesson}): followed {row['followed']}/{participants} "
                      f"(last after {row['follow_s']:.1f} s), saw the question {row['saw_question']} (last after "
                      f"{row['question_s']:.1f} s), answered {row['answered_in_browser']} "
                      f"(clicks took {row['clicks_s']:.1f} s, "
                      f"last confirmed {row['confirm_s']:.1f} s after), "
                      f"recorded {row['recorded']}, saw reveal {row['saw_reveal']}, back {row['back']}, "
                      f"blank {row['blank']}, console/page errors {row['errors']}, exception boxes "
                      f"{row['exceptions']}", flush=True)
            for i, lab in enumerate(labs):
                for e in lab.errors[:3]:
                    print(f"    participant {i}: {e}")
            for e in presenter.errors[:3]:
                print(f"    presenter: {e}")
            figures["presenter_errors"] = len(presenter.errors)
            browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh server")
    parser.add_argument("--wait", type=float, default=90.0, help="seconds every participant gets for each step")
    args = parser.parse_args()
    totals = []
    for run_no in range(args.repeat):
        print(f"run {run_no + 1} of {args.repeat}: {args.participants} participants, {args.rounds} rounds", flush=True)
        start = time.monotonic()
        figures = run(args.participants, args.rounds, args.wait, "bench-live-round-server.log")
        rows = figures["rounds"]
        totals.append({
            "blank": sum(r["blank"] for r in rows), "errors": figures["errors"] + figures["presenter_errors"],
            "unrecorded": sum(args.participants - r["recorded"] for r in rows),
            "not_followed": sum(args.participants - r["followed"] for r in rows),
            "question_not_seen": sum(args.participants - r["saw_question"] for r in rows),
            "follow_s": max(r["follow_s"] for r in rows), "seconds": time.monotonic() - start})
        print(f"run {run_no + 1}: {totals[-1]}", flush=True)
    print("\nsummary: runs", len(totals), "· participants", args.participants, "· rounds per run", args.rounds)
    for key in ("blank", "errors", "unrecorded", "not_followed", "question_not_seen"):
        print(f"  {key:13s} total {sum(t[key] for t in totals)}")
    print(f"  slowest follow-me {max(t['follow_s'] for t in totals):.1f} s; run time median "
          f"{statistics.median(t['seconds'] for t in totals):.0f} s")


if __name__ == "__main__":
    main()
