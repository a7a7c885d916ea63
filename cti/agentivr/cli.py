"""``ctictl agent pin <agent> [--pin-file FILE]``: set an agent's phone PIN.

The PIN is asked twice without echo (or read from the first line of ``--pin-file``, for
scripts) and sent to ctid, which checks and hashes it; it is never printed. The command line
composer calls ``register(agent_actions)`` with the ``agent`` command's sub-parsers.
"""
from __future__ import annotations

import argparse
import getpass
import sys
import urllib.parse


def register(agent_actions) -> None:
    p = agent_actions.add_parser("pin", help="set the agent's phone PIN (feature codes)")
    p.add_argument("agent_id")
    p.add_argument("--pin-file", default=None,
                   help="read the PIN from the first line of this file instead of asking")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run_with=lambda client, args: run(args, client))


def read_pin(args, *, ask=getpass.getpass) -> str:
    """The PIN from ``--pin-file`` or asked twice; ``ValueError`` if they differ or none."""
    if args.pin_file:
        with open(args.pin_file, encoding="utf-8") as f:
            pin = f.readline().strip()
    else:
        pin = ask(f"PIN for agent {args.agent_id}: ")
        if ask("again: ") != pin:
            raise ValueError("the two PINs differ")
    if not pin:
        raise ValueError("no PIN given")
    return pin


def run(args, client) -> int:
    try:
        pin = read_pin(args)
    except (OSError, ValueError) as exc:
        print(f"ctictl: {exc}", file=sys.stderr)
        return 2
    agent = urllib.parse.quote(args.agent_id, safe="")
    client.call("POST", f"/api/agents/{agent}/pin", {"pin": pin})
    print(f"agent {args.agent_id}: PIN set")
    return 0
