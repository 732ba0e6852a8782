"""Who a browser is, across its tabs and reloads: a random id the server gives it once, in an HttpOnly cookie.

Quotas (one training run, one generation), self-paced quiz progress, RLHF labels and a workshop seat hang on this
id, never on a typed name (typing someone's name must not show or change their progress). The cookie value is a
secret like a password: the store and the queues only ever see its SHA-256 (`key_of`). The ASGI middleware that
sets it is web/identity.py; components/common/identity.py reads it in a script run.
"""
from __future__ import annotations

import hashlib
import re
import secrets

COOKIE = "genai_lab_id"
MAX_AGE_S = 400 * 24 * 3600          # browsers cap cookie lifetimes at 400 days
_VALID = re.compile(r"[A-Za-z0-9_-]{32,64}")


def new_value() -> str:
    """A fresh browser id: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def is_valid(value: object) -> bool:
    return isinstance(value, str) and _VALID.fullmatch(value) is not None


def key_of(value: str) -> str:
    """The id as stores and queues see it ("b-" and 32 hex digits); the cookie itself is never stored."""
    return "b-" + hashlib.sha256(f"genai-lab-browser|{value}".encode("utf-8")).hexdigest()[:32]
