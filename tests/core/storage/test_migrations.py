"""The migrations: the SQLite text is exactly what shipped (existing databases count on it), PostgreSQL gets its own
type names, and the numbering only grows."""
from core.storage.migrations import MIGRATION_TEMPLATES, MIGRATIONS, SCHEMA_VERSION, migrations


def test_sqlite_migrations_are_unchanged_and_postgres_gets_its_own_types():
    assert MIGRATIONS == migrations("sqlite")
    assert "AUTOINCREMENT" in MIGRATIONS[0] and "REAL" in MIGRATIONS[1]
    pg = "".join(migrations("postgres"))
    assert "AUTOINCREMENT" not in pg and " REAL " not in pg and "DOUBLE PRECISION" in pg
    assert "BYTEA" in pg and "BLOB" not in pg and "BLOB" in MIGRATIONS[7]


def test_each_table_keeps_its_migration_number():
    created = {n + 1: template for n, template in enumerate(MIGRATION_TEMPLATES)}
    assert SCHEMA_VERSION == len(MIGRATION_TEMPLATES) == 8
    for number, table in [(1, "attempts"), (2, "rooms"), (2, "live_answers"), (4, "preference_labels"),
                          (5, "labeling_rounds"), (6, "presenter_sessions"), (7, "progress"),
                          (8, "room_runs"), (8, "sampled_completions")]:
        assert f"CREATE TABLE {table} (" in created[number], (number, table)
    assert "ADD COLUMN seat_hash" in created[3] and "ADD COLUMN removed" in created[6]
