"""Lengths of the prompts the simulator knows, in 8 kHz samples (``endpos`` of STREAM FILE).

A prompt that is not in the table does not exist: ``Playback`` sets ``PLAYBACKSTATUS=FAILED``
and ``STREAM FILE`` answers ``200 result=-1 endpos=0``, as Asterisk does for a missing file.
The two measured lengths (``beep``, ``queue-periodic-announce``) come from the captures; the
others are the typical length of Asterisk's core sounds.

Names are looked up as Asterisk's ``fileexists_core`` does for a channel language ``zh_CN``:
``zh_CN/<name>``, ``zh/<name>``, ``<name>`` (no language), then ``en/<name>`` (the default
language). The table can be filled from the prompt catalogue (``prompts: {name: {zh: text,
en: text}}``: a length estimated from the text, under ``<lang>/<name>``) or from a sounds
directory laid out as Asterisk's (``<dir>/<lang>/<name>.wav``: the length read from the file),
so that a prompt exists in the simulator exactly when it exists on disk.
"""
from __future__ import annotations

import os
import wave
from pathlib import Path
from typing import Mapping

import yaml

RATE = 8000
DEFAULT_LANGUAGE = "en"

_DIGIT_FILES = [*(str(n) for n in range(21)), *(str(n) for n in range(30, 100, 10)),
                "hundred", "thousand", "million", "billion", "minus", "star", "pound",
                "wan", "yi", "at", "oclock", "a-m", "p-m", "today", "yesterday"]
_LETTER_FILES = [*"abcdefghijklmnopqrstuvwxyz", "at", "dash", "dot", "equals", "plus", "slash",
                 "space", "dollar", "exclaimation-point"]
_DAY_FILES = [f"day-{n}" for n in range(7)]
_MONTH_FILES = [f"mon-{n}" for n in range(12)]

DEFAULT_SOUNDS: dict[str, int] = {
    "beep": 3404,
    "queue-periodic-announce": 62699,
    "ss-noservice": 24000,
    "pls-hold-while-try": 16000,
    "queue-thankyou": 12000,
    "queue-youarenext": 10000,
    "queue-thereare": 8000,
    "queue-callswaiting": 12000,
    "queue-holdtime": 12000,
    "queue-minutes": 6000,
    "queue-callback": 24000,
    "vm-goodbye": 6000,
    "agent-loginok": 8000,
    "agent-loggedoff": 8000,
    "agent-pass": 8000,
    "agent-incorrect": 9600,
    "auth-thankyou": 6400,
    "auth-incorrect": 9600,
    "invalid": 9600,
    "goodbye": 5600,
    # ctid's built-in one-menu IVR (cti/domain/ivr.py): a real install ships this file; GET
    # DATA of a missing prompt fails (result=-1), as on Asterisk
    "cti/menu": 32000,
    "silence/1": 8000,
    **{f"silence/{n}": n * RATE for n in range(2, 11)},
    **{f"digits/{name}": 4000 for name in _DIGIT_FILES},
    **{f"digits/{name}": 5600 for name in _DAY_FILES + _MONTH_FILES},
    **{f"letters/{name}": 4000 for name in _LETTER_FILES},
}

#: bytes per 8 kHz sample of the raw formats (WAV and GSM are measured otherwise)
SOUND_EXTENSIONS = {".wav": None, ".sln": 2, ".ulaw": 1, ".alaw": 1, ".gsm": None, ".g722": 1}


def language_chain(language: str | None) -> list[str]:
    """The languages ``fileexists_core`` tries, in order ("" = no language directory)."""
    chain: list[str] = []
    lang = (language or "").strip()
    while lang:
        chain.append(lang)
        if "_" not in lang:
            break
        lang = lang.rsplit("_", 1)[0]
    chain.append("")
    if DEFAULT_LANGUAGE not in chain:
        chain.append(DEFAULT_LANGUAGE)
    return chain


def lookup(table: Mapping[str, int], name: str, language: str | None = None) -> int | None:
    """Samples of the file ``name`` plays for a channel in ``language``, None if none exists."""
    name = name.strip().strip('"')
    if not name:
        return None
    if name.startswith("/"):
        return table.get(name)
    for lang in language_chain(language):
        samples = table.get(f"{lang}/{name}" if lang else name)
        if samples is not None:
            return samples
    return None


class CatalogueError(ValueError):
    """The prompt catalogue is not ``prompts: {name: {lang: text}}``."""


def read_catalogue(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """``{name: {lang: text}}`` from a prompt catalogue file (YAML)."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    prompts = data.get("prompts") if isinstance(data, dict) else None
    if not isinstance(prompts, dict):
        raise CatalogueError(f"{path}: expected a mapping 'prompts: {{name: {{zh: ..., en: ...}}}}'")
    catalogue: dict[str, dict[str, str]] = {}
    for name, texts in prompts.items():
        if not isinstance(texts, dict) or not all(isinstance(t, str) for t in texts.values()):
            raise CatalogueError(f"{path}: prompt {name!r}: expected {{language: text}}")
        catalogue[str(name)] = {str(lang): text for lang, text in texts.items()}
    return catalogue


def spoken_seconds(text: str, language: str) -> float:
    """How long a synthesised ``text`` takes: ~3 Chinese characters or ~3.5 English words a
    second (what espeak-ng's default rate gives), half a second of lead-in and tail."""
    if language.startswith("zh"):
        units = sum(1 for ch in text if not ch.isspace() and ch not in "，。、？！：；,.?!:;")
        return 0.5 + units / 3.0
    return 0.5 + len(text.split()) / 3.5


def catalogue_sounds(catalogue: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
    """``<lang>/<name>`` → estimated samples, for every prompt and language of the catalogue."""
    return {f"{lang}/{name}": int(spoken_seconds(text, lang) * RATE)
            for name, texts in catalogue.items() for lang, text in texts.items()}


def file_samples(path: Path) -> int:
    """Length of a sound file in 8 kHz samples (WAV: from its header, at any rate)."""
    suffix = path.suffix.lower()
    if suffix == ".wav":
        with wave.open(str(path), "rb") as wav:
            return int(wav.getnframes() * RATE / wav.getframerate())
    size = path.stat().st_size
    if suffix == ".gsm":
        return size // 33 * 160
    return size // (SOUND_EXTENSIONS.get(suffix) or 1)


def directory_sounds(directory: str | os.PathLike) -> dict[str, int]:
    """``<lang>/<name>`` (or ``<name>``) → samples, for every sound file under ``directory``."""
    root = Path(directory)
    table: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in SOUND_EXTENSIONS:
            key = path.relative_to(root).with_suffix("").as_posix()
            table.setdefault(key, file_samples(path))
    return table


def build_sounds(*, catalogue=None, directory: str | os.PathLike | None = None,
                 base: Mapping[str, int] = DEFAULT_SOUNDS) -> dict[str, int]:
    """The sound table of a PBX: ``base``, then the sounds directory if given (files as they
    are on disk), else the prompts of ``catalogue`` (one path or several) with estimated
    lengths."""
    table = dict(base)
    if directory is not None:
        table.update(directory_sounds(directory))
    elif catalogue is not None:
        paths = [catalogue] if isinstance(catalogue, (str, os.PathLike)) else list(catalogue)
        for path in paths:
            table.update(catalogue_sounds(read_catalogue(path)))
    return table
