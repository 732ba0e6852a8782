"""Live workshops: rooms with a join code, participants, the presenter's position, live questions and points.

Pure logic on top of the workshop's repositories over the app's database (core/workshop/rooms.py and
presenter_sessions.py); the Streamlit views live in components/.
Every check that protects the data happens here, not in the UI:
- join codes use an alphabet without look-alikes (no 0/O, 1/I/L) and are compared case-insensitively;
- nicknames are trimmed, limited to 24 visible characters, never blank-looking, and unique per room ignoring case,
  width and look-alike letters (NFKC, case folding and a confusables skeleton: "Аda" in Cyrillic is "Ada");
- a participant's device keeps a seat token (only its hash is stored), so a reload returns them to their seat;
- an answer counts once, and only while the question is open (server time, small grace for the network);
- presenter keys are compared in constant time, refused when weak, and guessing them is slowed down (Backoff);
- the presenter's console cookie is signed with the server's secret and names a session the database can revoke.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.storage.database import AlreadyExists, Database
from core.workshop.presenter_sessions import PresenterSessions
from core.workshop.quiz import LATE_GRACE_S, Question, live_points
from core.workshop.rooms import LiveQuestion, Room, Rooms

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L
CODE_LENGTH = 5
ROOM_HOURS = 8.0
NICKNAME_MAX = 24
TIME_LIMITS = (10, 15, 20, 30, 45, 60, 90, 120)   # seconds; "run the demo" questions need the long ones
MAX_PARTICIPANTS = 300                            # joins per room: a lecture hall, not a denial of service
REMOVED = "The presenter removed you from this room."


class WorkshopError(ValueError):
    """A participant or presenter action that cannot be done; the message is shown as is."""


# ---------------------------------------------------------------- presenter key

PRESENTER_KEY_ENV = "GENAI_LAB_PRESENTER_KEY"


def presenter_key_setting(environ, secrets) -> str | None:
    """The configured presenter key: the environment variable, else `presenter_key` in the secrets (Streamlit's
    st.secrets, .streamlit/secrets.toml); None when neither is set. Whether it is acceptable: presenter_key_problem."""
    key = str(environ.get(PRESENTER_KEY_ENV, "") or "").strip()
    if key:
        return key
    try:
        value = secrets.get("presenter_key")
    except Exception:       # noqa: BLE001 — Streamlit raises when there is no secrets file at all
        return None
    return str(value).strip() if value and str(value).strip() else None


MIN_KEY_CHARS = 12
# Keys that appear in this project's own files and docs: anyone who read them could unlock a console.
EXAMPLE_KEYS = frozenset({"change-me-to-a-long-random-phrase", "a long random phrase"})


def presenter_key_problem(key: str | None) -> str | None:
    """Why a configured presenter key is refused (one sentence), or None when it is acceptable."""
    if key is None:
        return None
    if " ".join(key.split()).casefold() in EXAMPLE_KEYS:
        return "it is the example key from this project's files, which anyone can read."
    if len(key) < MIN_KEY_CHARS:
        return f"it has {len(key)} characters; a presenter key needs at least {MIN_KEY_CHARS}."
    return None


def presenter_key_matches(given: str | None, configured: str | None) -> bool:
    """True only when a key is configured and the given one equals it (constant-time comparison)."""
    if not configured or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8"))


PRESENTER_TOKEN_HOURS = ROOM_HOURS


def _key_fingerprint(configured: str) -> str:
    return hashlib.sha256(f"presenter-key|{configured}".encode("utf-8")).hexdigest()[:16]


def session_hash(session: str) -> str:
    """What the database keeps of a console session id (the id itself only ever lives in the presenter's cookie)."""
    return hashlib.sha256(f"presenter-session|{session}".encode("utf-8")).hexdigest()


def presenter_token(secret: str, configured: str, room: str, session: str, now: float,
                    hours: float = PRESENTER_TOKEN_HOURS) -> str:
    """A token a presenter's browser keeps (a cookie) so a reload keeps the console unlocked and on its room:
    "ROOM.EXPIRY.SESSION.SIGNATURE", signed (HMAC-SHA256) with the server's own secret, never with the presenter
    key: a stolen cookie gives nothing to guess the key from offline. The signature also covers a fingerprint of the
    key, so every token stops working when the key changes; SESSION is a random id the database can revoke ("Lock
    console")."""
    payload = f"{room or '-'}.{int(now + hours * 3600)}.{session}"
    signature = hmac.new(secret.encode("utf-8"), f"presenter|{payload}|{_key_fingerprint(configured)}".encode("utf-8"),
                         hashlib.sha256)
    return f"{payload}.{signature.hexdigest()}"


def read_presenter_token(token: object, secret: str | None, configured: str | None,
                         now: float) -> tuple[str, str] | None:
    """(room, session) of a valid, unexpired token ('' for a presenter without a room), or None. Whether the session
    was revoked is the database's to say (PresenterSessions.live)."""
    if not secret or not configured or not isinstance(token, str) or token.count(".") != 3:
        return None
    room, expiry, session, signature = token.split(".")
    expected = hmac.new(secret.encode("utf-8"),
                        f"presenter|{room}.{expiry}.{session}|{_key_fingerprint(configured)}".encode("utf-8"),
                        hashlib.sha256)
    if not hmac.compare_digest(signature.encode("utf-8"), expected.hexdigest().encode("utf-8")):
        return None
    if not expiry.isdigit() or int(expiry) <= now or not session:
        return None
    return ("" if room == "-" else room), session


class Backoff:
    """Slows down guessing: after FREE failed attempts from one source (a browser, an address), each further attempt
    must wait twice as long as the last (1, 2, 4 … seconds, at most MAX_WAIT_S). A success clears the source.
    Thread-safe; `clock` is injectable for tests."""

    FREE = 3
    MAX_WAIT_S = 300.0

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}      # source -> (failures, time of the last)
        self._lock = threading.Lock()

    def wait_s(self, *sources: str) -> float:
        """Seconds before any of these sources may try again (0 when they may now)."""
        now, longest = self.clock(), 0.0
        with self._lock:
            for source in sources:
                count, last = self._failures.get(source, (0, 0.0))
                if count >= self.FREE:
                    longest = max(longest, last + min(2.0 ** (count - self.FREE), self.MAX_WAIT_S) - now)
        return max(0.0, longest)

    def failed(self, *sources: str) -> None:
        now = self.clock()
        with self._lock:
            for source in sources:
                self._failures[source] = (self._failures.get(source, (0, 0.0))[0] + 1, now)
            if len(self._failures) > 10_000:           # forget the oldest sources rather than grow for ever
                for source, _ in sorted(self._failures.items(), key=lambda kv: kv[1][1])[:5_000]:
                    del self._failures[source]

    def succeeded(self, *sources: str) -> None:
        with self._lock:
            for source in sources:
                self._failures.pop(source, None)


