"""Presenter console sessions and the server's secret over the database (SQLite and PostgreSQL)."""
from core.workshop.presenter_sessions import PresenterSessions


def test_the_server_secret_is_made_once_and_kept(open_db):
    first = PresenterSessions(open_db()).server_secret()
    assert len(first) == 64 and PresenterSessions(open_db()).server_secret() == first


def test_presenter_sessions_expire_and_can_be_revoked(db):
    sessions = PresenterSessions(db)
    sessions.open("h1", expires_at=2000.0)
    assert sessions.live("h1", now=1000.0)
    assert not sessions.live("h1", now=2000.0)
    assert not sessions.live("unknown", now=1000.0)
    sessions.revoke("h1")
    assert not sessions.live("h1", now=1000.0)
