"""Our Asterisk configuration, read as Asterisk reads it, checked against Asterisk 22: the
dialplan's targets, applications, modules, sounds and channel variables, and the options of
chan_dahdi.conf, pjsip.conf and manager.conf. New contexts, files and prompts are picked up
without touching this test."""
from __future__ import annotations

from pathlib import Path

import pytest

from cti.domain import channel_vars
from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.prompts import read_catalogues

from . import conf_check as cc

ASTERISK_FILES = sorted(p for p in cc.CONF_DIR.glob("*.conf") if p.name != "system.conf")
DIALPLAN_FILES = sorted(cc.DIALPLAN_DIR.glob("*.conf"))


@pytest.fixture(scope="module")
def etc_asterisk(tmp_path_factory) -> Path:
    """/etc/asterisk as an install lays it out: our asterisk_conf/ files, dialplan/ as ctid/."""
    etc = tmp_path_factory.mktemp("etc-asterisk")
    for path in cc.CONF_DIR.iterdir():
        (etc / path.name).symlink_to(path)
    (etc / "ctid").symlink_to(cc.DIALPLAN_DIR)
    return etc


@pytest.fixture(scope="module")
def dialplan(etc_asterisk) -> Dialplan:
    return Dialplan.from_files([etc_asterisk / "extensions.conf"], config_dir=etc_asterisk)


@pytest.mark.parametrize("path", ASTERISK_FILES + DIALPLAN_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_file_parses_as_asterisk_config(path):
    assert cc.read_config(path), f"{path} has no section"


def test_every_dialplan_file_is_included_by_extensions_conf(dialplan):
    loaded = {Path(step.source.rsplit(":", 1)[0]).name for _, _, step in cc.steps(dialplan)}
    assert {p.name for p in DIALPLAN_FILES} <= loaded


def test_every_goto_gosub_dial_target_and_include_exists(dialplan):
    assert cc.target_problems(dialplan) == []


def test_every_application_exists_in_asterisk_and_its_module_is_loaded(dialplan):
    modules = cc.read_modules(cc.CONF_DIR / "modules.conf")
    assert cc.application_problems(dialplan, modules) == []


def test_every_sound_is_a_catalogue_prompt_or_a_core_sound(dialplan):
    prompts = set(read_catalogues(cc.CATALOGUES))
    assert cc.sound_problems(dialplan, prompts, cc.core_sounds()) == []


def test_every_channel_variable_ctid_reads_is_set_somewhere(dialplan):
    reads = cc.variables_ctid_reads(channel_vars)
    assert "CTI_TIER" in reads.values() and "CTI_TARGET" in reads.values()
    by_code = cc.code_sets(cc.ROOT / "cti", reads, skip=[cc.ROOT / "cti" / "pbxsim"])
    assert cc.variable_problems(reads, cc.dialplan_sets(dialplan), by_code) == []


@pytest.mark.parametrize("name", ["chan_dahdi.conf", "pjsip.conf", "manager.conf"])
def test_every_option_is_one_asterisk_knows(name):
    assert cc.option_problems(cc.CONF_DIR / name) == []