# ---------------------------------------------------------------- codes and nicknames

def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(text: Any) -> str:
    """What the participant typed → a code to look up ('abc-de 2' → 'ABCDE2'); raises for impossible codes."""
    if not isinstance(text, str) or not text.strip():
        raise WorkshopError("Type the room code shown on the presenter's screen.")
    code = "".join(ch for ch in text.upper() if not ch.isspace() and ch != "-")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise WorkshopError(f"“{text.strip()[:20]}” is not a room code: codes have {CODE_LENGTH} letters and digits, "
                            "e.g. K7MPQ.")
    return code


# Characters that draw nothing (or a blank box) although Unicode calls them letters or symbols: a nickname made of
# them, or ending in one, looks empty or like someone else's on the projector.
BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5\u034f\u2028\u2029")

# Latin look-alikes from Unicode's confusables list (confusables.txt) for the scripts people actually mix into
# Latin names: Cyrillic and Greek lowercase (case folding runs first), plus a few Latin letters of other shapes.
# NFKC already maps fullwidth, mathematical and superscript forms.
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k", "ԛ": "q", "о": "o",
    "р": "p", "с": "c", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԝ": "w", "ӏ": "l", "м": "m", "н": "h",
    "п": "n", "г": "r", "ь": "b", "ѵ": "v", "ү": "y", "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c", "ϳ": "j", "ς": "c", "ζ": "z", "σ": "o",
    # Latin and symbols
    "ı": "i", "ȷ": "j", "ℓ": "l", "ſ": "s", "ꭵ": "i", "ɑ": "a", "0": "o", "1": "l", "|": "l",
}


def clean_nickname(text: Any) -> str:
    """A safe display name; raises with a clear message for empty, blank-looking, too long or control-character
    names."""
    if not isinstance(text, str):
        raise WorkshopError("Choose a nickname.")
    name = unicodedata.normalize("NFC", " ".join(text.split()))
    if not name:
        raise WorkshopError("Choose a nickname.")
    if len(name) > NICKNAME_MAX:
        raise WorkshopError(f"Nicknames can have at most {NICKNAME_MAX} characters (this one has {len(name)}).")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        raise WorkshopError("Nicknames cannot contain invisible or control characters.")
    if any(ch in BLANK_LOOKALIKES for ch in name):
        raise WorkshopError("Nicknames cannot contain characters that show as blank space.")
    if not any(unicodedata.category(ch)[0] in "LNS" for ch in name):
        raise WorkshopError("Choose a nickname with at least one letter, digit or symbol.")
    return name


