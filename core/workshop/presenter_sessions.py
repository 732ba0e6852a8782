"""Presenter console sessions over the app's database, and the server's own secret that signs their cookies.

A console session is named by a random id that only the presenter's cookie holds; the database keeps its SHA-256
(core.workshop.workshop.session_hash), when it expires, and whether "Lock console" revoked it. The secret is made once
per database and kept in it, so every replica on one database signs cookies alike.
"""
from __future__ import annotations

import secrets
import time

from core.storage.database import Database


class PresenterSessions:
    """The tables presenter_sessions and server_settings."""

    def __init__(self, db: Database):
        self.db = db

    def server_secret(self) -> str:
        """A random secret made once for this database and kept in it (every replica reads the same one)."""
        rows = self.db.read("SELECT value FROM server_settings WHERE name = 'secret'")
        if rows:
            return rows[0]["value"]
        try:
            with self.db.write() as conn:
                conn.execute("INSERT INTO server_settings (name, value) VALUES ('secret', ?)", (secrets.token_hex(32),))
        except self.db.integrity_error:
            pass                    # another replica made it first: read theirs
        return self.db.read("SELECT value FROM server_settings WHERE name = 'secret'")[0]["value"]

    def open(self, id_hash: str, expires_at: float) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO presenter_sessions (id_hash, created_at, expires_at) VALUES (?, ?, ?)",
                         (id_hash, time.time(), expires_at))

    def live(self, id_hash: str, now: float) -> bool:
        """Whether the session exists, has not expired at `now` and was not revoked."""
        rows = self.db.read("SELECT expires_at, revoked_at FROM presenter_sessions WHERE id_hash = ?", (id_hash,))
        return bool(rows) and rows[0]["revoked_at"] is None and float(rows[0]["expires_at"]) > now

    def revoke(self, id_hash: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE presenter_sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL",
                         (time.time(), id_hash))
