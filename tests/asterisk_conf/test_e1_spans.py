"""The E1 templates: DAHDI's system.conf and chan_dahdi.conf describe the same spans.

chan_dahdi opens the channels its ``channel =>`` lists; DAHDI must have configured them from
system.conf first: the B channels with the D channel a PRI needs, the MTP2 link SS7 needs on
the ``sigchan``, the CAS channels MFC/R2 runs on. A span section that lists channels DAHDI
does not know, or of another span, loads nothing on a real card.
"""
from __future__ import annotations

from . import conf_check as cc


def channel_set(spec: str) -> set[int]:
    """``1-15,17-31`` -> {1..15, 17..31}; a ``cas=`` value's ``:1101`` is dropped."""
    channels: set[int] = set()
    for part in spec.split(":")[0].split(","):
        first, _, last = part.strip().partition("-")
        channels.update(range(int(first), int(last or first) + 1))
    return channels


def system_conf() -> dict[str, list[str]]:
    """DAHDI's system.conf: ``key=value`` lines, ``#`` comments, keys may repeat."""
    settings: dict[str, list[str]] = {}
    for line in (cc.CONF_DIR / "system.conf").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def union(values: list[str]) -> set[int]:
    return set().union(*(channel_set(v) for v in values)) if values else set()


def dahdi_spans() -> dict[str, dict]:
    """Per span section of chan_dahdi.conf: its settings (templates and [channels] applied),
    the channels it opens, and the CIC of each channel (SS7)."""
    categories = cc.read_config(cc.CONF_DIR / "chan_dahdi.conf")
    base = {d.key: d.value for c in categories if c.name == "channels" for d in c.directives}
    spans = {}
    for category in categories:
        if category.name in ("channels", "trunkgroups", "general"):
            continue
        settings, channels, cics, cic = dict(base), set(), {}, 1
        for d in category.directives:
            if d.key == "channel":
                opened = sorted(channel_set(d.value))
                channels.update(opened)
                for channel in opened:
                    cics[channel] = cic
                    cic += 1
            elif d.key == "cicbeginswith":
                cic = int(d.value)
            else:
                settings[d.key] = d.value
        spans[category.name] = {"settings": settings, "channels": channels, "cics": cics}
    return spans


def span_of(channel: int) -> int:
    return (channel - 1) // 31 + 1


def test_three_e1_spans_one_per_signalling():
    signalling = {name: span["settings"]["signalling"] for name, span in dahdi_spans().items()}
    assert sorted(signalling.values()) == ["mfcr2", "pri_cpe", "ss7"]
    spans = system_conf()["span"]
    assert [s.split(",")[0] for s in spans] == ["1", "2", "3"]
    assert all(s.split(",")[4] == "hdb3" for s in spans)


def test_each_section_opens_only_channels_of_one_span_and_never_timeslot_16():
    for name, span in dahdi_spans().items():
        numbers = {span_of(c) for c in span["channels"]}
        assert len(numbers) == 1, name
        (number,) = numbers
        timeslot_16 = (number - 1) * 31 + 16
        assert span["channels"] == set(range((number - 1) * 31 + 1, number * 31 + 1)) - {timeslot_16}, name


def test_pri_and_ss7_channels_are_dahdi_b_channels_and_mfcr2_channels_are_cas():
    conf = system_conf()
    bchan, cas = union(conf["bchan"]), union(conf["cas"])
    for name, span in dahdi_spans().items():
        expected = cas if span["settings"]["signalling"] == "mfcr2" else bchan
        assert span["channels"] <= expected, name
    assert bchan.isdisjoint(cas)


def test_pri_has_its_d_channel_and_ss7_its_signalling_link():
    conf = system_conf()
    for name, span in dahdi_spans().items():
        settings = span["settings"]
        number = span_of(min(span["channels"]))
        timeslot_16 = (number - 1) * 31 + 16
        if settings["signalling"].startswith("pri_"):
            assert timeslot_16 in union(conf["dchan"]), name
        elif settings["signalling"] == "ss7":
            assert int(settings["sigchan"]) == timeslot_16 in union(conf["mtp2"]), name
            assert {"linkset", "pointcode", "adjpointcode"} <= set(settings)


def test_ss7_cic_of_each_channel_is_its_timeslot():
    for name, span in dahdi_spans().items():
        if span["settings"]["signalling"] == "ss7":
            first = (span_of(min(span["channels"])) - 1) * 31
            assert {c: c - first for c in span["channels"]} == span["cics"]


def test_mfcr2_is_the_china_variant_with_ani_and_dnis_lengths():
    (r2,) = [s["settings"] for s in dahdi_spans().values() if s["settings"]["signalling"] == "mfcr2"]
    assert r2["mfcr2_variant"] == "cn"
    assert int(r2["mfcr2_max_ani"]) >= 11 and int(r2["mfcr2_max_dnis"]) >= 5


def test_a_law_and_echo_cancellation_cover_every_channel_opened():
    conf = system_conf()
    opened = set().union(*(s["channels"] for s in dahdi_spans().values()))
    assert opened <= union(conf["alaw"])
    name, _, spec = conf["echocanceller"][0].partition(",")
    assert name and opened <= channel_set(spec)
    assert all(s["settings"]["echocancel"] == "yes" for s in dahdi_spans().values())
