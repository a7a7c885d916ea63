"""ctictl: the operator's command line. Each command asks ctid's HTTP API and prints a table or JSON.

    ctictl status | agents | calls | queue [--json]
    ctictl agent pause <id> [--reason R] | unpause <id> | logout <id> | login <id>   [--json]
    ctictl agent pin <id> [--pin-file FILE]     (asked twice, never echoed)
    ctictl staffing --calls-per-hour N --aht S ...      (a calculator; needs no daemon)
    ctictl import FILE... [--skip TYPE SEQ]              (customer batches; needs no daemon)

Where ctid is: ``--url`` or ``CTID_URL`` (default http://127.0.0.1:8765); the token: ``--token``,
``CTID_TOKEN``, or the file ctid writes at start-up in its data directory (``--token-file`` or
``CTID_TOKEN_FILE``, default ``var/ctid-api-token``, where ctid and the demo write it when run
from a checkout); a token file that cannot be read is an error, never a silent "no token".
Exit codes: 0 done (also when the reader of the output went away, ``ctictl agents | head``),
1 refused by ctid, 2 usage, 3 ctid unreachable.

Text that comes from the server (names, pause reasons, error messages) is printed with control
characters escaped (``\x1b`` and the like), so nobody can clear or rewrite an operator's screen
through a pause reason.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from cti.cli import staffing
from cti.customers import cli as customers_cli
from cti.ivr import cli as ivr_cli
from cti.agentivr import cli as agentivr_cli

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_TOKEN_FILE = "var/ctid-api-token"

COLUMNS = {
    "agents": ["agent_id", "name", "state", "reason", "team", "group", "call_id", "calls_handled"],
    "calls": ["call_id", "state", "caller", "tier", "skill", "agent_id", "wait"],
    "queue": ["position", "call_id", "tier", "skill", "wait", "caller"],
}


class Unreachable(Exception):
    pass


class Usage(Exception):
    """The command line cannot be carried out as given (exit code 2)."""


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{printable(message)} ({printable(code)}, HTTP {status})")


class Client:
    def __init__(self, url: str, token: str | None, timeout: float = 5.0):
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise Usage(f"--url {printable(url)}: give ctid's address with its scheme, "
                        f"e.g. {DEFAULT_URL}")
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
    widths = [max(len(c), *(width(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c.upper(), w) for c, w in zip(columns, widths))]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: Chinese characters (East Asian wide) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return printable(str(value))


def printable(text: str) -> str:
    """``text`` safe for a terminal: control and format characters shown as escapes."""
    return "".join(_escape(ch) if unicodedata.category(ch)[0] == "C" else ch for ch in text)


def as_json(value: Any, **kw: Any) -> str:
    """JSON for a terminal: Chinese as it is, but every control or format character escaped
    (``json.dumps`` escapes only those below U+0020; in its output any other one is inside a
    string, where ``\\uXXXX`` means the same)."""
    text = json.dumps(value, ensure_ascii=False, **kw)
    return "".join(_json_escape(ch) if ord(ch) >= 0x7f and unicodedata.category(ch)[0] == "C"
                   else ch for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}"


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _token(args: argparse.Namespace) -> str:
    if args.token:
        return args.token
    path = Path(args.token_file)
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise Usage(f"cannot read the token file {path}: {exc.strerror}. ctid writes it in its "
                    f"data directory when it starts; give --token-file PATH or --token") from None
    if not token:
        raise Usage(f"the token file {path} is empty")
    return token


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
            p.add_argument("--reason", default=None,
                           help="a not-ready reason code configured in ctid "
                                "(default: the first of its list)")
    agentivr_cli.register(agent_sub)        # ctictl agent pin <agent>
    staffing.add_parser(sub)
    customers_cli.register(sub)
    ivr_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()                  # a closed pipe shows up here, not at exit
        return code
    except BrokenPipeError:
        # The reader went away (`ctictl agents | head`): nothing more to say to anyone. Point
        # stdout at /dev/null so the interpreter's own flush at exit stays quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "staffing":
        return staffing.run(args)
    if getattr(args, "run", None):              # commands that need no running ctid
        return args.run(args)
    try:
        client = Client(args.url, _token(args))
    except Usage as exc:
        print(f"ctictl: {exc}", file=sys.stderr)
        return 2
    try:
        if hasattr(args, "run_with"):             # a capability's command (cti/ivr/cli.py)
            return args.run_with(client, args)
        if args.command == "agent":
            body = {"reason": args.reason} if args.action == "pause" and args.reason else {}
            agent = urllib.parse.quote(args.agent_id, safe="")    # one path segment, always
            result = client.call("POST", f"/api/agents/{agent}/{args.action}", body)
            print(as_json(result) if args.json else
                  f"agent {_cell(result.get('agent_id'))}: {_cell(result.get('state'))}"
                  + (f" ({_cell(result['reason'])})" if result.get("reason") else ""))
            return 0
        result = client.call("GET", f"/api/{args.command}")
    except Refused as exc:
        print(f"ctictl: refused: {exc}", file=sys.stderr)
        return 1
    except Unreachable as exc:
        print(f"ctictl: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(as_json(result, indent=2))
    elif args.command == "status":
        for key, value in result.items():
            shown = (json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list))
                     else value)
            print(f"{_cell(key):>16}: {_cell(shown)}")
    else:
        print(table(result, COLUMNS[args.command]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
