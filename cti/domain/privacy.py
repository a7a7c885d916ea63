"""Customer numbers are personal data: logs and non-owners see them masked.

``13800138000`` → ``138****8000`` (first three and last four kept, at least four masked);
numbers too short for that keep only their last two digits; anything that is not a phone
number is masked whole.
"""
from __future__ import annotations


def mask_number(number: str | None) -> str:
    if not number:
        return ""
    text = number.strip()
    digits = text[1:] if text.startswith("+") else text
    if not digits.isdigit():
        return "*" * min(len(text), 8)
    prefix = text[: len(text) - len(digits)]
    if len(digits) >= 11:
        return prefix + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return prefix + "*" * max(len(digits) - 2, 1) + digits[-2:] if len(digits) > 2 else "*" * len(digits)
