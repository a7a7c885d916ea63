"""Units of work: one session and one transaction per call, run on a dedicated thread pool.

The reactor thread calls `Database.run(work, *args)` and gets a Deferred. `work(session, *args)`
runs on one of the pool's threads inside a transaction that commits when it returns and rolls
back when it raises. Its result must be plain data (dataclasses, dicts, tuples, scalars): an ORM
instance returned across the thread boundary raises `ORMObjectLeak` instead of leaking a
session-bound object into the reactor. Driver errors are mapped to the storage exceptions of
`cti.storage.db`, so callers need not know SQLAlchemy.
"""
from __future__ import annotations

import dataclasses
import functools
import threading
from typing import Any, Callable, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from cti.storage.db import (
    Base,
    Conflict,
    DatabaseUnavailable,
    ORMObjectLeak,
    StorageError,
    make_engine,
    make_session_factory,
)

T = TypeVar("T")
Work = Callable[..., T]


def ensure_plain(value: Any, _depth: int = 0) -> Any:
    """Raise `ORMObjectLeak` if `value` holds an ORM instance (looks through containers)."""
    if _depth > 6 or value is None or isinstance(value, (str, bytes, int, float, bool)):
        return value
    if isinstance(value, Base):
        raise ORMObjectLeak(f"a unit of work returned {type(value).__name__}: return plain data")
    if isinstance(value, dict):
        items = list(value.keys()) + list(value.values())
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    else:
        return value
    for item in items:
        ensure_plain(item, _depth + 1)
    return value


def run_in_session(sessions: sessionmaker[Session], work: Work[T], *args: Any, **kwargs: Any) -> T:
    """Run `work(session, ...)` in one transaction (blocking) and return its plain result."""
    try:
        with sessions() as session, session.begin():
            result = work(session, *args, **kwargs)
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError) as exc:
        raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
    except sa_exc.IntegrityError as exc:
        raise Conflict(str(exc.orig).splitlines()[0] if exc.orig else str(exc)) from exc
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
        raise StorageError(str(exc).splitlines()[0]) from exc
    return ensure_plain(result)


class Database(Service):
    """The engine, the session factory and the thread pool units of work run on.

    Start it as a child of the daemon's `MultiService`; stopping it waits for the running units
    of work and closes the connections.
    """

    name = "database"

    def __init__(
        self,
        url: str | None = None,
        reactor: Any = None,
        *,
        engine: Engine | None = None,
        max_threads: int = 4,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        if engine is None:
            if url is None:
                raise ValueError("give a database url or an engine")
            engine = make_engine(url)
        self.engine = engine
        self.sessions = make_session_factory(engine)
        self._reactor = reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=max_threads, name="ctid-db")
        # Daemon threads: stopService joins them; one left running by mistake must not keep
        # the process from exiting.
        self._pool.threadFactory = functools.partial(threading.Thread, daemon=True)

    def startService(self) -> None:
        super().startService()
        self._pool.start()

    def stopService(self) -> None:
        super().stopService()
        self._pool.stop()
        self.engine.dispose()

    def run(self, work: Work[T], *args: Any, **kwargs: Any) -> Deferred[T]:
        """Run `work(session, *args, **kwargs)` on the pool; the Deferred fires with its result."""
        return deferToThreadPool(
            self._reactor, self._pool, run_in_session, self.sessions, work, *args, **kwargs
        )

    def run_blocking(self, work: Work[T], *args: Any, **kwargs: Any) -> T:
        """The same unit of work in the calling thread: for scripts and start-up, never the reactor."""
        return run_in_session(self.sessions, work, *args, **kwargs)
