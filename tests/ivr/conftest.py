"""The storage tests' databases (a migrated SQLite file, and PostgreSQL) for the IVR's store."""
from tests.storage.conftest import database, db_url, engine, pg_test_url, sqlite_template  # noqa: F401
