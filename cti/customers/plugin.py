"""Wires the customers capability into ctid from config (called by ``cti/app.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from twisted.application import service

from cti.customers import store
from cti.customers.importer import Importer
from cti.customers.service import CustomerService
from cti.customers.watcher import DropWatcher
from cti.storage.unit_of_work import Database


@dataclass
class Customers:
    service: CustomerService
    find: Callable              # the call path's unit of work: (session, number) -> line or None
    watcher: DropWatcher | None


def tier_names(config: dict[str, Any]) -> tuple[str, ...]:
    from cti.domain.routing.config import RoutingConfig
    return tuple(t.name for t in RoutingConfig.from_mapping(config["acd"]["routing"]).tiers)


def install(config: dict[str, Any], reactor, db: Database,
            parent: service.MultiService) -> Customers:
    """The customer service, and the drop-directory watcher when ``customers.drop_dir`` is set."""
    cfg = config["customers"]
    svc = CustomerService(db, reactor)
    watcher = None
    if cfg["drop_dir"]:
        from cti.config import ConfigError
        from cti.customers.watcher import layout
        for folder in layout(Path(cfg["drop_dir"])):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"'customers.drop_dir': cannot create {folder}: "
                                  f"{exc.strerror}") from None
        importer = Importer(db.engine, holder="ctid watcher", tiers=tier_names(config))
        watcher = DropWatcher(importer, Path(cfg["drop_dir"]), reactor,
                              poll_seconds=cfg["poll_seconds"])
        watcher.setServiceParent(parent)
    return Customers(svc, store.find_line, watcher)
