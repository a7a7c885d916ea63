"""ctictl: the operator's command line. Each command asks ctid's HTTP API and prints a table or JSON.

    ctictl status | agents | calls | queue [--json]
    ctictl agent pause <id> [--reason R] | unpause <id> | logout <id> | login <id>   [--json]
    ctictl staffing --calls-per-hour N --aht S ...      (a calculator; needs no daemon)

Where ctid is: ``--url`` or ``CTID_URL`` (default http://127.0.0.1:8765); the token: ``--token``,
``CTID_TOKEN``, or the file ctid writes at start-up (``--token-file``, default
``var/ctid-api-token``). Exit codes: 0 done, 1 refused by ctid, 2 usage, 3 ctid unreachable.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from cti.cli import staffing

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_TOKEN_FILE = "var/ctid-api-token"

COLUMNS = {
    "agents": ["agent_id", "name", "state", "reason", "team", "group", "call_id", "calls_handled"],
    "calls": ["call_id", "state", "caller", "tier", "skill", "agent_id", "wait"],
    "queue": ["position", "call_id", "tier", "skill", "wait", "caller"],
}


class Unreachable(Exception):
    pass


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{message} ({code}, HTTP {status})")


class Client:
    def __init__(self, url: str, token: str | None, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read())["error"]
            except Exception:
                err = {"code": "http", "message": exc.reason}
            raise Refused(exc.code, err.get("code", "?"), err.get("message", "")) from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"ctid is not reachable at {self.url}: {exc}") from None


def table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _token(args: argparse.Namespace) -> str | None:
    if args.token:
        return args.token
    path = Path(args.token_file)
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctictl", description="Operate a running ctid.")
    parser.add_argument("--url", default=os.environ.get("CTID_URL", DEFAULT_URL))
    parser.add_argument("--token", default=os.environ.get("CTID_TOKEN"))
    parser.add_argument("--token-file", default=os.environ.get("CTID_TOKEN_FILE", DEFAULT_TOKEN_FILE))
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("status", "agents", "calls", "queue"):
        sub.add_parser(name, help=f"show {name}", parents=[as_json])
    agent = sub.add_parser("agent", help="change an agent's state")
    agent_sub = agent.add_subparsers(dest="action", required=True)
    for action in ("pause", "unpause", "logout", "login"):
        p = agent_sub.add_parser(action, parents=[as_json])
        p.add_argument("agent_id")
        if action == "pause":
            p.add_argument("--reason", default="break")
    staffing.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "staffing":
        return staffing.run(args)
    client = Client(args.url, _token(args))
    try:
        if args.command == "agent":
            body = {"reason": args.reason} if args.action == "pause" else {}
            result = client.call("POST", f"/api/agents/{args.agent_id}/{args.action}", body)
            print(json.dumps(result, ensure_ascii=False) if args.json else
                  f"agent {result.get('agent_id')}: {result.get('state')}"
                  + (f" ({result['reason']})" if result.get("reason") else ""))
            return 0
        result = client.call("GET", f"/api/{args.command}")
    except Refused as exc:
        print(f"ctictl: refused: {exc}", file=sys.stderr)
        return 1
    except Unreachable as exc:
        print(f"ctictl: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.command == "status":
        for key, value in result.items():
            print(f"{key:>16}: {json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value}")
    else:
        print(table(result, COLUMNS[args.command]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
