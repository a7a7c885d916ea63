"""Shared helpers for the protocol tests: the captured AMI sessions, read three ways."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from tests.conftest import CAPTURES

AMI_CAPTURES = sorted(p.name[: -len(".server.txt")] for p in CAPTURES.glob("ami-*.server.txt"))


@dataclass(frozen=True)
class AMICapture:
    """One recorded AMI session: what Asterisk sent, and the real TCP chunks of each side."""

    name: str
    server: bytes  # NAME.server.txt: every byte Asterisk sent
    both: bytes  # NAME.txt: both directions in the order they happened
    rx: tuple[bytes, ...]  # Asterisk -> client, one entry per recv()
    tx: tuple[bytes, ...]  # client -> Asterisk, one entry per send()


@lru_cache(maxsize=None)
def load_ami_capture(name: str) -> AMICapture:
    rx: list[bytes] = []
    tx: list[bytes] = []
    for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines():
        entry = json.loads(line)
        (rx if entry["dir"] == "rx" else tx).append(entry["data"].encode("latin-1"))
    return AMICapture(
        name=name,
        server=(CAPTURES / f"{name}.server.txt").read_bytes(),
        both=(CAPTURES / f"{name}.txt").read_bytes(),
        rx=tuple(rx),
        tx=tuple(tx),
    )
