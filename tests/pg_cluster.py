"""A throwaway PostgreSQL cluster for the tests and the benches: Debian's ``postgresql``
binaries, ``initdb`` in a temporary folder and ``pg_ctl start`` on a free loopback port.

``find_server()`` says why PostgreSQL cannot run here (None when it can);
``Cluster.start(folder)`` makes and starts a cluster, ``.url(dbname)`` connects to it,
``.create_database(name, template)`` / ``.drop_database(name)`` make and remove
databases, ``.stop()`` stops it and removes its folder. initdb refuses to run as root,
so under root the server runs as the unprivileged ``postgres`` user (``runuser``) on a
folder chowned to it. The cluster trusts every local connection and does not fsync:
for tests only. Every wait is bounded. The benches import it with ``sys.path``.
psycopg is imported only where a cluster runs, so ``find_server`` can say it is missing.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from helpers import free_port

from hq.database import open_store

SERVER_USER = "postgres"
READY_TIMEOUT = 30  # seconds for initdb, a start, a stop
SETTINGS = {  # appended to postgresql.conf; speed over durability, loopback only
    "listen_addresses": "'127.0.0.1'", "fsync": "off", "synchronous_commit": "off",
    "full_page_writes": "off", "max_connections": "300", "log_min_messages": "warning",
}


def bin_dir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: the newest under /usr/lib/postgresql, else
    the one on PATH, else None."""
    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_root() -> bool:
    return os.geteuid() == 0


def find_server() -> str | None:
    """Return why a cluster cannot be started here, or None if it can."""
    folder = bin_dir()
    if folder is None:
        return ("PostgreSQL is not installed: no initdb under /usr/lib/postgresql/*/bin or "
                "on PATH (apt-get install postgresql)")
    if not (folder / "pg_ctl").exists():
        return f"no pg_ctl next to {folder / 'initdb'}"
    if _as_root():
        if shutil.which("runuser") is None:
            return "running as root without runuser to start the server as another user"
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no unprivileged {SERVER_USER!r} user"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed"
    return None


class Cluster:
    """A running throwaway cluster (``Cluster.start``), reached as user ``postgres``."""

    def __init__(self, folder: Path, port: int, bin_folder: Path):
        self.folder, self.port, self.bin = folder, port, bin_folder
        self.data, self.log = folder / "data", folder / "server.log"

    # -- starting and stopping --------------------------------------------------------------
    @classmethod
    def start(cls, folder: str | Path | None = None) -> "Cluster":
        """initdb in ``folder`` (made if missing; a new temporary one if None) and start
        the server on a free 127.0.0.1 port; raise RuntimeError with the server's log if
        it does not come up in time. Under root the ``postgres`` user must be able to reach
        ``folder`` (a pytest ``tmp_path`` is root's alone; a new temporary folder is fine)."""
        reason = find_server()
        if reason:
            raise RuntimeError(reason)
        folder = Path(folder or tempfile.mkdtemp(prefix="frontdesk-pg-")).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        if _as_root():  # the server user must own the folder and reach it
            shutil.chown(folder, SERVER_USER, SERVER_USER)
        cluster = cls(folder, 0, bin_dir())
        try:
            cluster._run("initdb", "-D", str(cluster.data), "-A", "trust", "-U", SERVER_USER,
                         "--no-sync", "-E", "UTF8", "--locale=C")
            with open(cluster.data / "postgresql.conf", "a") as conf:
                conf.write("".join(f"{k} = {v}\n" for k, v in SETTINGS.items()))
                conf.write(f"unix_socket_directories = '{folder}'\n")
            for _ in range(3):  # a free port may be taken before the server binds it
                cluster.port = free_port()
                done = cluster._run("pg_ctl", "start", "-D", str(cluster.data), "-l",
                                    str(cluster.log), "-w", "-t", str(READY_TIMEOUT), "-o",
                                    f"-p {cluster.port}", check=False)
                if done.returncode == 0:
                    break
            else:
                raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{cluster.tail()}")
            cluster._wait_ready()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run one of the server's programs as the server user, bounded in time."""
        command = [str(self.bin / program), *args]
        if _as_root():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True,
                              timeout=READY_TIMEOUT + 10, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}"
                               f"\n{done.stderr}\n{self.tail()}")
        return done

    def _wait_ready(self) -> None:
        """Wait until the server accepts connections (pg_isready), at most READY_TIMEOUT."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            ready = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1",
                                    "-p", str(self.port), "-t", "2"], timeout=10)
            if ready.returncode == 0:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"PostgreSQL not ready in {READY_TIMEOUT} s:\n{self.tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (fast: sessions are cut) and remove the folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                stopped = self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast",
                                    "-w", "-t", str(READY_TIMEOUT), check=False)
                if stopped.returncode != 0:
                    self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate",
                              "-w", "-t", str(READY_TIMEOUT), check=False)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def tail(self, chars: int = 3000) -> str:
        """The end of the server's log."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- databases ----------------------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{dbname}"

    def _admin(self, statement):
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as db:
            db.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE ``name`` (a copy of ``template`` if given); return its url.

        The template must have no open connection while it is copied."""
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._admin(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ``name`` if it exists, cutting its open connections."""
        from psycopg import sql

        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


class HQDatabases:
    """Fresh HQ databases on a cluster, each a copy of one template that already holds
    HQ's migrated schema: a new database costs a CREATE DATABASE, not a migration."""

    TEMPLATE = "hq_template"

    def __init__(self, cluster: Cluster):
        self.cluster, self._made, self._template = cluster, 0, False

    def _make_template(self) -> None:
        url = self.cluster.create_database(self.TEMPLATE)
        with tempfile.TemporaryDirectory() as folder:
            open_store(folder, url).close()  # applies every migration
        self._template = True

    def new(self, name: str | None = None) -> tuple[str, str]:
        """Create an empty HQ database with its own ``hq_epoch`` (named ``name``, else a
        new name); return (name, url)."""
        import psycopg

        if not self._template:
            self._make_template()
        if name is None:
            self._made += 1
            name = f"hq_{self._made}"
        url = self.cluster.create_database(name, template=self.TEMPLATE)
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
            db.execute("UPDATE meta SET value = %s WHERE key = 'hq_epoch'",
                       (secrets.token_hex(16),))  # a copy would share the template's
        return name, url

    def drop(self, name: str) -> None:
        self.cluster.drop_database(name)
