"""Which files the say functions play (main/say.c), in English and Chinese."""
from __future__ import annotations

import calendar

import pytest

from cti.pbxsim.engine.say import character_files, digit_files, number_files, unixtime_files


def names(files):
    return [f.split("/", 1)[1] for f in files]


@pytest.mark.parametrize("number, spoken", [
    (0, ["0"]), (7, ["7"]), (15, ["15"]), (42, ["40", "2"]), (100, ["1", "hundred"]),
    (1234, ["1", "thousand", "2", "hundred", "30", "4"]),
    (2000000, ["2", "million"]), (-5, ["minus", "5"]),
    (1_000_000_001, ["1", "billion", "1"]),
])
def test_english_numbers(number, spoken):
    assert names(number_files(number, "en")) == spoken


@pytest.mark.parametrize("number, spoken", [
    (0, ["0"]), (12, ["10", "2"]), (100, ["1", "hundred"]), (105, ["1", "hundred", "0", "5"]),
    (1005, ["1", "thousand", "0", "5"]), (10086, ["1", "wan", "0", "80", "6"]),
    (25000, ["2", "wan", "5", "thousand"]), (2026, ["2", "thousand", "0", "20", "6"]), (300_000_000, ["3", "yi"]), (-8, ["minus", "8"]),
])
def test_chinese_numbers_with_wan_yi_and_the_zero_for_a_skipped_place(number, spoken):
    assert names(number_files(number, "zh_CN")) == spoken


def test_digits_and_characters():
    assert digit_files("1*0#-9x") == ["digits/1", "digits/star", "digits/0", "digits/pound",
                                      "digits/minus", "digits/9"]
    assert character_files("Ab1 @.") == ["letters/a", "letters/b", "digits/1", "letters/space",
                                         "letters/at", "letters/dot"]


def test_unixtime_default_formats():
    # Wednesday 2026-12-02 14:05 in UTC+8
    epoch = calendar.timegm((2026, 12, 2, 6, 5, 0))
    assert names(unixtime_files(epoch, "en")) == [
        "day-3", "mon-11", "2", "2", "thousand", "20", "6", "at", "2", "0", "5", "p-m"]
    assert names(unixtime_files(epoch, "zh")) == [
        "2", "thousand", "0", "20", "6", "mon-11", "2", "day-3", "at", "10", "4", "5"]
