"""Not-ready reasons: the short list of codes an agent may pick, each with its labels.

A reason an agent gives travels to supervisors' screens, ``ctictl agents`` and queue_log, so it
is a code from a configured list, never free text. The defaults fit a hotline; an operator
replaces them with ``acd.not_ready_reasons`` (``{code: {"zh": ..., "en": ...}}``). Reasons the
system sets itself (a ring not answered, a closed desktop) are not on the list: nobody picks them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

CODE = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")

DEFAULT_REASONS: dict[str, dict[str, str]] = {
    "break": {"zh": "休息", "en": "Break"},
    "lunch": {"zh": "用餐", "en": "Lunch"},
    "training": {"zh": "培训", "en": "Training"},
    "meeting": {"zh": "会议", "en": "Meeting"},
    "wrap-up": {"zh": "后处理", "en": "After-call work"},
    "callback": {"zh": "回访", "en": "Callbacks"},
    "coaching": {"zh": "辅导", "en": "Coaching"},
}


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}


class ReasonList:
    """The configured reasons, in the order given; the first is the default."""

    def __init__(self, reasons: list[Reason]):
        if not reasons:
            raise ValueError("at least one not-ready reason is needed")
        self._by_code = {r.code: r for r in reasons}
        self.default = reasons[0].code

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> "ReasonList":
        """From ``{code: {"zh": label, "en": label}}``; an empty mapping gives the defaults."""
        reasons = []
        for code, labels in (mapping or DEFAULT_REASONS).items():
            code = str(code)
            if not CODE.match(code):
                raise ValueError(f"not-ready reason code {code!r}: use a-z, 0-9, - and _ "
                                 f"(at most 24, starting with a letter)")
            labels = labels if isinstance(labels, Mapping) else {}
            zh, en = str(labels.get("zh") or code), str(labels.get("en") or code)
            reasons.append(Reason(code, zh[:40], en[:40]))
        return cls(reasons)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def all(self) -> list[Reason]:
        return list(self._by_code.values())


def bilingual(zh: str, en: str) -> str:
    """One message for a person, in Chinese then English, as every refusal ctid shows."""
    return f"{zh} · {en}"
