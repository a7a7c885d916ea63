"""The E1/PRI templates: DAHDI's system.conf and chan_dahdi.conf describe the same span.

chan_dahdi opens the channels its ``channel =>`` lists; DAHDI must have configured them from
system.conf first, with the D channel a PRI needs. A template that lists B channels DAHDI does
not know, or a PRI with no D channel, loads nothing on a real card.
"""
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "asterisk_conf"


def channel_set(spec: str) -> set[int]:
    """``1-15,17-31`` -> {1..15, 17..31}."""
    channels: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        channels.update(range(int(first), int(last or first) + 1))
    return channels


def system_conf() -> dict[str, list[str]]:
    """DAHDI's system.conf: ``key=value`` lines, ``#`` comments, keys may repeat."""
    settings: dict[str, list[str]] = {}
    for line in (CONF / "system.conf").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def chan_dahdi_channels() -> tuple[dict[str, str], set[int]]:
    """chan_dahdi.conf's [channels]: the settings in force and the channels it opens."""
    settings: dict[str, str] = {}
    channels: set[int] = set()
    section = None
    for line in (CONF / "chan_dahdi.conf").read_text(encoding="utf-8").splitlines():
        line = line.split(";", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "channels" and "=" in line:
            key, _, value = line.partition("=")
            if key.strip() == "channel":
                channels |= channel_set(value.lstrip(">"))
            else:
                settings[key.strip()] = value.strip()
    return settings, channels


def test_system_conf_ships_beside_chan_dahdi_conf():
    assert (CONF / "system.conf").is_file()


def test_one_e1_span_with_its_d_channel_on_timeslot_16():
    conf = system_conf()
    span = conf["span"][0].split(",")
    assert span[0] == "1" and span[3:6] == ["ccs", "hdb3", "crc4"]
    assert channel_set(conf["dchan"][0]) == {16}
    bchan = channel_set(conf["bchan"][0])
    assert bchan | {16} == set(range(1, 32)) and 16 not in bchan
    assert channel_set(conf["alaw"][0]) == set(range(1, 32))


def test_chan_dahdi_opens_exactly_the_b_channels_dahdi_configures():
    settings, channels = chan_dahdi_channels()
    assert settings["signalling"].startswith("pri_")
    assert channels == channel_set(system_conf()["bchan"][0])


def test_echo_cancellation_asked_of_chan_dahdi_has_a_canceller_in_dahdi():
    settings, channels = chan_dahdi_channels()
    assert settings["echocancel"] == "yes"
    name, _, spec = system_conf()["echocanceller"][0].partition(",")
    assert name and channels <= channel_set(spec)
