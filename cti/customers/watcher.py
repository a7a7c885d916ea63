"""The drop directory inside ctid: batch files in ``incoming/`` are applied in order, then moved
to ``done/`` or ``rejected/`` (with a reject report beside them naming each bad line and why).

Each poll runs on a thread of its own (an import may take minutes; neither the reactor nor the
call path's database pool waits for it). A batch that waits for a missing predecessor, or whose
type another importer holds, stays in ``incoming/`` and is tried again at the next poll.
"""
from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

from twisted.application.service import Service
from twisted.internet import task
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from cti.customers.batch import DEPENDS_ON, BatchError, parse_file_name
from cti.customers.importer import Importer, ImportResult, batch_order

log = logging.getLogger(__name__)

REPORT_SUFFIX = ".reject.txt"


def layout(drop_dir: Path) -> tuple[Path, Path, Path]:
    return drop_dir / "incoming", drop_dir / "done", drop_dir / "rejected"


def move_aside(path: Path, into: Path) -> Path:
    """Move ``path`` into ``into`` without overwriting a file of the same name there."""
    target = into / path.name
    n = 1
    while target.exists():
        target = into / f"{path.name}.{n}"
        n += 1
    path.replace(target)
    return target


def _in_transfer(path: Path) -> bool:
    """A file still being written: a dot-name or a .tmp/.part name, renamed when complete."""
    return path.name.startswith(".") or path.suffix in (".tmp", ".part")


def process(importer: Importer, drop_dir: Path, *, seen: dict | None = None) -> list[ImportResult]:
    """One pass over ``incoming/`` (blocking): every waiting file, in type and sequence order."""
    incoming, done, rejected = layout(drop_dir)
    results = []
    waiting: set[str] = set()              # types with a file left in incoming/ in this pass
    for path in sorted((p for p in incoming.iterdir() if p.is_file() and not _in_transfer(p)),
                       key=batch_order):
        def progress(rows: int, total: int, _name=path.name, _last=[0]) -> None:
            if total and rows * 10 // total > _last[0]:
                _last[0] = rows * 10 // total
                log.info("import %s: %d of %d rows staged", _name, rows, total)
        try:
            record_type = parse_file_name(path.name).record_type
        except BatchError:
            record_type = None                   # import_file rejects it with the reason
        if record_type and DEPENDS_ON[record_type] & waiting:
            waiting.add(record_type)
            if seen is None or seen.get(path.name) != "held":
                log.info("import %s: held until the %s files before it are applied",
                         path.name, "/".join(sorted(DEPENDS_ON[record_type] & waiting)))
            if seen is not None:
                seen[path.name] = "held"
            continue
        try:
            result = importer.import_file(path, progress)
        except Exception as exc:              # the database went away mid-batch: rolled back
            log.error("import %s failed (%s: %s); it stays in incoming/ for the next poll",
                      path.name, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            waiting.add(record_type or "")
            continue
        results.append(result)
        if result.outcome in ("applied", "duplicate"):
            move_aside(path, done)
            log.info("import %s", result.summary())
        elif result.outcome == "rejected":
            moved = move_aside(path, rejected)
            moved.with_name(moved.name + REPORT_SUFFIX).write_text(result.report(), encoding="utf-8")
            log.error("import %s (report: %s)", result.summary(), moved.name + REPORT_SUFFIX)
        else:                                   # waiting, busy: stays for the next poll
            waiting.add(record_type or "")
            if seen is None or seen.get(path.name) != result.message:
                log.warning("import %s", result.summary())
            if seen is not None:
                seen[path.name] = result.message
    return results


class DropWatcher(Service):
    name = "customer-import"

    def __init__(self, importer: Importer, drop_dir: Path, reactor, *, poll_seconds: float = 10.0):
        self.importer = importer
        self.drop_dir = Path(drop_dir)
        self._reactor = reactor
        self._poll = poll_seconds
        self._pool = ThreadPool(minthreads=0, maxthreads=1, name="ctid-import")
        self._pool.threadFactory = functools.partial(threading.Thread, daemon=True)
        self._loop: task.LoopingCall | None = None
        self._running = None
        self._seen: dict[str, str] = {}
        self.passes = 0

    def startService(self) -> None:
        super().startService()
        for folder in layout(self.drop_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._pool.start()
        self._loop = task.LoopingCall(self.poll)
        self._loop.clock = self._reactor
        self._loop.start(self._poll, now=True)

    def poll(self):
        """Start a pass unless one is running; the Deferred fires with its results."""
        if self._running is not None:
            return None
        self._running = deferToThreadPool(self._reactor, self._pool, process, self.importer,
                                          self.drop_dir, seen=self._seen)

        def finished(results):
            self._running = None
            self.passes += 1
            return results

        def failed(failure):
            self._running = None
            log.error("customer import pass failed: %s", failure.getErrorMessage())
            return None
        self._running.addCallbacks(finished, failed)
        return None

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._pool.stop()          # waits for a running import to end (it commits or rolls back)
