"""Tier configuration: the defaults the issue names, overrides, and clear errors."""
import pytest

from cti.domain.tiers import DEFAULT_TIERS, TierConfigError, TierTable, UnknownTier


def test_default_tiers_and_targets():
    assert DEFAULT_TIERS.names == ("platinum", "diamond", "gold", "silver", "standard")
    assert [t.label for t in DEFAULT_TIERS][:4] == ["至尊", "钻石", "金", "银"]
    for tier in DEFAULT_TIERS.vip:
        assert (tier.sl_target, tier.sl_threshold) == (0.85, 20.0)
    standard = DEFAULT_TIERS["standard"]
    assert (standard.vip, standard.sl_target, standard.sl_threshold) == (False, 0.75, 20.0)
    ranks = [t.rank for t in DEFAULT_TIERS]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == 5


def test_entries_take_defaults_by_vip_flag_and_may_override():
    table = TierTable.from_config([
        {"name": "gold", "vip": True, "within": 15},
        {"name": "basic", "target": 0.6, "abandon": 0.1, "max_wait": 300},
    ])
    assert table["gold"].sl_target == 0.85 and table["gold"].sl_threshold == 15.0
    assert table["basic"].sl_target == 0.6 and table["basic"].max_wait == 300.0
    assert table["gold"].rank > table["basic"].rank
    assert [t.name for t in table.others] == ["basic"]


@pytest.mark.parametrize("entries, message", [
    ([], "at least one"),
    ("gold", "list"),
    ([{"label": "x"}], "name"),
    ([{"name": "a"}, {"name": "a"}], "twice"),
    ([{"name": "a", "target": 1.5}], "target"),
    ([{"name": "a", "target": "high"}], "number"),
    ([{"name": "a", "within": 0}], "within"),
    ([{"name": "a", "within": 30, "max_wait": 20}], "max_wait"),
    ([{"name": "a", "colour": "red"}], "unknown keys"),
    ([{"name": "a", "vip": "yes"}], "vip"),
])
def test_bad_tier_config_is_refused_with_a_reason(entries, message):
    with pytest.raises(TierConfigError, match=message):
        TierTable.from_config(entries)


def test_unknown_tier_lookup():
    with pytest.raises(UnknownTier):
        DEFAULT_TIERS["bronze"]
