"""Shared test set-up: where the captured Asterisk transcripts live."""
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = FIXTURES / "asterisk-captures"


@pytest.fixture(scope="session")
def captures() -> Path:
    return CAPTURES


@pytest.fixture(scope="session")
def postgres_cluster():
    """A private PostgreSQL cluster for the whole session (unix socket only, fsync off).

    Fails, never skips, when the server binaries are missing: scripts/test installs them.
    """
    from tests.pg import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster) -> str:
    """SQLAlchemy URL of the private cluster's `postgres` database."""
    return postgres_cluster.url
