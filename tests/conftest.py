"""Shared test set-up: where the captured Asterisk transcripts live."""
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = FIXTURES / "asterisk-captures"


@pytest.fixture(scope="session")
def captures() -> Path:
    return CAPTURES
