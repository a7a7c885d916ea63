"""Our own ``dialplan/`` files load as Asterisk would load them, and every literal Goto lands."""
from pathlib import Path

import pytest

from cti.pbxsim.dialplan import Dialplan

DIALPLAN_DIR = Path(__file__).parents[2] / "dialplan"


@pytest.fixture(scope="module")
def ours() -> Dialplan:
    files = sorted(DIALPLAN_DIR.glob("*.conf"))
    assert files, f"no dialplan files in {DIALPLAN_DIR}"
    return Dialplan.from_files(files)


def test_loads_without_anything_the_simulator_would_skip(ours):
    assert ours.notes == []


def test_the_call_path_contexts_of_the_architecture_exist(ours):
    for context in ("cti-inbound", "cti-wait", "cti-connect"):
        assert ours.find(context, "s", 1) is not None, context


def test_every_literal_goto_target_exists(ours):
    assert ours.check_targets() == []
