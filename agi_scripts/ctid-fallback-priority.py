#!/usr/bin/env python3
"""AGI script for [cti-fallback]: when ctid is unreachable, set QUEUE_PRIO from the caller's tier.

Runs as a plain (stdin/stdout) AGI from Asterisk's agi-bin, with no ctid process involved:

    same => n,AGI(ctid-fallback-priority.py)                       ; /etc/ctid/ctid.yaml
    same => n,AGI(ctid-fallback-priority.py,/srv/ctid/ctid.yaml)   ; another config file
    same => n,Queue(cti-fallback,t,,,7200)

It finds the database the way ctid does, from ctid's own configuration file: the AGI argument,
else ``CTID_CONFIG``, else ``/etc/ctid/ctid.yaml``, then that file's ``ctid.d/*.yaml``; the
environment variable ``CTID_DATABASE__URL`` (ctid's own spelling) wins over the files. Asterisk
starts AGI scripts with its own environment, not an operator's shell, which is why the file
comes first. The database URL must be absolute (``sqlite:////var/lib/ctid/ctid.sqlite`` or a
PostgreSQL URL): the script does not run in ctid's working directory.

The tier is the channel's CTI_TIER (ctid may have identified the caller before it went away),
else the tier of the subscriber line with the calling number. The priority is the tier's rank, as ctid
ranks it: the tiers of ``acd.routing.tiers`` in the same files (most important first, or their
``rank``), else ctid's default order (platinum 5 ... standard 1); a caller whose tier cannot be
found queues in the lowest tier, never below everyone. When the settings or the database cannot
be read, the script says so loudly: a WARNING in Asterisk's log (``Log``), a level-1
``VERBOSE`` and a line on stderr. It always ends normally: the caller queues and never hears
dead air.

Needs, in the Python that runs it: pyst2, PyYAML, SQLAlchemy (and psycopg2 for PostgreSQL).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

TIER_PRIORITY = {"platinum": 5, "diamond": 4, "gold": 3, "silver": 2, "standard": 1}
DEFAULT_CONFIG = "/etc/ctid/ctid.yaml"


class SettingsError(Exception):
    """ctid's settings or database cannot be read; the message says what to fix."""


def config_path(agi_env: dict, environ: dict) -> Path:
    return Path(agi_env.get("agi_arg_1") or environ.get("CTID_CONFIG") or DEFAULT_CONFIG)


def read_settings(path: Path) -> list:
    """The parsed files of ctid's configuration: ``path``, then its ``.d/*.yaml`` in order."""
    import yaml

    parts = [path]
    confd = path.with_name(path.stem + ".d")
    if confd.is_dir():
        parts += sorted(confd.glob("*.yaml"))
    out = []
    for part in parts:
        try:
            data = yaml.safe_load(part.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise SettingsError(f"cannot read ctid's settings {part}: {exc.strerror}") from None
        except yaml.YAMLError:
            raise SettingsError(f"ctid's settings {part} are not valid YAML") from None
        out.append(data if isinstance(data, dict) else {})
    return out


def _setting(files: list, *keys: str):
    """The last file's value of a nested setting (ctid's own layering), or None."""
    value = None
    for data in files:
        node = data
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            value = node
    return value


def priorities(files: list) -> dict:
    """Tier name -> QUEUE_PRIO: ctid's rank of each tier (``acd.routing.tiers``)."""
    tiers = _setting(files, "acd", "routing", "tiers")
    if not isinstance(tiers, list) or not tiers:
        return dict(TIER_PRIORITY)
    ranks = {}
    for index, entry in enumerate(tiers):
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            rank = entry.get("rank", len(tiers) - index)
            ranks[entry["name"]] = rank if isinstance(rank, int) else len(tiers) - index
    return ranks or dict(TIER_PRIORITY)


def lowest(ranks: dict) -> int:
    return min(ranks.values())


def database_url(path: Path, environ: dict, files: list | None = None) -> str:
    """``database.url`` from ctid's configuration file (and its .d), or the environment."""
    url = environ.get("CTID_DATABASE__URL")
    if not url:
        url = _setting(read_settings(path) if files is None else files, "database", "url")
        url = str(url) if url else None
    if not url:
        raise SettingsError(f"no database.url in {path}")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        raise SettingsError(f"database.url {url} is relative to ctid's working directory; "
                            f"give an absolute path in {path}")
    return url


def tier_by_number(number: str, url: str) -> str | None:
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite:////") and not Path(url[len("sqlite:///"):]).exists():
        raise SettingsError(f"database file {url[len('sqlite:///'):]} does not exist")
    engine = create_engine(url, connect_args={"timeout": 2} if url.startswith("sqlite") else
                           {"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT tier FROM subscriber_lines WHERE number = :number"),
                {"number": number}).scalar()
    except Exception as exc:
        raise SettingsError(f"customer database unreadable ({type(exc).__name__})") from None
    finally:
        engine.dispose()


def warn(agi, message: str, tier: str | None = None) -> None:
    """Loudly, where an Asterisk operator looks: the log's WARNING, the console, stderr."""
    outcome = (f"caller queued as tier {tier} with the built-in priorities" if tier
               else "caller queued without its customer tier")
    text = f"ctid fallback: {message}; {outcome}"
    print(text, file=sys.stderr, flush=True)
    for send in (lambda: agi.appexec("Log", "WARNING," + text.replace(",", ";")),
                 lambda: agi.verbose(text, 1)):
        try:
            send()
        except Exception:
            pass


def main() -> int:
    from asterisk.agi import AGI

    agi = AGI(stderr=open(os.devnull, "w"))
    tier = None
    ranks = dict(TIER_PRIORITY)
    try:
        tier = agi.get_variable("CTI_TIER") or None
        path = config_path(agi.env, os.environ)
        try:
            files = read_settings(path)
        except SettingsError:
            if not os.environ.get("CTID_DATABASE__URL"):
                raise
            files = []                # the environment names the database: the file is optional
        ranks = priorities(files)
        if tier is None:
            number = agi.env.get("agi_callerid", "")
            if number and number.lower() not in ("unknown", "anonymous"):
                tier = tier_by_number(number, database_url(path, os.environ, files))
    except SettingsError as exc:
        warn(agi, str(exc), tier)
    except Exception as exc:          # never fail the caller
        warn(agi, f"unexpected {type(exc).__name__}", tier)
    priority = ranks.get(tier or "", lowest(ranks))
    try:
        agi.set_variable("QUEUE_PRIO", str(priority))
        agi.verbose(f"ctid fallback: tier {tier or 'unknown'} -> QUEUE_PRIO {priority}", 3)
    except Exception:
        pass                          # the channel went away: nothing left to tell
    return 0


if __name__ == "__main__":
    sys.exit(main())
