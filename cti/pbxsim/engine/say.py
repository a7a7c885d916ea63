"""Which sound files Asterisk's say functions play (``main/say.c``), by language.

Pure: text in, a list of file names out; the applications and AGI commands play the list.
English follows ``get_number_str_en``, Chinese ``ast_say_number_full_zh`` (with its ``wan`` /
``yi`` units and the ``0`` it inserts for a skipped place), digits ``ast_get_digit_str`` and
characters ``ast_get_character_str``.
"""
from __future__ import annotations

import time

_CHARACTER_FILES = {
    "*": "digits/star", "#": "digits/pound", "!": "letters/exclaimation-point", "@": "letters/at",
    "$": "letters/dollar", "-": "letters/dash", ".": "letters/dot", "=": "letters/equals",
    "+": "letters/plus", "/": "letters/slash", " ": "letters/space",
}
_DIGIT_FILES = {"*": "digits/star", "#": "digits/pound", "-": "digits/minus"}


def digit_files(text: str) -> list[str]:
    """``SayDigits``: one file per digit; characters that are not digits, ``*#-`` are skipped."""
    files = []
    for ch in text:
        if ch.isdigit() and ch.isascii():
            files.append(f"digits/{ch}")
        elif ch in _DIGIT_FILES:
            files.append(_DIGIT_FILES[ch])
    return files


def character_files(text: str) -> list[str]:
    """``SayAlpha``: letters (lower-case files), digits and the named punctuation."""
    files = []
    for ch in text:
        if ch in _CHARACTER_FILES:
            files.append(_CHARACTER_FILES[ch])
        elif ch.isdigit() and ch.isascii():
            files.append(f"digits/{ch}")
        elif ch.isascii() and ch.isalpha():
            files.append(f"letters/{ch.lower()}")
        else:
            files.append(f"letters/ascii{ord(ch)}")
    return files


def number_files(num: int, language: str = "en") -> list[str]:
    """``SayNumber``: the files for ``num`` in ``language`` (zh, else English rules)."""
    if language.split("_")[0] == "zh":
        return _number_zh(num)
    return _number_en(num)


def _number_en(num: int) -> list[str]:
    if num == 0:
        return ["digits/0"]
    files: list[str] = []
    if num < 0:
        files.append("digits/minus")
        num = -num
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if num >= size:
            files += _number_en(num // size) + [f"digits/{word}"]
            num %= size
    if num >= 100:
        files += [f"digits/{num // 100}", "digits/hundred"]
        num %= 100
    if num >= 20:
        files.append(f"digits/{num // 10 * 10}")
        num %= 10
    if num:
        files.append(f"digits/{num}")
    return files


def _number_zh(num: int) -> list[str]:
    """A port of ``ast_say_number_full_zh``'s loop, zero insertion included."""
    if num == 0:
        return ["digits/0"]
    files: list[str] = []
    playh = playt = playz = False
    last_length = 0
    while num or playh or playt or playz:
        if num < 0:
            files.append("digits/minus")
            num = -num
        elif playz:
            files.append("digits/0")
            last_length, playz = 0, False
        elif playh:
            files.append("digits/hundred")
            playh = False
        elif playt:
            files.append("digits/thousand")
            playt = False
        elif num < 10:
            if last_length - len(str(num)) > 1 and last_length != 0:
                last_length, playz = len(str(num)), True
                continue
            files.append(f"digits/{num}")
            num = 0
        elif num < 100:
            if last_length - len(str(num)) > 1 and last_length != 0:
                last_length, playz = len(str(num)), True
                continue
            last_length = len(str(num))
            files.append(f"digits/{num // 10 * 10}")
            num %= 10
        elif num < 1000:
            if last_length - len(str(num)) > 1 and last_length != 0:
                last_length, playz = len(str(num)), True
                continue
            files.append(f"digits/{num // 100}")
            playh = True
            last_length = len(str(num))
            num %= 100
        elif num < 10000:
            files.append(f"digits/{num // 1000}")
            playt = True
            last_length = len(str(num))
            num %= 1000
        elif num < 100_000_000:
            files += _number_zh(num // 10000)
            last_length = len(str(num))
            num %= 10000
            files.append("digits/wan")
        elif num < 1_000_000_000:
            files += _number_zh(num // 100_000_000)
            last_length = len(str(num))
            num %= 100_000_000
            files.append("digits/yi")
        else:
            raise ValueError(f"number {num} is too big to say in Chinese")
    return files


def unixtime_files(epoch: float, language: str = "en", tz_offset_s: int = 8 * 3600) -> list[str]:
    """``SayUnixTime`` with its default format: English ``ABdY 'digits/at' IMp`` (weekday,
    month, day, year, at, hour, minute, am/pm); Chinese ``YBdA 'digits/at' HM`` order."""
    t = time.gmtime(epoch + tz_offset_s)
    weekday = f"digits/day-{(t.tm_wday + 1) % 7}"     # day-0 is Sunday
    month = f"digits/mon-{t.tm_mon - 1}"
    if language.split("_")[0] == "zh":
        return (number_files(t.tm_year, language) + [month] + number_files(t.tm_mday, language)
                + [weekday, "digits/at"] + number_files(t.tm_hour, language)
                + number_files(t.tm_min, language))
    hour = t.tm_hour % 12 or 12
    files = [weekday, month] + _number_en(t.tm_mday) + _number_en(t.tm_year) + ["digits/at"]
    files += _number_en(hour)
    if t.tm_min:
        files += (["digits/0"] if t.tm_min < 10 else []) + _number_en(t.tm_min)
    files.append("digits/p-m" if t.tm_hour >= 12 else "digits/a-m")
    return files
