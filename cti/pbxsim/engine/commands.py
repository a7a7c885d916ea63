"""The few CLI commands the AMI ``Command`` action is used for, with Asterisk's wording."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .pbx import PBX

VERSION = "22.10.1"


def run_command(pbx: "PBX", text: str) -> tuple[bool, list[str]]:
    words = text.split()
    lowered = [w.lower() for w in words]
    if lowered[:3] == ["core", "show", "version"]:
        return True, [f"Asterisk {VERSION} built by root @ pbxsim on a x86_64 running Linux"]
    if lowered[:3] == ["core", "show", "channels"]:
        lines = ["Channel              Location             State   Application(Data)"]
        for chan in pbx.channels():
            where = f"{chan.exten}@{chan.context}:{chan.priority}"
            lines.append(f"{chan.name:<20} {where:<20} {chan.state.desc:<7} {chan.app}({chan.appdata})")
        count = len(pbx.channels())
        lines += [f"{count} active channel{'s' if count != 1 else ''}", f"{count} active call{'s' if count != 1 else ''}"]
        return True, lines
    if lowered[:2] == ["database", "show"]:
        lines = [f"/{fam}/{key:<30}: {val}" for (fam, key), val in sorted(pbx.database.items())]
        return True, lines + [f"{len(lines)} results found."]
    prefix = " ".join(words[:2])
    return False, [f"No such command '{text}' (type 'core show help {prefix}' for other possible commands)"]
