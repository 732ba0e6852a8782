"""Live workshops: rooms with a join code, participants, the presenter's position, live questions and points.

Pure logic on top of a core.workshop.store.Store; the Streamlit views live in components/.
Every check that protects the data happens here, not in the UI:
- join codes use an alphabet without look-alikes (no 0/O, 1/I/L) and are compared case-insensitively;
- nicknames are trimmed, limited to 24 visible characters, and unique per room ignoring case;
- an answer counts once, and only while the question is open (server time, small grace for the network);
- presenter keys are compared in constant time.
"""
from __future__ import annotations

import hmac
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

from core.workshop.quiz import LATE_GRACE_S, Question, live_points
from core.workshop.store import AlreadyExists, LiveQuestion, Room, Store

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L
CODE_LENGTH = 5
ROOM_HOURS = 8.0
NICKNAME_MAX = 24
TIME_LIMITS = (10, 15, 20, 30, 45, 60, 90, 120)   # seconds; "run the demo" questions need the long ones


class WorkshopError(ValueError):
    """A participant or presenter action that cannot be done; the message is shown as is."""


# ---------------------------------------------------------------- presenter key

def presenter_key_matches(given: str | None, configured: str | None) -> bool:
    """True only when a key is configured and the given one equals it (constant-time comparison)."""
    if not configured or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8"))


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


def clean_nickname(text: Any) -> str:
    """A safe display name; raises with a clear message for empty, too long or control-character names."""
    if not isinstance(text, str):
        raise WorkshopError("Choose a nickname.")
    name = unicodedata.normalize("NFC", " ".join(text.split()))
    if not name:
        raise WorkshopError("Choose a nickname.")
    if len(name) > NICKNAME_MAX:
        raise WorkshopError(f"Nicknames can have at most {NICKNAME_MAX} characters (this one has {len(name)}).")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        raise WorkshopError("Nicknames cannot contain invisible or control characters.")
    return name


def nickname_key(name: str) -> str:
    return name.casefold()


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


class Workshop:
    """Room operations for presenters and participants. `clock` is injectable for tests."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store, self.clock = store, clock

    # presenter
    def open_room(self, section: str = "", hours: float = ROOM_HOURS) -> Room:
        for _ in range(20):
            try:
                return self.store.create_room(new_code(), self.clock() + hours * 3600, section)
            except AlreadyExists:
                continue
        raise WorkshopError("Could not find a free room code; try again.")

    def live_room(self, code: str) -> Room:
        """The open room for a code; raises WorkshopError for unknown or expired codes."""
        room = self.store.room(normalize_code(code))
        if room is None:
            raise WorkshopError(f"There is no room {normalize_code(code)}. Check the code on the presenter's screen.")
        if room.expires_at <= self.clock():
            raise WorkshopError(f"Room {room.code} has expired. Ask the presenter for the new code.")
        return room

    def pulse(self, code: str) -> Pulse:
        """Room, current question and the two counts, in four small reads (raises WorkshopError like live_room)."""
        room = self.live_room(code)
        current = self.store.current_question(room.code)
        answers = len(self.store.answers(room.code, current.seq)) if current is not None else 0
        return Pulse(room, current, len(self.store.participants(room.code)), answers)

    def go_to(self, code: str, section: str) -> Room:
        self.live_room(code)
        return self.store.update_room(code, section=section)

    def launch(self, code: str, question: Question, time_limit: float) -> LiveQuestion:
        if not 5 <= time_limit <= 300:
            raise WorkshopError("The time limit must be between 5 and 300 seconds.")
        self.live_room(code)
        return self.store.start_question(code, question.id, question.section, float(time_limit))

    def reveal(self, code: str) -> LiveQuestion | None:
        current = self.store.current_question(code)
        if current is not None and not current.revealed:
            self.store.reveal(code, current.seq)
        return self.store.current_question(code)

    def finish(self, code: str) -> Room:
        self.reveal(code)
        return self.store.update_room(code, phase="podium")

    def back_to_lesson(self, code: str) -> Room:
        return self.store.update_room(code, phase="lobby")

    # participants
    def join(self, code: str, nickname: str) -> tuple[Room, str]:
        room = self.live_room(code)
        name = clean_nickname(nickname)
        try:
            self.store.add_participant(room.code, name, nickname_key(name))
        except AlreadyExists:
            raise WorkshopError(f"Someone in room {room.code} is already called “{name}”. Pick another nickname.") from None
        return room, name

    def seconds_left(self, question: LiveQuestion) -> float:
        return max(0.0, question.started_at + question.time_limit - self.clock())

    def is_open(self, question: LiveQuestion) -> bool:
        return not question.revealed and self.clock() <= question.started_at + question.time_limit + LATE_GRACE_S

    def answer(self, code: str, seq: int, nickname: str, question: Question, response: Any) -> AnswerResult:
        """Record one answer. Raises WorkshopError if the question is closed, already answered, or not the current one."""
        room = self.live_room(code)
        current = self.store.current_question(room.code)
        if current is None or current.seq != seq or current.question_id != question.id:
            raise WorkshopError("This question is no longer open.")
        key = nickname_key(nickname)
        if key not in {nickname_key(n) for n in self.store.participants(room.code)}:
            raise WorkshopError("Join the room before answering.")
        elapsed = self.clock() - current.started_at
        if not self.is_open(current):
            raise WorkshopError("Time is up: this answer was not counted.")
        correct = question.is_correct(response)
        points = live_points(correct, elapsed, current.time_limit)
        try:
            self.store.add_answer(room.code, seq, nickname, key, response, correct, elapsed, points)
        except AlreadyExists:
            raise WorkshopError("You already answered this question; only your first answer counts.") from None
        return AnswerResult(correct, points, round(elapsed, 3))
