"""``ctid``: start the daemon (or, with ``--demo``, the daemon beside the PBX simulator).

    ctid [--config FILE] [--set section.key=value ...] [--demo] [--log-level LEVEL]

The asyncio reactor is installed before anything imports Twisted's reactor, so Twisted and
asyncio libraries (panoramisk) share one loop.

Nothing is created before everything is checked: a bad configuration, a database directory
that does not exist, a port already taken or another ctid on the same data directory stops ctid
with one clear line and exit code 2, before it migrates a database or writes its token file
(a second ctid must never lock the operator out of the first). The data directory holds a lock
file (``ctid.lock``, flock) for as long as ctid runs. ctid's files hold password hashes and full
numbers: it creates them 0600 (directories 0700) and tightens any it finds readable by others.
"""
from __future__ import annotations

import argparse
import errno
import fcntl
import logging
import os
import socket
import stat
import sys
from pathlib import Path
from typing import IO, Any, Sequence

log = logging.getLogger("cti.main")

LOCK_FILE = "ctid.lock"


class StartupError(Exception):
    """ctid cannot start as configured; the message says why, in one line."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ctid", description="CTI middleware for Asterisk.")
    parser.add_argument("--config", help="YAML configuration file (its .d/ folder is read too)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one setting (repeatable)")
    parser.add_argument("--demo", action="store_true",
                        help="run beside the PBX simulator with simulated callers and agents")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (demo and smoke tests)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from twisted.internet import asyncioreactor
    if "twisted.internet.reactor" not in sys.modules:
        asyncioreactor.install()
    from twisted.internet import reactor

    from cti import config as cfg
    try:
        overrides = list(args.set)
        if args.demo:
            from cti import demo
            overrides = demo.DEMO_OVERRIDES + overrides
        if args.log_level:
            overrides.append(f"log.level={args.log_level}")
        config = cfg.load(args.config, overrides=overrides)
    except cfg.ConfigError as exc:
        print(f"ctid: configuration error: {exc}", file=sys.stderr)
        return 2
    from cti import app                      # imported before logging is set up: alembic talks
    logging.basicConfig(
        level=config["log"]["level"].upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        lock = prepare(config, extra_ports=[("127.0.0.1", config["pbxsim"]["ami_port"])]
                       if args.demo else [])
    except StartupError as exc:
        print(f"ctid: cannot start: {exc}", file=sys.stderr)
        return 2
    from sqlalchemy.exc import SQLAlchemyError
    try:
        if args.demo:
            from cti import demo
            runner = demo.Demo(config, reactor)
            top = runner.service
        else:
            top = app.build(config, reactor).service
    except cfg.ConfigError as exc:            # e.g. a host name that no longer resolves
        print(f"ctid: configuration error: {exc}", file=sys.stderr)
        lock.close()
        return 2
    except SQLAlchemyError as exc:            # opened and migrated before anything listens
        print(f"ctid: cannot start: database {_shown_url(config['database']['url'])}: "
              f"{_first_line(exc)}", file=sys.stderr)
        lock.close()
        return 2
    from twisted.internet.error import CannotListenError
    try:
        top.startService()
    except CannotListenError as exc:          # taken between the check and the bind
        print(f"ctid: cannot start: cannot listen on {exc.interface or '*'}:{exc.port}: "
              f"{exc.socketError}", file=sys.stderr)
        lock.close()
        return 2
    from cti import runtime
    runtime.settle_after_start()
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    if args.duration:
        reactor.callLater(args.duration, reactor.stop)
    reactor.run()
    lock.close()
    return 0


def _shown_url(url: str) -> str:
    """A database URL for a message: its password hidden."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def prepare(config: dict[str, Any], extra_ports: Sequence[tuple[str, int]] = ()) -> IO[str]:
    """Check, then claim: the directories, the ports, the lock; returns the held lock file.

    Everything that can refuse is checked before anything is created.
    """
    from cti.config import data_directory
    var = data_directory(config)
    files = _data_files(config)
    for path in files:
        if path.is_absolute() and not path.parent.is_dir():
            raise StartupError(f"directory {path.parent} (for {path.name}) does not exist; "
                               f"create it, owned by the user ctid runs as")
    check_ports(_listeners(config) + list(extra_ports))
    from cti.app import fastagi_peers
    from cti.config import ConfigError
    try:
        fastagi_peers(config)                   # names resolve now, not at the first call
    except ConfigError as exc:
        raise StartupError(str(exc)) from None
    os.umask(0o077)
    try:
        var.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StartupError(f"cannot create data directory {var}: {exc.strerror}") from None
    lock = take_lock(var / LOCK_FILE)
    tighten_permissions(var, files)
    return lock


def _listeners(config: dict[str, Any]) -> list[tuple[str, int]]:
    return [(config[name]["interface"], config[name]["port"]) for name in ("fastagi", "api", "web")]


def _data_files(config: dict[str, Any]) -> list[Path]:
    """ctid's own files outside the data directory: the SQLite database, the queue_log."""
    files = []
    url = config["database"]["url"]
    if url.startswith("sqlite:///") and url[len("sqlite:///"):] not in ("", ":memory:"):
        files.append(Path(url[len("sqlite:///"):]))
    if config["queue_log"]["file"]:
        files.append(Path(config["queue_log"]["file"]))
    return files


def check_ports(listeners: Sequence[tuple[str, int]]) -> None:
    """Each (interface, port) can be listened on now; port 0 (any free port) is not checked."""
    for interface, port in listeners:
        if not port:
            continue
        family = socket.AF_INET6 if ":" in interface else socket.AF_INET
        probe = socket.socket(family, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as Twisted listens
            probe.bind((interface, port))
            probe.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(f"port {interface}:{port} is in use (another ctid?)") from None
            raise StartupError(f"cannot listen on {interface}:{port}: {exc.strerror}") from None
        finally:
            probe.close()


def take_lock(path: Path) -> IO[str]:
    """Hold ``path`` locked (flock) for the life of the process; refuse if another ctid does."""
    try:
        lock = open(path, "a+", encoding="ascii")
    except OSError as exc:                    # e.g. left owned by another user
        raise StartupError(f"cannot open the lock file {path}: {exc.strerror}; the data "
                           f"directory must belong to the user ctid runs as") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise StartupError(f"another ctid (pid {holder}) is running on data directory "
                           f"{path.parent}") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def tighten_permissions(var: Path, files: Sequence[Path]) -> list[Path]:
    """Make ctid's files 0600 and its data directory 0700 where others could read them."""
    changed = []
    candidates = [(var, 0o700)]
    if var.is_dir():
        # ctid's own files only: a link there points at somebody else's file
        candidates += [(p, 0o600) for p in sorted(var.iterdir())
                       if p.is_file() and not p.is_symlink()]
    for path in files:
        candidates += [(p, 0o600) for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"),
                                             Path(f"{path}-journal"))]
    for path, mode in dict(candidates).items():
        try:
            current = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if current & 0o077:
            try:
                path.chmod(mode)
            except OSError as exc:
                log.warning("%s is readable by others (mode %o) and cannot be changed: %s",
                            path, current, exc.strerror)
                continue
            log.warning("%s was readable by others (mode %o); now %o", path, current, mode)
            changed.append(path)
    return changed


if __name__ == "__main__":
    sys.exit(main())
