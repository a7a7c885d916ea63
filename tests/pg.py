"""A private, throwaway PostgreSQL cluster for the test session.

`initdb` refuses to run as root, so when the tests run as root the cluster belongs to the
`postgres` system user and every server command runs through `runuser -u postgres --`. The
server listens on a unix socket in the cluster's own temporary directory only (no TCP port to
collide with anything), with fsync off. Start-up takes about two seconds.

The cluster can be stopped and started again while keeping its data: the storage tests use
that to cut the database off in the middle of a run.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """The private cluster could not be created, started or stopped."""


def find_bindir() -> Path:
    """The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `pg_ctl`."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = Path(initdb).parent
        version = bindir.parent.name
        if (bindir / "pg_ctl").exists() and version.split(".")[0].isdigit():
            found.append((int(version.split(".")[0]), bindir))
    if not found:
        raise ClusterError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install "
            "Debian's `postgresql` package (scripts/test does it) to run the tests marked "
            "`postgres`"
        )
    return max(found)[1]


class PrivateCluster:
    """One PostgreSQL cluster in a temporary directory, reachable by unix socket only."""

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self._as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="ctid-pg-"))
        self.datadir = self.root / "data"
        self.logfile = self.root / "server.log"
        if self._as_root:
            try:
                owner = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise ClusterError(f"running as root needs the `{SERVER_USER}` user") from exc
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@/postgres?host={self.root}"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@/{database}?host={self.root}"

    def _run(self, *argv: str) -> None:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise ClusterError(
                f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}"
            )

    def initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )

    def start(self) -> None:
        options = f"-k {self.root} -c listen_addresses='' -F"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w",
                  "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server, keeping the data: `start()` brings it back."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")
        self.running = False

    def destroy(self) -> None:
        """Stop the server if it runs and remove every file of the cluster."""
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PrivateCluster:
    cluster = PrivateCluster()
    try:
        cluster.initdb()
        cluster.start()
    except BaseException:
        cluster.destroy()
        raise
    return cluster
