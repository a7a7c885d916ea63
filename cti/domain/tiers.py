"""Customer tiers and their targets: what each tier was promised, from configuration.

A tier (platinum 至尊, diamond 钻石, gold 金, silver 银, standard) carries a service-level target
("85 % answered within 20 s"), an abandon target, whether it is a VIP tier (served first by the
VIP dedicated agents, VIP受理专席) and a rank (the strict ``QUEUE_PRIO`` order, used by the
app_queue-like policy and to break ties). ``max_wait`` is the anti-starvation bound of the
service-level policy: no higher tier's head start over this tier exceeds it, so a caller of the
lowest tier is never passed by a caller who arrived more than its ``max_wait`` after it.

Configuration is a list of mappings, most important first; missing fields take the defaults
of a VIP or a standard tier::

    tiers:
      - {name: platinum, label: 至尊, vip: true, target: 0.85, within: 20, abandon: 0.03}
      - {name: standard, label: standard, target: 0.75, within: 20, abandon: 0.06}
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence


class TierConfigError(ValueError):
    """The tier configuration is unusable; the message says which entry and why."""

    code = "tier-config"


class UnknownTier(KeyError):
    """A call named a tier the configuration does not have."""

    code = "unknown-tier"


@dataclass(frozen=True)
class Tier:
    name: str
    label: str
    vip: bool
    rank: int                 # higher is more important (QUEUE_PRIO order)
    sl_target: float          # fraction of calls to answer within ``sl_threshold``
    sl_threshold: float       # seconds
    abandon_target: float     # highest acceptable fraction of abandoned calls
    max_wait: float           # seconds; the most a higher tier's head start may exceed this one's

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


VIP_DEFAULTS = {"target": 0.85, "within": 20.0, "abandon": 0.03, "max_wait": 60.0}
STANDARD_DEFAULTS = {"target": 0.75, "within": 20.0, "abandon": 0.06, "max_wait": 120.0}

DEFAULT_TIER_CONFIG: tuple[Mapping[str, Any], ...] = (
    {"name": "platinum", "label": "至尊", "vip": True},
    {"name": "diamond", "label": "钻石", "vip": True},
    {"name": "gold", "label": "金", "vip": True},
    {"name": "silver", "label": "银", "vip": True},
    {"name": "standard", "label": "standard", "vip": False},
)

_KNOWN_KEYS = {"name", "label", "vip", "rank", "target", "within", "abandon", "max_wait"}


def _number(entry: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TierConfigError(f"{where}: {key!r} must be a number, got {value!r}")
    return float(value)


def _tier_from_entry(entry: Any, index: int, count: int) -> Tier:
    where = f"tier #{index + 1}"
    if not isinstance(entry, Mapping):
        raise TierConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = set(entry) - _KNOWN_KEYS
    if unknown:
        raise TierConfigError(f"{where}: unknown keys {sorted(unknown)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TierConfigError(f"{where}: 'name' must be a non-empty string")
    where = f"tier {name!r}"
    vip = entry.get("vip", False)
    if not isinstance(vip, bool):
        raise TierConfigError(f"{where}: 'vip' must be true or false")
    defaults = VIP_DEFAULTS if vip else STANDARD_DEFAULTS
    target = _number(entry, "target", defaults["target"], where)
    within = _number(entry, "within", defaults["within"], where)
    abandon = _number(entry, "abandon", defaults["abandon"], where)
    max_wait = _number(entry, "max_wait", defaults["max_wait"], where)
    rank = entry.get("rank", count - index)
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise TierConfigError(f"{where}: 'rank' must be an integer")
    if not 0.0 < target <= 1.0:
        raise TierConfigError(f"{where}: target {target} is not in (0, 1]")
    if within <= 0:
        raise TierConfigError(f"{where}: 'within' must be positive seconds")
    if not 0.0 <= abandon <= 1.0:
        raise TierConfigError(f"{where}: abandon target {abandon} is not in [0, 1]")
    if max_wait <= within:
        raise TierConfigError(f"{where}: max_wait ({max_wait}) must exceed within ({within})")
    label = entry.get("label", name)
    if not isinstance(label, str):
        raise TierConfigError(f"{where}: 'label' must be a string")
    return Tier(name=name, label=label, vip=vip, rank=rank, sl_target=target,
                sl_threshold=within, abandon_target=abandon, max_wait=max_wait)


class TierTable:
    """The configured tiers, most important first, looked up by name."""

    def __init__(self, tiers: Iterable[Tier]):
        self._tiers: tuple[Tier, ...] = tuple(tiers)
        if not self._tiers:
            raise TierConfigError("at least one tier is needed")
        self._by_name: dict[str, Tier] = {}
        for tier in self._tiers:
            if tier.name in self._by_name:
                raise TierConfigError(f"tier {tier.name!r} is configured twice")
            self._by_name[tier.name] = tier

    @classmethod
    def from_config(cls, entries: Sequence[Any] | None = None) -> "TierTable":
        entries = DEFAULT_TIER_CONFIG if entries is None else entries
        if isinstance(entries, (str, bytes, Mapping)) or not isinstance(entries, Sequence):
            raise TierConfigError("tiers must be a list of mappings")
        return cls(_tier_from_entry(e, i, len(entries)) for i, e in enumerate(entries))

    def __getitem__(self, name: str) -> Tier:
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise UnknownTier(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Tier]:
        return iter(self._tiers)

    def __len__(self) -> int:
        return len(self._tiers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self._tiers)

    @property
    def vip(self) -> tuple[Tier, ...]:
        return tuple(t for t in self._tiers if t.vip)

    @property
    def others(self) -> tuple[Tier, ...]:
        return tuple(t for t in self._tiers if not t.vip)


DEFAULT_TIERS = TierTable.from_config()
