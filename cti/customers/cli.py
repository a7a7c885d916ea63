"""``ctictl import``: apply batch files to the customer database named by ctid's configuration.

    ctictl import FILE... [--config ctid.yaml] [--set section.key=value]
    ctictl import --skip TYPE SEQ [--config ...]

It needs no running ctid: it opens the database itself (the same configuration file, conf.d,
environment and defaults as ctid), applies the files in dependency order of their types and in
sequence order, with a progress bar and a summary each. Exit codes: 0 every file applied (or
already applied), 1 a file rejected or waiting, 2 usage or configuration, 3 database unreachable.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "import", help="apply customer batch files to ctid's database (needs no running ctid)",
        description="Apply incremental batch files (docs/customer-import.md) to the customer "
                    "database named by ctid's configuration.")
    parser.add_argument("files", nargs="*", metavar="FILE")
    parser.add_argument("--skip", nargs=2, metavar=("TYPE", "SEQ"),
                        help="record that batch SEQ of TYPE will never come, so the next applies")
    parser.add_argument("--config", default=None,
                        help="ctid's YAML configuration file (default: ctid's defaults)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from sqlalchemy import exc as sa_exc

    from cti import config as ctid_config
    from cti.customers.batch import BatchError
    from cti.customers.importer import Importer, batch_order
    from cti.customers.plugin import tier_names
    from cti.storage import migrations
    from cti.storage.db import make_engine

    if not args.files and not args.skip:
        print("ctictl import: give batch files, or --skip TYPE SEQ", file=err)
        return EXIT_USAGE
    try:
        config = ctid_config.load(args.config, overrides=args.set)
    except ctid_config.ConfigError as exc:
        print(f"ctictl import: {exc}", file=err)
        return EXIT_USAGE
    url = config["database"]["url"]
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        print(f"ctictl import: database file {url[len('sqlite:///'):]} does not exist "
              f"(start ctid once, or give --config)", file=err)
        return EXIT_USAGE
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
        importer = Importer(engine, holder="ctictl import", tiers=tier_names(config))
        if args.skip:
            record_type, seq = args.skip
            if not seq.isdigit():
                print(f"ctictl import: --skip {record_type} {seq}: SEQ is a number", file=err)
                return EXIT_USAGE
            try:
                print(importer.skip(record_type.upper(), int(seq)), file=out)
            except BatchError as exc:
                print(f"ctictl import: {exc}", file=err)
                return EXIT_REFUSED
        code = EXIT_OK
        for path in sorted((Path(f) for f in args.files), key=batch_order):
            result = importer.import_file(path, _bar(path, args.no_progress, err))
            if result.outcome in ("applied", "duplicate"):
                print(result.summary(), file=out)
                continue
            code = EXIT_REFUSED
            print(f"ctictl import: {result.summary()}", file=err)
            for line_no, why in result.errors[:50]:
                print(f"  line {line_no}: {why}" if line_no else f"  {why}", file=err)
            hidden = len(result.errors) - 50 + result.more_errors
            if hidden > 0:
                print(f"  ... and {hidden} more", file=err)
        return code
    except sa_exc.OperationalError as exc:
        print(f"ctictl import: database unreachable: {str(exc.orig).splitlines()[0]}", file=err)
        return EXIT_UNREACHABLE
    finally:
        engine.dispose()


def _bar(path: Path, disabled: bool, err: TextIO):
    """A progress callback drawing a tqdm bar of rows staged (none when disabled)."""
    if disabled:
        return None
    from tqdm import tqdm

    state: dict = {}

    def progress(rows: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="rows", desc=path.name, file=err,
                                      unit_scale=True, leave=False)
        bar.update(rows - bar.n)
        if rows >= total:
            bar.close()
    return progress
