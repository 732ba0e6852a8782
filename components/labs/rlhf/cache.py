"""Streamlit caches for page 9, RLHF: the shipped pairs' MiniLM vectors and sampled completions, shared by every
session (a room labelling the same prompt reads the same completions, generated once for the whole deployment: the
database keeps the first replica's samples, core/labs/rlhf/completions.py); the preference labels and the room's
labeling rounds over the app's database (StoreError re-exported for the views that catch it).

Only files named cache.py use st.cache_data / st.cache_resource (tests/test_layering.py checks it)."""
from __future__ import annotations

import numpy as np
import streamlit as st
import yaml

from components.common.cache import StoreError, database, labels, model_service  # noqa: F401  (re-exported)
from core.labs.rlhf.completions import SampledCompletions
from core.labs.rlhf.labels import Labels
from core.storage.database import database_url
from core.workshop.rounds import LabelingRounds

TEMPERATURES = (0.3, 0.7, 1.0, 1.2)       # completions differ in seed and temperature, as the deck's step 1 asks


@st.cache_data(show_spinner=False)
def prompts() -> list[str]:
    from core.labs.rlhf.reward import DATA
    return list(yaml.safe_load((DATA / "prompts.yaml").read_text(encoding="utf-8"))["prompts"])


@st.cache_data(show_spinner=False)
def pair_vectors():
    """(pairs, chosen vectors, rejected vectors) for the shipped preference set."""
    from core.labs.rlhf.reward import shipped_pairs, text_of
    pairs = shipped_pairs()
    service = model_service()
    chosen = service.embed([text_of(p.prompt, p.chosen) for p in pairs])
    rejected = service.embed([text_of(p.prompt, p.rejected) for p in pairs])
    return pairs, chosen, rejected


@st.cache_data(show_spinner=False, max_entries=256)
def vectors(texts: tuple[str, ...]):
    return model_service().embed(list(texts))


def sampled() -> SampledCompletions:
    """The deployment's sampled completions over the app's database (raises StoreError)."""
    return SampledCompletions(database())


@st.cache_data(show_spinner=False, max_entries=64)
def completions(prompt: str, n: int, max_new_tokens: int = 60) -> list[tuple[str, float, int]]:
    """n sampled replies to `prompt` as (text, temperature, seed), the same on every replica: the stored ones when a
    replica sampled this prompt before, else sampled here (submitted together so the service batches them) and
    stored unless another replica was first. Without the database, sampled here and kept by this process only."""
    service = model_service()
    model = service.registry.default_decoder
    try:
        store = sampled()
        stored = store.get(model, prompt, n, max_new_tokens)
    except StoreError:
        store, stored = None, None
    if stored is not None:
        return stored
    samples = _sample(service, prompt, n, max_new_tokens)
    if store is None:
        return samples
    try:
        return store.keep(model, prompt, n, max_new_tokens, samples)
    except StoreError:
        return samples


def _sample(service, prompt: str, n: int, max_new_tokens: int) -> list[tuple[str, float, int]]:
    from core.serving.sampling import SamplingSettings
    settings = [SamplingSettings(temperature=TEMPERATURES[i % len(TEMPERATURES)], top_p=0.95, seed=1000 + i,
                                 max_new_tokens=max_new_tokens) for i in range(n)]
    streams = [service.generate([{"role": "user", "content": prompt}], s) for s in settings]
    return [(stream.collect().text.strip(), s.temperature, s.seed) for stream, s in zip(streams, settings)]


@st.cache_data(show_spinner=False)
def toxicity_classifier():
    """The toxicity classifier trained on the shipped sentences (MiniLM vectors + logistic regression)."""
    from core.labs.rlhf import toxicity
    shipped = toxicity.sentences()
    vectors = model_service().embed([s.text for s in shipped])
    toxic = np.array([s.toxic for s in shipped], dtype=float)
    train = [i for i, s in enumerate(shipped) if s.split == "train"]
    test = [i for i, s in enumerate(shipped) if s.split == "test"]
    return toxicity.train(vectors[train], toxic[train], vectors[test], toxic[test])


def rounds() -> LabelingRounds:
    """The workshop's labeling rounds over the app's database (raises StoreError when it cannot be opened)."""
    return LabelingRounds(database())


@st.cache_data(show_spinner=False, ttl=1.0, max_entries=256)
def _round(url: str, room: str):
    return LabelingRounds(database(url)).current(room)


def room_round(room: str):
    """The room's latest labeling round (a LabelingRound, or None), shared by every session for one second: a room
    of 100 whose round panels refresh every 3 s costs one read a second, not 33 (raises StoreError)."""
    return _round(database_url(), room)


def round_changed() -> None:
    """After the presenter opens or closes a round: every panel shows it at once, not a second later."""
    _round.clear()


@st.cache_data(show_spinner=False, ttl=1.0, max_entries=256)
def _room_labels(url: str, room: str | None) -> list[dict]:
    return Labels(database(url)).rows(room=room)


def room_labels(room: str | None) -> list[dict]:
    """Every ranking saved in `room` (None: on the whole server), shared for one second like `room_round`."""
    return _room_labels(database_url(), room)


def labels_changed() -> None:
    """After a save: everyone's distribution counts the new ranking from now."""
    _room_labels.clear()