def nickname_key(name: str) -> str:
    """What two nicknames must not share in one room: "Ada", "ada", "Ａda" (fullwidth), "Аda" (Cyrillic А) and
    "Ada" with a combining accent dropped all give "ada"."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(CONFUSABLES.get(ch, ch) for ch in text if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", " ".join(text.split()))


def seat_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- rooms

@dataclass(frozen=True)
class AnswerResult:
    correct: bool
    points: int
    elapsed: float


@dataclass(frozen=True)
class Pulse:
    """A room as a page needs it to decide whether to redraw: cheap to read, equal while nothing changed."""
    room: Room
    question: LiveQuestion | None     # the current (latest) live question, if any
    participants: int
    answers: int                      # answers to the current question


# ---------------------------------------------------------------- a quiz that runs itself

AUTO_PAUSE_S = 12.0      # how long the answer and the leaderboard stay up before the next question


def auto_action(phase: str, question: LiveQuestion | None, answered: int, joined: int, now: float,
                revealed_at: float | None, pause_s: float = AUTO_PAUSE_S) -> str:
    """What a self-running quiz does next: "reveal" once everyone in the room has answered or the time (with the
    network grace) is up; "next" once the revealed answer has been up for `pause_s` seconds; otherwise "wait".
    `revealed_at`: when this question was revealed (None while unknown: the pause then starts now)."""
    if phase != "question" or question is None:
        return "wait"
    if not question.revealed:
        everyone = joined > 0 and answered >= joined
        return "reveal" if everyone or now > question.started_at + question.time_limit + LATE_GRACE_S else "wait"
    return "next" if revealed_at is not None and now - revealed_at >= pause_s else "wait"


def next_question_id(section_ids: list[str], asked: set[str], current: str | None = None) -> str | None:
    """The first question of the section not asked yet, starting after the current one (then from the top)."""
    start = section_ids.index(current) + 1 if current in section_ids else 0
    for qid in section_ids[start:] + section_ids[:start]:
        if qid not in asked:
            return qid
    return None


class Workshop:
    """Room operations for presenters and participants, over one database: `rooms` (rooms, seats, live questions and
    answers) and `sessions` (presenter console sessions). `clock` is injectable for tests."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time):
        self.rooms, self.sessions, self.clock = Rooms(db), PresenterSessions(db), clock

    # presenter
    def open_room(self, section: str = "", hours: float = ROOM_HOURS) -> Room:
        for _ in range(20):
            try:
                return self.rooms.create_room(new_code(), self.clock() + hours * 3600, section)
            except AlreadyExists:
                continue
        raise WorkshopError("Could not find a free room code; try again.")

    def live_room(self, code: str) -> Room:
        """The open room for a code; raises WorkshopError for unknown or expired codes."""
        room = self.rooms.room(normalize_code(code))
        if room is None:
            raise WorkshopError(f"There is no room {normalize_code(code)}. Check the code on the presenter's screen.")
        if room.expires_at <= self.clock():
            raise WorkshopError(f"Room {room.code} has expired. Ask the presenter for the new code.")
        return room

    def pulse(self, code: str) -> Pulse:
        """Room, current question and the two counts, in four small reads (raises WorkshopError like live_room)."""
        room = self.live_room(code)
        current = self.rooms.current_question(room.code)
        answers = len(self.rooms.answers(room.code, current.seq)) if current is not None else 0
        return Pulse(room, current, len(self.rooms.participants(room.code)), answers)

    def go_to(self, code: str, section: str) -> Room:
        """The presenter opens a lesson: followers move there. A question still open keeps the room in the quiz (the
        presenter may show a demo while people answer); once it is revealed, or after the podium, opening a lesson
        ends the quiz moment, so followers see the lesson instead of the last answer."""
        room = self.live_room(code)
        current = self.rooms.current_question(room.code)
        done = room.phase == "podium" or (room.phase == "question" and (current is None or current.revealed))
        return self.rooms.update_room(code, section=section, phase="lobby" if done else None)

    def launch(self, code: str, question: Question, time_limit: float) -> LiveQuestion:
        if not 5 <= time_limit <= 300:
            raise WorkshopError("The time limit must be between 5 and 300 seconds.")
        self.live_room(code)
        return self.rooms.start_question(code, question.id, question.section, float(time_limit))

    def reveal(self, code: str) -> LiveQuestion | None:
        current = self.rooms.current_question(code)
        if current is not None and not current.revealed:
            self.rooms.reveal(code, current.seq)
        return self.rooms.current_question(code)

    def finish(self, code: str) -> Room:
        self.reveal(code)
        return self.rooms.update_room(code, phase="podium")

    def back_to_lesson(self, code: str) -> Room:
        return self.rooms.update_room(code, phase="lobby")

    # participants
    def join(self, code: str, nickname: str, seat: str | None = None) -> tuple[Room, str]:
        room, name, _ = self.take_seat(code, nickname, seat)
        return room, name

    def take_seat(self, code: str, nickname: str, seat: str | None = None) -> tuple[Room, str, str]:
        """Join a room -> (room, nickname as stored, seat token for this device to keep).

        `seat` is the token this device already holds (the browser's id cookie in the app): with it, a device that
        already has a seat in the room gets that seat back whatever it typed, and a nickname already in the room
        (ignoring case, width and look-alike letters) is refused unless this device holds it. Someone the presenter
        removed cannot come back; a room takes at most MAX_PARTICIPANTS."""
        room = self.live_room(code)
        name = clean_nickname(nickname)
        if seat:
            held = self.rooms.participant_by_seat(room.code, seat_hash(seat))
            if held is not None:
                if held.removed:
                    raise WorkshopError(REMOVED)
                return room, held.nickname, seat
        key = nickname_key(name)
        taken = self.rooms.participant(room.code, key)
        if taken is None:
            if len(self.rooms.participants(room.code)) >= MAX_PARTICIPANTS:
                raise WorkshopError(f"Room {room.code} is full ({MAX_PARTICIPANTS} participants). Ask the presenter "
                                    "to open a second room.")
            token = seat or secrets.token_urlsafe(18)
            try:
                self.rooms.add_participant(room.code, name, key, seat_hash(token))
                return room, name, token
            except AlreadyExists:          # someone took it a moment ago
                taken = self.rooms.participant(room.code, key)
        holder = taken.nickname if taken is not None else name
        raise WorkshopError(f"Someone in room {room.code} is already called “{holder}”. Pick another nickname.")

    def rejoin(self, code: str, seat: str) -> tuple[Room, str] | None:
        """The room and nickname this seat token holds, or None (unknown token, removed, or the room is gone)."""
        if not isinstance(seat, str) or not seat:
            return None
        try:
            room = self.live_room(code)
        except WorkshopError:
            return None
        held = self.rooms.participant_by_seat(room.code, seat_hash(seat))
        return (room, held.nickname) if held is not None and not held.removed else None

    def remove(self, code: str, nickname: str) -> bool:
        """The presenter removes a participant (an offensive nickname, someone who left): their answers leave the
        leaderboard, their device loses its seat, and the nickname stays taken."""
        self.live_room(code)
        return self.rooms.remove_participant(code, nickname_key(nickname))

    def seconds_left(self, question: LiveQuestion) -> float:
        return max(0.0, question.started_at + question.time_limit - self.clock())

    def is_open(self, question: LiveQuestion) -> bool:
        return not question.revealed and self.clock() <= question.started_at + question.time_limit + LATE_GRACE_S

    def answer(self, code: str, seq: int, nickname: str, question: Question, response: Any) -> AnswerResult:
        """Record one answer. Raises WorkshopError if the question is closed, already answered, or not the current
        one."""
        room = self.live_room(code)
        current = self.rooms.current_question(room.code)
        if current is None or current.seq != seq or current.question_id != question.id:
            raise WorkshopError("This question is no longer open.")
        key = nickname_key(nickname)
        seated = self.rooms.participant(room.code, key)
        if seated is None:
            raise WorkshopError("Join the room before answering.")
        if seated.removed:
            raise WorkshopError(REMOVED)
        elapsed = self.clock() - current.started_at
        if not self.is_open(current):
            raise WorkshopError("Time is up: this answer was not counted.")
        correct = question.is_correct(response)
        points = live_points(correct, elapsed, current.time_limit)
        try:
            self.rooms.add_answer(room.code, seq, nickname, key, response, correct, elapsed, points)
        except AlreadyExists:
            raise WorkshopError("You already answered this question; only your first answer counts.") from None
        return AnswerResult(correct, points, round(elapsed, 3))
