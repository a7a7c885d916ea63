"""``ctid``: start the daemon (or, with ``--demo``, the daemon beside the PBX simulator).

    ctid [--config FILE] [--set section.key=value ...] [--demo] [--log-level LEVEL]

The asyncio reactor is installed before anything imports Twisted's reactor, so Twisted and
asyncio libraries (panoramisk) share one loop. A bad configuration stops ctid with a clear
message and exit code 2, before anything starts.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence


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
        config = cfg.load(args.config, overrides=overrides)
    except cfg.ConfigError as exc:
        print(f"ctid: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=(args.log_level or config["log"]["level"]).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from cti import app
    if args.demo:
        from cti import demo
        runner = demo.Demo(config, reactor)
        top = runner.service
    else:
        top = app.build(config, reactor).service
    top.startService()
    from cti import runtime
    runtime.settle_after_start()
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    if args.duration:
        reactor.callLater(args.duration, reactor.stop)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
