"""The simulator's sound table: Asterisk's language fallback, the prompt catalogue, and a
sounds directory of real files (a prompt exists exactly when its file does)."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest
from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.sounds import (CatalogueError, build_sounds, language_chain, lookup,
                                      read_catalogue, spoken_seconds)

FIXTURE = Path(__file__).parent / "fixtures" / "prompts.yaml"


def write_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\0\0" * int(seconds * rate))


def test_language_chain_is_asterisks_fileexists_order():
    assert language_chain("zh_CN") == ["zh_CN", "zh", "", "en"]
    assert language_chain("en") == ["en", ""]
    assert language_chain("") == ["", "en"]


def test_lookup_prefers_the_language_then_no_language_then_english():
    table = {"zh/welcome": 10, "welcome": 20, "en/bye": 30}
    assert lookup(table, "welcome", "zh_CN") == 10
    assert lookup(table, "welcome", "en") == 20
    assert lookup(table, "bye", "zh") == 30
    assert lookup(table, "nothing", "zh") is None


def test_catalogue_gives_each_language_a_prompt_with_a_length_from_its_text():
    table = build_sounds(catalogue=FIXTURE)
    texts = read_catalogue(FIXTURE)
    assert set(texts) == {"welcome", "main-menu", "goodbye"}
    for name, by_language in texts.items():
        for language, text in by_language.items():
            assert table[f"{language}/{name}"] == int(spoken_seconds(text, language) * 8000)
    assert table["zh/main-menu"] > table["zh/goodbye"]
    assert "beep" in table                       # Asterisk's own sounds stay


def test_catalogue_in_the_wrong_shape_is_a_clear_error(tmp_path):
    bad = tmp_path / "prompts.yaml"
    bad.write_text("prompts:\n  welcome: just a string\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="welcome"):
        read_catalogue(bad)


def test_sounds_directory_lengths_come_from_the_files_and_only_those_exist(tmp_path):
    write_wav(tmp_path / "zh" / "welcome.wav", 2.5)
    write_wav(tmp_path / "en" / "welcome.wav", 1.5, rate=16000)
    table = build_sounds(catalogue=FIXTURE, directory=tmp_path)
    assert table["zh/welcome"] == 20000 and table["en/welcome"] == 12000
    assert "zh/goodbye" not in table             # in the catalogue, not on disk


def test_a_pbx_plays_the_file_of_the_callers_language(tmp_path):
    write_wav(tmp_path / "zh" / "welcome.wav", 2.5)
    write_wav(tmp_path / "en" / "welcome.wav", 1.5)
    dialplan = Dialplan.from_text("[in]\nexten => s,1,Answer()\n same => n,Playback(welcome)\n"
                                  " same => n,Hangup()\n")
    ends = {}
    for language in ("zh", "en"):
        clock = Clock()
        pbx = PBX(dialplan, reactor=clock, sounds=build_sounds(directory=tmp_path), event_latency=0)
        handle = pbx.place_call("13800000003", "in", "s")
        handle.channel.language = language
        clock.advance(0)
        clock.pump([0.05] * 100)
        ends[language] = handle.ended_at
    assert ends == {"zh": pytest.approx(2.5, abs=0.06), "en": pytest.approx(1.5, abs=0.06)}
