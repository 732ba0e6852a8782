"""Streamlit caches for every page (the shared model service, the lesson files, chat prompts), the objects of
which a server process must have exactly one (the training queue, the database's connection pool), and the
repositories over that database that pages of every kind read (course progress, quiz attempts, RLHF labels).
Views reach the database only through these accessors (and the workshop's and labs' cache.py); StoreError is
re-exported here for the views that catch it.

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import functools
import threading

import streamlit as st

from components.common import errors
from core.labs.rlhf.labels import Labels
from core.lessons import Section, lesson_text, load_sections
from core.progress import Progress
from core.serving.jobs import Jobs
from core.serving.settings import Settings, enforce_offline_default
from core.storage.database import (
    Database,
    StoreError,  # noqa: F401  (re-exported for the views that catch it)
    database_url,
    open_database,
)
from core.timing import RateBook
from core.workshop.attempts import Attempts
from core.workshop.quiz import load_bank
from core.workshop.room_runs import PublishedRun, RoomRuns, RunPublisher, ViewMarks


def _release_service(service) -> None:
    """"Clear caches" (any viewer, from the app menu) drops the cached service: end its generation worker and
    free its models now, or they would stay in memory next to the new service's (~0.5 GB per clear)."""
    service.close()


@st.cache_resource(show_spinner=False, on_release=_release_service)
def model_service():
    from core.serving.model_service import ModelService

    enforce_offline_default()
    return ModelService(Settings.from_env())


def process_wide(factory):
    """One result per process and arguments, made once under a lock (a failure is not kept: the next call tries
    again). Not a Streamlit cache on purpose: clearing Streamlit's caches must not start a second training worker or
    a second pool of database connections beside the first."""
    made: dict = {}
    lock = threading.Lock()

    @functools.wraps(factory)
    def get(*args):
        with lock:
            if args not in made:
                made[args] = factory(*args)
            return made[args]

    get.made = made
    return get


@process_wide
def _open(url: str) -> Database:
    return open_database(url)


def database(url: str | None = None) -> Database:
    """The app's database (quiz attempts, workshop rooms, RLHF labels, course progress): one pool of connections per
    database URL, shared by every session. Without a URL, the one the settings name now (GENAI_LAB_DATABASE_URL,
    GENAI_LAB_DB), read on every call so tests can point elsewhere. Raises StoreError when it cannot be opened."""
    return _open(url or database_url())


def progress() -> Progress:
    """This app's course progress (the lessons opened and demos tried, per browser)."""
    return Progress(database())


def attempts() -> Attempts:
    """This app's self-paced quiz attempts (the quiz, and the home page's course map)."""
    return Attempts(database())


def labels() -> Labels:
    """This app's RLHF preference labels (page 9, and the home page's count of a learner's rankings)."""
    return Labels(database())


@process_wide
def jobs():
    """The server's one training queue, shared by every lab that trains (page 7's race and adapters, page 9's policy
    update, page 10's distillation): training is the heaviest thing the app does, so a room of 30 pressing "Start"
    gets one run and 29 queue positions, not 30 runs fighting for two cores."""
    return Jobs(max_queued=6, workers=1, stale_after_s=90.0)


def room_runs() -> RoomRuns:
    """The workshop rooms' published training runs over the app's database (raises StoreError)."""
    return RoomRuns(database())


@process_wide
def run_publisher() -> RunPublisher:
    """The listener of this process's room runs: writes them to the database for the other replicas (its own thread;
    the database is looked up at each write, so a failure is retried, never raised into the run)."""
    return RunPublisher(room_runs)


@process_wide
def run_views() -> ViewMarks:
    """Followers' views of runs executed on other replicas, written at most every 10 s per run from this process."""
    return ViewMarks(room_runs)


@st.cache_resource(show_spinner=False, ttl=1.0, max_entries=256)
def _room_run(url: str, room: str, kind: str) -> PublishedRun | None:
    return RoomRuns(database(url)).newest(room, kind)


def room_run(room: str, kind: str) -> PublishedRun | None:
    """The room's newest published run of `kind`, shared by every session of this process for a second (a
    resource cache: its pickled progress is decoded once, not once per session). Raises StoreError."""
    return _room_run(database_url(), room, kind)


@st.cache_resource(show_spinner=False, ttl=2.0, max_entries=256)
def _room_finished(url: str, room: str, kind: str) -> tuple[PublishedRun, ...]:
    return tuple(RoomRuns(database(url)).finished(room, kind))


def room_finished_runs(room: str, kind: str) -> tuple[PublishedRun, ...]:
    """The room's finished published runs of `kind`, oldest first, shared for two seconds. Raises StoreError."""
    return _room_finished(database_url(), room, kind)


def model_service_or_none():
    """The service, or None after showing why it could not start (bad registry, missing package, no GPU)."""
    try:
        return model_service()
    except Exception as exc:
        errors.show("The model service could not start", exc)
        return None


@st.cache_data(show_spinner=False)
def sections() -> list[Section]:
    return load_sections()


@st.cache_resource(show_spinner=False, ttl=30)
def question_bank():
    """The quiz questions (lessons/quiz/*.yaml). A short TTL lets an instructor edit them and see it within half a
    minute."""

    return load_bank(section_ids=[s.id for s in sections()])


@st.cache_data(show_spinner=False, ttl=10)
def lesson(section: Section) -> str:
    # A short TTL lets an instructor edit a lesson file and see it on the next rerun.
    return lesson_text(section)


@st.cache_data(show_spinner=False, max_entries=256)
def chat_ids(messages: tuple[tuple[str, str], ...], model: str) -> tuple[int, ...]:
    """Token ids of the templated chat prompt; `messages` as (role, content) pairs so they can be hashed."""
    return tuple(model_service().chat_ids([{"role": r, "content": c} for r, c in messages], model))


@st.cache_data(show_spinner=False, max_entries=256)
def chat_prompt_text(messages: tuple[tuple[str, str], ...], model: str) -> str:
    return model_service().chat_prompt([{"role": r, "content": c} for r, c in messages], model)


@st.cache_resource(show_spinner=False)
def rate_book():
    """How long each kind of model work took on this server (core/timing.py), for honest estimates."""
    return RateBook()
