"""Databases of both kinds for the customer tests (the storage tests' fixtures), and batch files."""
from __future__ import annotations

from pathlib import Path


from tests.storage.conftest import db_url, database, engine, pg_test_url, sqlite_template  # noqa: F401

HEADER = "HDR|{type}|BOSS-GD|{seq}|20261203100000|{rows}|{encoding}\n"


def write_batch(folder: Path, record_type: str, seq: int, rows: list[str], *,
                encoding: str = "UTF-8", codec: str | None = None, announce: int | None = None,
                header: str | None = None, region: str = "GD", crlf: bool = False) -> Path:
    """A batch file named by the rule, its header announcing ``announce`` rows (default: all)."""
    name = f"{record_type}_{region}_20261203_{seq:06d}.txt"
    head = header if header is not None else HEADER.format(
        type=record_type, seq=seq, rows=len(rows) if announce is None else announce,
        encoding=encoding)
    end = "\r\n" if crlf else "\n"
    body = head.rstrip("\n") + end + "".join(r + end for r in rows)
    path = folder / name
    path.write_bytes(body.encode(codec or ("gbk" if encoding == "GBK" else "utf-8")))
    return path
