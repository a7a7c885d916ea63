"""The IVR's ctictl commands (thin: each asks ctid's API and prints a table or JSON).

    ctictl reload                                   re-read and validate the IVR flows (admin)
    ctictl ivr flows [--json]                       the flows in force, which tier hears which
    ctictl ivr containment [--since 7d] [--json]    calls finished in self-service, per flow/node
    ctictl voicemail list [--since 2026-12-01] [--limit N] [--json]
"""
from __future__ import annotations

import argparse
import urllib.parse

VOICEMAIL_COLUMNS = ["recorded_at", "caller_number", "customer_name", "duration_seconds",
                     "call_id", "file"]
FLOW_COLUMNS = ["flow", "calls", "contained", "rate", "to_agent", "hung_up"]
NODE_COLUMNS = ["flow", "node", "calls", "contained", "rate"]


def register(sub) -> None:
    """Add the IVR's commands to ctictl's subcommands."""
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of a table")
    reload = sub.add_parser("reload", help="re-read and validate the IVR flows", parents=[as_json])
    reload.set_defaults(run_with=_reload)
    ivr = sub.add_parser("ivr", help="IVR flows and containment")
    ivr_sub = ivr.add_subparsers(dest="ivr_command", required=True)
    flows = ivr_sub.add_parser("flows", help="the flows in force", parents=[as_json])
    flows.set_defaults(run_with=_flows)
    containment = ivr_sub.add_parser("containment", parents=[as_json],
                                     help="calls finished in self-service, per flow and node")
    containment.add_argument("--since", help="a date, a date and time, or a span (12h, 7d)")
    containment.set_defaults(run_with=_containment)
    voicemail = sub.add_parser("voicemail", help="voice messages left in the IVR")
    vm_sub = voicemail.add_subparsers(dest="voicemail_command", required=True)
    listing = vm_sub.add_parser("list", help="voice messages, newest first", parents=[as_json])
    listing.add_argument("--since", help="a date, a date and time, or a span (12h, 7d)")
    listing.add_argument("--limit", type=int, default=200)
    listing.set_defaults(run_with=_voicemail_list)


def _query(**values) -> str:
    kept = {k: v for k, v in values.items() if v not in (None, "")}
    return ("?" + urllib.parse.urlencode(kept)) if kept else ""


def _reload(client, args) -> int:
    from cti.cli.main import as_json
    result = client.call("POST", "/api/ivr/reload", {})
    if args.json:
        print(as_json(result, indent=2))
    else:
        _print_flows(result)
    return 0


def _flows(client, args) -> int:
    from cti.cli.main import as_json
    result = client.call("GET", "/api/ivr/flows")
    if args.json:
        print(as_json(result, indent=2))
    else:
        _print_flows(result)
    return 0


def _print_flows(result) -> None:
    from cti.cli.main import table
    print(table([{"flow": name, **info} for name, info in result["flows"].items()],
                ["flow", "nodes", "file"]))
    print(table([{"tier": t, "flow": f} for t, f in result["tiers"].items()], ["tier", "flow"]))


def _containment(client, args) -> int:
    from cti.cli.main import as_json, table
    result = client.call("GET", "/api/ivr/containment" + _query(since=args.since))
    if args.json:
        print(as_json(result, indent=2))
        return 0
    print(table(result["flows"], FLOW_COLUMNS))
    print()
    print(table(result["nodes"], NODE_COLUMNS))
    return 0


def _voicemail_list(client, args) -> int:
    from cti.cli.main import as_json, table
    result = client.call("GET", "/api/ivr/voice-messages"
                         + _query(since=args.since, limit=args.limit))
    print(as_json(result, indent=2) if args.json else table(result, VOICEMAIL_COLUMNS))
    return 0
