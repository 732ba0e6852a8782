"""A workshop room at scale without a browser per participant: simulated participants that speak Streamlit's own
WebSocket protocol (tests/wire/client.py), one presenter in a real headless chromium, one server.

The participants join the room, follow the presenter across four lessons, answer five live questions (the console's
self-running quiz) and rank the answers of one labeling round, with their `watch` heartbeat ticking every 2 s as
a browser's would. The server runs under an open-file limit (`ulimit -n`, 1,024 by default, the systemd default)
and is sampled every 30 s: open files, threads, resident memory.

Reported: participants that joined; per live question how many saw it, answered, were acknowledged ("Your answer is
in") and how many answers the database holds; follow-me latency (the presenter's click to the lesson's title on a
participant's page: median, p95, max); labeling rankings acknowledged vs stored; script runs per second (counted by
the clients); the server samples; errors seen by the clients and in the server log.

Usage: .venv/bin/python -m bench.room_soak [--participants 100] [--minutes 10] [--database sqlite|postgres]
       [--open-files 1024] [--root DIR --entry app.py]   (--root: another checkout, e.g. the code before a fix)
`--database postgres` needs GENAI_LAB_TEST_POSTGRES_URL, or initdb/pg_ctl on the machine (a throwaway cluster).
tests/server/test_room_soak.py runs a short version (10 participants, one minute) and asserts on it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from core.lessons import load_sections
from core.workshop.quiz import load_bank
from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from tests.wire.client import REPLICA_HEADER, Session, SessionClosed

ROOT = Path(__file__).resolve().parent.parent

KEY = "soak-presenter-key-0123"
SECTIONS = load_sections()
BANK = load_bank(section_ids=[s.id for s in SECTIONS])
TITLES = {s.id: f"{s.number}. {s.title}" for s in SECTIONS}
HEARTBEAT_S = 2.0                                # components/workshop/sync.REFRESH_S
ROUND_BEAT_S = 3.0                               # components/labs/rlhf/labeling_view.ROUND_REFRESH_S
# A training panel (components/common/training.panel) says whose run it shows and its state; a participant in a room
# reads "**Showing the presenter (room ABCDE) (β = 0.2)** — running". Its live fragment's timer is a heartbeat
# component keyed "<panel>_live_beat" whose period (ms) is in its data (training.live).
TRAINING_SHOWN = re.compile(r"\*\*Showing the presenter\b.*\*\* — (\w+)$")
LIVE_BEAT = "_live_beat"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


@dataclass
class Results:
    started: float = field(default_factory=time.monotonic)
    joined: int = 0
    join_failures: list[str] = field(default_factory=list)
    moves: dict[str, float] = field(default_factory=dict)                    # section -> presenter's click
    seen_titles: dict[str, list[float]] = field(default_factory=dict)        # section -> participants' first sight
    seen_questions: dict[int, int] = field(default_factory=dict)
    answered: dict[int, int] = field(default_factory=dict)
    acknowledged: dict[int, int] = field(default_factory=dict)
    rankings_sent: int = 0
    rankings_acknowledged: int = 0
    rankings_refused: int = 0              # random rankings the page refused (it explains why; nothing to save)
    rankings_done: int = 0                 # participants done with the round (saved, or their ranking refused)
    errors: list[str] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    runs: int = 0
    code: str = ""
    witness: dict = field(default_factory=dict)      # the one participant in a real browser
    joined_at: float = 0.0                 # when the last participant had joined (seconds since the start)

    def count(self, table: dict, key) -> None:
        table[key] = table.get(key, 0) + 1


# ---------------------------------------------------------------------------------------------------- participants

class Participant:
    """One simulated phone: joins, follows, answers what appears, ranks a labeling round.

    With `reconnect` (bench/cluster_soak.py) a dropped socket is reconnected as the browser does (Session.reconnect,
    through the load balancer to a live replica) and the participant goes on; `hold` names a question it answers
    only after such a reconnect (a phone whose user was still reading when its server died)."""

    def __init__(self, number: int, url: str, code: str, results: Results, reconnect: bool = False,
                 cookies: dict | None = None):
        self.name = f"P{number:03d}"
        self.url, self.code, self.results, self.cookies = url, code, results, cookies
        self.session: Session | None = None
        self.seen_titles: set[str] = set()
        self.seen_at: dict[str, float] = {}            # section -> when its title first showed here
        self.seen_questions: set[int] = set()
        self.answered: set[int] = set()
        self.acknowledged: set[int] = set()
        self.ranked_round: str | None = None
        self.completions: tuple[str, ...] | None = None  # the labeling round's texts as this page showed them
        self.points_shown: int | None = None             # the points the page last showed ("1,234 points · …")
        self.reconnect, self.hold = reconnect, None
        self.replica: str | None = None                  # the replica it joined on
        self.reconnected: list[dict] = []                # {"s": seconds to be seated again, "from", "to", "rerun"}
        self.clicked: set[int] = set()                  # questions answered at least once (a retry is not counted)
        self.run_states: dict[str, float] = {}           # the presenter's training run: state -> first shown here
        self.run_result_at: float | None = None          # when its result (`result_marker`) first showed
        self.result_marker: str = "Reward-model score: "  # the start of a text the finished run's panel shows

    def observe(self, session: Session) -> bool:
        """Called after every message: the first time a lesson title or a question shows, note when."""
        texts = session.texts()
        now = time.monotonic()
        for section, title in TITLES.items():
            if section not in self.seen_titles and title in texts:
                self.seen_titles.add(section)
                self.seen_at[section] = now
                self.results.seen_titles.setdefault(section, []).append(now)
        for text in texts:
            match = re.match(r"\*\*Question (\d+)\*\*", text)
            if match and int(match.group(1)) not in self.seen_questions:
                self.seen_questions.add(int(match.group(1)))
                self.results.count(self.results.seen_questions, int(match.group(1)))
        seq = next((int(m.group(1)) for t in texts if (m := re.match(r"\*\*Question (\d+)\*\*", t))), None)
        if seq in self.clicked and seq not in self.acknowledged and self._acknowledged(session):
            self.acknowledged.add(seq)                   # (seen here too: after a reconnect, say)
            self.results.count(self.results.acknowledged, seq)
        for text in texts:
            match = TRAINING_SHOWN.match(text)
            if match and match.group(1) not in self.run_states:
                self.run_states[match.group(1)] = now
        if self.run_result_at is None and "done" in self.run_states and \
                any(t.startswith(self.result_marker) for t in texts):
            self.run_result_at = now
        points = next((m.group(1) for t in texts if (m := re.match(r"([\d,]+) points · ", t))), None)
        if points is not None:
            self.points_shown = int(points.replace(",", ""))
        return False

    def seated(self, session: Session) -> bool:
        """The page shows the room's caption with this participant's nickname."""
        return any(self.name in t for t in session.texts() if t.startswith("Room "))

    async def run(self, stop: asyncio.Event) -> None:
        try:
            self.session = await Session.open(self.url, path="live-quiz", query=f"room={self.code}",
                                              cookies=self.cookies, timeout=180)
            s = self.session
            self.replica = s.replica
            await s.wait_idle(180)
            await s.set_value(s.widget(key="live_main_nick"), self.name)
            await s.click(next(w for w in s.widgets("form_submit_button", "Join")
                               if w.form_id == s.widget(key="live_main_nick").form_id))
            await s.wait_for(self.seated, 180, "the room's caption")
            self.results.joined += 1
        except Exception as exc:                        # noqa: BLE001 — reported, the others go on
            self.results.join_failures.append(f"{self.name}: {type(exc).__name__}: {str(exc)[:200]}")
            return
        s.start_ticker(HEARTBEAT_S, "ws_heartbeat")
        s.start_ticker(ROUND_BEAT_S, "round_beat")
        beats = asyncio.create_task(self._live_beats(stop))
        try:
            while not stop.is_set():
                try:
                    await self._act(stop)
                except SessionClosed:
                    if stop.is_set() or not self.reconnect:
                        raise
                    await self._reconnect()
        except SessionClosed as exc:
            if not stop.is_set():
                self.results.errors.append(f"{self.name}: the server closed the connection ({exc})")
        except Exception as exc:                        # noqa: BLE001
            self.results.errors.append(f"{self.name}: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            beats.cancel()
            self.results.runs += s.runs_started
            for e in s.exceptions():
                self.results.errors.append(f"{self.name} saw an exception box: {e.type}: {e.message[:200]}")
            self.results.errors += [f"{self.name} client: {e}" for e in s.client_errors]
            await s.close()

    async def _live_beats(self, stop: asyncio.Event) -> None:
        """The timers of the page's live training panels, as the browser runs them: each `LIVE_BEAT` component
        ticks at the period its data names (1.5 s while no run shows, 5 s while following someone else's), from a
        random offset, while it is on the page."""
        due: dict[str, float] = {}
        while not stop.is_set():
            s, now = self.session, time.monotonic()
            try:
                for widget in s.components(LIVE_BEAT):
                    if widget.form_id or not widget.key:
                        continue
                    try:
                        every = max(0.5, float(json.loads(widget.proto.json or "{}").get("ms", 3000)) / 1000)
                    except (ValueError, AttributeError):
                        every = 3.0
                    if widget.key not in due or due[widget.key] > now + every:
                        due[widget.key] = now + random.uniform(0, every)
                    elif now >= due[widget.key]:
                        due[widget.key] = now + every
                        await s.tick(widget.key)
            except Exception:                            # noqa: BLE001 — reconnecting, or the page changed under it
                pass
            await asyncio.sleep(0.25)

    async def _act(self, stop: asyncio.Event) -> None:
        """Follow the page and do what it asks until `stop` (SessionClosed when the socket drops)."""
        s = self.session
        watcher = asyncio.create_task(s.wait_for(self.observe, timeout=1e9))
        watcher.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            while not stop.is_set():
                try:
                    await s.wait_for(lambda x: self._todo(x) is not None or stop.is_set(), 30, "something to do")
                except TimeoutError:
                    continue
                todo = self._todo(s)
                if todo is not None:
                    await todo()
        finally:
            watcher.cancel()

    async def _reconnect(self) -> None:
        """The socket dropped: reconnect as the browser does and wait until a run of the new session shows this
        participant seated again. Answers clicked but never acknowledged are forgotten: if the page asks again,
        answer again."""
        s, lost = self.session, time.monotonic()
        before, old_id, runs = s.replica, s.session_id, s.runs_started
        await s.reconnect(timeout=180)
        await s.wait_for(lambda x: x.session_id != old_id and x.runs_started > runs and x.idle and self.seated(x),
                         180, "the seat after reconnecting")
        self.reconnected.append({"s": time.monotonic() - lost, "from": before, "to": s.replica,
                                 "rerun": s.rerun_on_reconnect})
        self.answered &= self.acknowledged

    # -- what there is to do on the page now
    def _todo(self, s: Session):
        texts = s.texts()
        seq = next((int(m.group(1)) for t in texts if (m := re.match(r"\*\*Question (\d+)\*\*", t))), None)
        answer_in = any(t.startswith("Your answer is in") for t in texts)
        # No waiting for an idle page: the heartbeats keep a run in flight most of the time under load, and a phone's
        # user taps what is on the screen whatever the server is doing.
        if seq is not None and seq == self.hold and not self.reconnected:
            seq = None                                   # still reading when the server dies
        if seq is not None and seq not in self.answered and not answer_in:
            tiles = [w for w in s.widgets("button") if w.key and "_tile_button_" in w.key]
            # single: tiles; multiple and numeric: a form's "Send answer"; ordering: ↑/↓ buttons and a plain
            # "Send answer" button (buttons cannot live in a form)
            send = s.widgets("form_submit_button", "Send answer") or s.widgets("button", "Send answer")
            if tiles or send:
                return lambda: self._answer(s, seq, tiles, send)
        rounds = [t for t in texts if t.startswith("**Labeling round ") and "open:" in t]
        radios = [w for w in s.widgets("radio") if w.label.startswith("Rank of ")]
        if rounds and radios and rounds[0] != self.ranked_round:
            return lambda: self._rank(s, rounds[0], radios)
        return None

    async def _answer(self, s: Session, seq: int, tiles, send) -> None:
        await asyncio.sleep(random.uniform(0.5, 6.0))                 # reading the question on a phone
        if seq not in self.clicked:
            self.results.count(self.results.answered, seq)
        self.answered.add(seq)
        self.clicked.add(seq)
        if tiles:
            await s.click(random.choice(tiles))
        elif send[0].type == "button":                              # an ordering question: move one item, send
            await self._move_one(s)
            await s.click(s.widgets("button", "Send answer")[0])
        else:
            boxes = [box for box in s.widgets("checkbox") if box.form_id == send[0].form_id]
            if boxes:                                               # a multiple-choice question: tick at least one
                for box in random.sample(boxes, random.randint(1, len(boxes))):
                    await s.set_value(box, True)
            number = [w for w in s.widgets("text_input") if w.label.startswith("Your answer")]
            if number:
                await s.set_value(number[0], str(random.choice([1, 2, 4, 8, 16, 42, 1000])))
            await s.click(send[0])
        try:
            await s.wait_for(lambda x: self._acknowledged(x) or any("Time is up" in t or "not counted" in t
                                                                    for t in x.texts()), 60, "the ack")
            if self._acknowledged(s) and seq not in self.acknowledged:
                self.acknowledged.add(seq)
                self.results.count(self.results.acknowledged, seq)
        except TimeoutError:
            self.results.errors.append(f"{self.name}: no acknowledgement for question {seq}")

    @staticmethod
    async def _move_one(s: Session) -> None:
        """Press one enabled ↑ or ↓ of an ordering question, and wait until the list is drawn in its new order (each
        press reruns the page, as a tap does; the order lives in the session, so Send answers the new one)."""
        arrows = [w for w in s.widgets("button") if w.label in ("↑", "↓") and not w.disabled]
        if not arrows:
            return
        before = [t for t in s.texts() if re.match(r"\*\*\d+\.\*\* ", t)]
        await s.click(random.choice(arrows))
        try:
            await s.wait_for(lambda x: [t for t in x.texts() if re.match(r"\*\*\d+\.\*\* ", t)] != before, 30,
                             "the list in its new order")
        except TimeoutError:
            pass                                         # sent in the old order: still an answer

    @staticmethod
    def _acknowledged(s: Session) -> bool:
        """The page repeats the answer back: "Your answer is in", or, once the presenter revealed it (the quiz
        reveals as soon as everyone answered), "Right: you answered …" / "Not right: you answered …"."""
        return any(t.startswith(("Your answer is in", "Right: you answered", "Not right: you answered"))
                   for t in s.texts())

    async def _rank(self, s: Session, round_text: str, radios) -> None:
        await asyncio.sleep(random.uniform(1.0, 8.0))
        self.ranked_round = round_text
        texts = s.texts()
        self.completions = tuple(texts[i + 1] for i, t in enumerate(texts[:-1])
                                 if re.fullmatch(r"\*\*Completion [A-Z]\*\*", t))
        ranks = [str(r) for r in random.sample(range(1, len(radios) + 1), len(radios))]   # a full ranking
        if random.random() < 0.2:
            ranks[-1] = "F"                              # and now and then a completion that fails
        for radio, rank in zip(radios, ranks):           # each choice reruns the round's fragment, as a tap does
            await s.set_value(radio, rank)
        try:                                             # the pairs and the Save button come with the last rank
            await s.wait_for(lambda x: bool(x.widgets("button", "Save my ranking")), 30, "the Save button")
        except TimeoutError:
            pass                                         # the page refused this random ranking (it says why)
        save = s.widgets("button", "Save my ranking")
        if not save or save[0].disabled:
            self.results.rankings_refused += 1
            self.results.rankings_done += 1
            if os.environ.get("SOAK_DEBUG"):
                print(self.name, "no Save:", s.describe(), [w.value for w in s.widgets("radio")], flush=True)
            return
        self.results.rankings_sent += 1
        await s.click(save[0])
        try:
            await s.wait_for(lambda x: any(t.startswith("Saved for") for t in x.texts()), 60, "the saved ranking")
            self.results.rankings_acknowledged += 1
        except TimeoutError:
            self.results.errors.append(f"{self.name}: no acknowledgement for the ranking")
            if os.environ.get("SOAK_DEBUG"):
                print(self.name, "no ack:", s.describe(),
                      [(w.label, w.value, w.disabled) for w in s.widgets("button")][:5],
                      [t[:60] for t in s.texts() if "aved" in t or "round" in t], flush=True)
        finally:
            self.results.rankings_done += 1


# ------------------------------------------------------------------------------------------------------- presenter

async def present(url: str, results: Results, participants: list[Participant], tasks: list, stop: asyncio.Event,
                  args, store) -> None:
    """The presenter's browser: opens the room, lets everyone join, walks `args.lessons` lessons, runs
    `args.questions` questions on their own, a labeling round (`args.labeling`), then leaves the room idle until
    the time is up."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page, _ = await open_room(browser, url, results)
        code = results.code
        print(f"room {code}: {args.participants} participants joining", flush=True)
        witness_task = asyncio.create_task(witness(browser, url, code, results, args.labeling))
        await admit(participants, tasks, stop, results)
        await walk_lessons(page, results, [s.id for s in SECTIONS[:args.lessons]])
        await run_quiz(page, store, code, args.questions, results)
        if args.labeling:
            await labeling_round(page, results)
        await idle_until_the_end(results, args.minutes, stop, page, browser, witness_task)


async def settle(page) -> None:
    await page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")


async def open_room(browser, url: str, results: Results, key: str = KEY):
    """(page, the replica that served it) of a presenter's tab that unlocked the console and opened a room; the
    room's code goes to `results.code`."""
    page = await (await browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
    page.set_default_timeout(180_000)
    page.on("pageerror", lambda exc: results.errors.append(f"presenter page error: {exc}"))
    response = await page.goto(f"{url}/presenter-console")
    replica = (response.headers.get(REPLICA_HEADER.lower()) or "").split(",")[-1].strip() or None
    await page.get_by_label("Presenter key").fill(key)
    await page.get_by_role("button", name="Unlock").click()
    await page.get_by_role("button", name="Open a new room").click()
    await page.get_by_text("joined").first.wait_for()
    await page.get_by_text("room=").first.wait_for()
    await settle(page)
    results.code = re.search(r"room=([A-Z0-9]{5})", await page.inner_text("body")).group(1)
    return page, replica


async def admit(participants: list[Participant], tasks: list, stop: asyncio.Event, results: Results,
                timeout: float = 240) -> None:
    """Start every participant (ten a second: a room arrives over a minute or so, not in one instant) and wait
    until each has joined or failed to."""
    for i, participant in enumerate(participants):
        participant.code = results.code
        tasks.append(asyncio.create_task(participant.run(stop)))
        if i % 10 == 9:
            await asyncio.sleep(1.0)
    deadline = time.monotonic() + timeout
    while results.joined + len(results.join_failures) < len(participants) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    results.joined_at = time.monotonic() - results.started
    print(f"{results.joined} joined, {len(results.join_failures)} failed to join "
          f"({time.monotonic() - results.started:.0f} s)", flush=True)


async def walk_lessons(page, results: Results, follow: list[str], timeout: float = 90) -> None:
    """The presenter starts with the first lesson of `follow` and clicks on through the others, each once every
    participant saw it (or `timeout` s)."""
    async def everyone_saw(section: str) -> None:
        end = time.monotonic() + timeout
        while len(results.seen_titles.get(section, [])) < results.joined and time.monotonic() < end:
            await asyncio.sleep(0.5)

    await settle(page)
    # Stamped before the click: under load a participant's page may show the lesson before the click returns here
    # (one event loop runs the presenter and the participants), and a sight before the stamp would not count.
    results.moves[follow[0]] = time.monotonic()
    await page.get_by_role("link", name=re.compile("Start with lesson 1")).click()
    await page.locator("h1", has_text=TITLES[follow[0]]).wait_for()
    await everyone_saw(follow[0])
    for section in follow[1:]:
        await settle(page)
        results.moves[section] = time.monotonic()
        await page.get_by_role("button", name="Next lesson ▶").click()
        await page.locator("h1", has_text=TITLES[section]).wait_for()
        await everyone_saw(section)
    print(f"followed {len(follow)} lessons ({time.monotonic() - results.started:.0f} s)", flush=True)


async def open_live_quiz_tab(page) -> None:
    await page.get_by_role("link", name="Presenter console").click()
    await page.locator("h1", has_text="Presenter console").wait_for()
    await settle(page)
    await page.get_by_role("tab", name="Live quiz").click()


async def run_quiz(page, store, code: str, questions: int, results: Results) -> None:
    """`questions` live questions of the last lesson's section, revealed and advanced by the self-running quiz."""
    await open_live_quiz_tab(page)
    await page.get_by_text("Run the quiz on its own").click()
    await settle(page)
    await page.get_by_role("button", name="Launch question").click()
    end = time.monotonic() + 600
    while time.monotonic() < end:
        asked = store.questions(code)
        if len(asked) >= questions and asked[-1].revealed:
            break
        await asyncio.sleep(1)
    await page.get_by_text("Run the quiz on its own").click()        # stop before the section's next one
    await settle(page)
    print(f"{len(store.questions(code))} questions asked ({time.monotonic() - results.started:.0f} s)", flush=True)


async def labeling_round(page, results: Results, timeout: float = 180) -> None:
    """One labeling round on page 9: the presenter samples three answers and hands them to the room, and closes
    the round once everyone is done with it (or `timeout` s)."""
    await settle(page)
    title = page.locator("h1", has_text=TITLES["rlhf"])
    if not await title.count():                      # (a soak that watched a training run there is on it already)
        results.moves["rlhf"] = time.monotonic()     # before the click, as in walk_lessons
        await page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="9. RLHF").click()
        await title.wait_for()
        await settle(page)
    await page.get_by_text("Sample 3 completions").click()
    launch = page.get_by_role("button", name="Launch a round with these answers")
    await launch.wait_for()
    while await launch.is_disabled():
        await asyncio.sleep(0.5)
    await settle(page)
    await launch.click()
    end = time.monotonic() + timeout
    while time.monotonic() < end and results.rankings_done < results.joined:
        await asyncio.sleep(1)
    await asyncio.sleep(5)
    await page.get_by_role("button", name="Close the round").click()
    print(f"labeling round: {results.rankings_acknowledged} rankings acknowledged "
          f"({time.monotonic() - results.started:.0f} s)", flush=True)


async def witness(browser, url: str, code: str, results: Results, labeling: bool) -> None:
    """One participant in a real browser among the simulated ones: joins, and ranks the labeling round; what it
    sees is the check that the simulated participants' experience is what a browser gets under the same load."""
    page = await (await browser.new_context(viewport={"width": 1200, "height": 900})).new_page()
    page.set_default_timeout(240_000)
    page.on("pageerror", lambda exc: results.errors.append(f"witness page error: {exc}"))
    try:
        await page.goto(f"{url}/live-quiz?room={code}")
        main = page.locator("[data-testid=stMain]")
        await main.get_by_label("Nickname").fill("Witness")
        await main.get_by_role("button", name="Join").click()
        await page.get_by_text("you are Witness", exact=False).first.wait_for()
        results.witness["joined"] = True
        if not labeling:
            return
        await page.get_by_text("from the presenter", exact=False).first.wait_for(timeout=900_000)
        started = time.monotonic()
        groups = page.get_by_role("radiogroup")
        for group, choice in zip(await groups.all(), ("1", "2", "3")):
            await group.get_by_text(choice, exact=True).click()
        save = page.get_by_role("button", name="Save my ranking")
        await save.wait_for()
        await save.click()
        await page.get_by_text("Saved for Witness", exact=False).wait_for(timeout=120_000)
        results.witness["ranking saved and shown after s"] = round(time.monotonic() - started, 1)
    except Exception as exc:                             # noqa: BLE001 — reported
        results.witness["failed"] = f"{type(exc).__name__}: {str(exc)[:200]}"


async def idle_until_the_end(results: Results, minutes: float, stop: asyncio.Event, page, browser,
                             witness_task) -> None:
    """The rest of the session: a lecture, the room's heartbeats ticking; then the presenter's page is checked."""
    while time.monotonic() - results.started < minutes * 60:
        await asyncio.sleep(1)
    stop.set()
    witness_task.cancel()
    boxes = await page.locator("[data-testid=stException]").count()
    if boxes:
        results.errors.append(f"the presenter's page shows {boxes} exception box(es)")
    await browser.close()


async def sample(pid: int, results: Results, stop: asyncio.Event, every: float, into: list | None = None) -> None:
    """Every `every` s until `stop` (or the process is gone): the server's open files, threads, RSS and CPU time,
    into `results.samples` (or `into`)."""
    process = psutil.Process(pid)
    samples = results.samples if into is None else into
    while True:
        try:
            cpu = process.cpu_times()
            samples.append({"t": round(time.monotonic() - results.started), "files": process.num_fds(),
                                    "threads": process.num_threads(), "rss_mb": round(process.memory_info().rss / 1e6),
                                    "cpu_s": cpu.user + cpu.system})
        except psutil.Error:
            return
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass


# -------------------------------------------------------------------------------------------------------- the run

def postgres_url() -> tuple[str, object]:
    """(URL, cleanup) of a fresh schema on GENAI_LAB_TEST_POSTGRES_URL or a throwaway cluster."""
    import uuid

    import psycopg

    from tests.core.conftest import _start_cluster, _with_search_path
    server = os.environ.get("GENAI_LAB_TEST_POSTGRES_URL")
    cluster = None
    if not server:
        cluster = _start_cluster()
        server = next(cluster)
    schema = f"soak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def cleanup():
        if cluster is not None:
            cluster.close()
    return _with_search_path(server, schema), cleanup


async def soak(args) -> dict:
    from core.labs.rlhf.labels import Labels
    from core.storage.database import open_database
    from core.workshop.rooms import Rooms

    results = Results()
    folder = Path(tempfile.mkdtemp(prefix="genai-lab-soak-"))
    cleanup = None
    if args.database == "postgres":
        db_url, cleanup = postgres_url()
        env = {"GENAI_LAB_DATABASE_URL": db_url}
    else:
        db_url = "sqlite:///" + str(folder / "soak.db")
        env = {"GENAI_LAB_DB": str(folder / "soak.db"), "GENAI_LAB_DATABASE_URL": None}
    env.update({"GENAI_LAB_PRESENTER_KEY": KEY, "GENAI_LAB_CACHE": str(ROOT / ".cache" / "test-models")})
    proc_out: list = []
    log_name = f"room-soak-{args.participants}-{args.database}.log"
    with streamlit_server(log_name, env, open_files=args.open_files, proc_out=proc_out,
                          root=Path(args.root), entry=args.entry) as url:
        db = open_database(db_url)
        store = Rooms(db)
        stop = asyncio.Event()
        participants = [Participant(i + 1, url, "", results) for i in range(args.participants)]
        tasks: list = []
        sampler = asyncio.create_task(sample(proc_out[0].pid, results, stop, args.sample_every))
        try:
            await present(url, results, participants, tasks, stop, args, store)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await sampler
        code = results.code
        stored = {q.seq: len(store.answers(code, q.seq)) for q in store.questions(code)} if code else {}
        labels = len(Labels(db).rows(room=code)) if code else 0
        db.close()
    log_path = Path(args.root) / ".cache" / log_name
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    if cleanup:
        cleanup()
    latencies = [seen - results.moves[s] for s, sights in results.seen_titles.items() if s in results.moves
                 for seen in sights if seen >= results.moves[s]]
    duration = time.monotonic() - results.started
    warm = [x for x in results.samples if x["t"] >= results.joined_at + 30] or results.samples[-1:]
    report = {
        "participants": args.participants, "database": args.database, "open_file_limit": args.open_files,
        "joined": results.joined, "join_failures": results.join_failures[:5],
        "questions": {seq: {"seen": results.seen_questions.get(seq, 0), "answered": results.answered.get(seq, 0),
                            "acknowledged": results.acknowledged.get(seq, 0), "stored": stored.get(seq, 0)}
                      for seq in sorted(set(stored) | set(results.answered))},
        "follow_me_s": {"n": len(latencies), "median": round(statistics.median(latencies), 2) if latencies else None,
                        "p95": round(percentile(latencies, 0.95), 2) if latencies else None,
                        "max": round(max(latencies), 2) if latencies else None},
        "witness (a real browser among them)": results.witness,
        "labeling": {"sent": results.rankings_sent, "acknowledged": results.rankings_acknowledged, "stored": labels,
                     "refused by the page (random ranks)": results.rankings_refused},
        "script_runs_per_s": round(results.runs / duration, 1),
        "cpu_share (server, this simulator; of the machine's cores)": (
            round((results.samples[-1]["cpu_s"] - results.samples[0]["cpu_s"]) / duration / psutil.cpu_count(), 2)
            if len(results.samples) > 1 else None,
            round(sum(psutil.Process().cpu_times()[:2]) / duration / psutil.cpu_count(), 2)),
        "after warm-up (min, max)": {k: (min(x[k] for x in warm), max(x[k] for x in warm)) if warm else None
                                     for k in ("files", "threads", "rss_mb")},
        "samples (t s: open files, threads, RSS MB)": [f"{x['t']}: {x['files']}, {x['threads']}, {x['rss_mb']}"
                                                       for x in results.samples],
        "client_errors": results.errors[:20], "client_error_count": len(results.errors),
        "server_log_errors": [line for line in log_text.splitlines()
                              if " ERROR " in line or "Traceback" in line or "out of system resource" in line][:20],
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--open-files", type=int, default=1024)
    parser.add_argument("--sample-every", type=float, default=30.0)
    parser.add_argument("--lessons", type=int, default=4, help="lessons the presenter walks through")
    parser.add_argument("--questions", type=int, default=5, help="live questions (the self-running quiz)")
    parser.add_argument("--no-labeling", dest="labeling", action="store_false", help="skip the labeling round")
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (default: this one)")
    parser.add_argument("--entry", default="server.py", help="the script `streamlit run` starts")
    args = parser.parse_args()
    report = asyncio.run(soak(args))
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
