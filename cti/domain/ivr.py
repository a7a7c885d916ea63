"""The IVR plan: which tiers skip the menu, and which key leads to which skill. Pure rules.

VIP tiers go straight to an agent (the 2009 standard's shorter path for VIPs); other callers
hear the menu once and press a key; no key, or ``0``, means "a person, any skill".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_MENU = {"1": "billing", "2": "service", "3": "complaints"}


@dataclass(frozen=True)
class IVRPlan:
    menu: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MENU))
    default_skill: str = "general"
    prompt: str = "cti/menu"
    timeout_ms: int = 5000

    def skill_for(self, key: str | None) -> str:
        return self.menu.get(key or "", self.default_skill)

    def path_for(self, key: str | None) -> str:
        return f"menu:{key}" if key else "menu:timeout"
