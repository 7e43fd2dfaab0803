"""What every Osler benchmark needs: a throwaway server, wrk, machine facts, the results table."""

from __future__ import annotations

import contextlib
import datetime
import http.client
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
WRK_SCRIPT = REPO_ROOT / "bench" / "wrk_paths.lua"

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class BenchSkipped(Exception):
    """A benchmark cannot run here (say, no reference data); the driver reports it and goes on."""


@dataclass(frozen=True)
class BenchOptions:
    """Load settings shared by every benchmark; the defaults are the ones the targets assume."""

    wrk_threads: int = 2
    wrk_connections: int = 16
    wrk_duration_s: int = 15
    # A short unmeasured run first, so that the measured one sees warm caches and open pools.
    wrk_warmup_s: int = 3
    server_workers: int = 2


@dataclass(frozen=True)
class Row:
    """One line of a results table."""

    measure: str
    result: str
    target: str = "—"
    met: str = "—"


def verdict(met: bool, problem: str = "") -> str:
    """The "met?" cell: a measure with errors behind it never counts as met."""
    if problem:
        return f"no ({problem})"
    return "yes" if met else "no"


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| measure | result | target | met? |", "| --- | --- | --- | --- |"]
    lines += [f"| {row.measure} | {row.result} | {row.target} | {row.met} |" for row in rows]
    return "\n".join(lines)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------------


def osler_executable() -> Path:
    """The ``osler`` command of the virtualenv running this driver (``.venv/bin/osler``)."""
    beside = Path(sys.executable).parent / "osler"
    if beside.exists():
        return beside
    found = shutil.which("osler")
    if found is None:
        raise RuntimeError("no `osler` command: run `pip install -e .` (or `make bench`) first")
    return Path(found)


def _log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class OslerServer:
    """A live ``osler serve`` on 127.0.0.1 with a fresh, empty ``OSLER_HOME``."""

    base_url: str
    home: Path
    log: Path
    env: dict[str, str] = field(repr=False)


@contextlib.contextmanager
def osler_server(workers: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[OslerServer]:
    """Run ``osler db upgrade`` then ``osler serve`` in a fresh home; stop and delete it on exit.

    Inherited ``OSLER_*`` variables are dropped so that the measured server is exactly the default
    one (embedded SQLite in ``OSLER_HOME``), whatever the caller's shell says. The server runs in its
    own session so that stopping it takes its worker processes down too, on every exit path.
    """
    executable = osler_executable()
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="osler-bench-"))
    log = home / "server.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSLER_")}
    env.update(
        {
            "OSLER_HOME": str(home),
            "OSLER_BENCH_ENDPOINTS": "1",
            # So that links the server writes (Bundle.link next…) point at this port.
            "OSLER_BASE_URL": f"http://127.0.0.1:{port}/fhir",
        }
    )
    env.update(extra_env or {})
    process: subprocess.Popen[bytes] | None = None
    try:
        with log.open("ab") as out:
            upgrade = subprocess.run(
                [str(executable), "db", "upgrade"],
                cwd=home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=300,
                check=False,
            )
        if upgrade.returncode != 0:
            raise RuntimeError(f"`osler db upgrade` failed ({upgrade.returncode}):\n{_log_tail(log)}")
        command = [
            str(executable),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                cwd=home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(process, base_url, log)
        yield OslerServer(base_url=base_url, home=home, log=log, env=env)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(home, ignore_errors=True)


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_problem = "no answer yet"
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"`osler serve` exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                response = client.get("/fhir/metadata", headers={"Accept": "application/fhir+json"})
                if response.status_code == 200:
                    return
                last_problem = f"GET /fhir/metadata answered {response.status_code}"
            except httpx.HTTPError as error:
                last_problem = f"{type(error).__name__}: {error}"
            time.sleep(0.25)
    raise RuntimeError(f"`osler serve` not ready after {READY_TIMEOUT_S:.0f} s ({last_problem}):\n{_log_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's whole process group, SIGKILL it if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
    # Workers may outlive a parent that died first; the group is gone only when they are too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# ---------------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------------

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


@dataclass(frozen=True)
class WrkResult:
    """The figures of one wrk run, as wrk printed them (times in milliseconds)."""

    requests_per_second: float
    requests: int
    duration_s: float
    latency_avg_ms: float
    latency_p50_ms: float
    latency_p75_ms: float
    latency_p90_ms: float
    latency_p99_ms: float
    non_2xx_3xx: int
    errors_connect: int
    errors_read: int
    errors_write: int
    errors_timeout: int

    @property
    def problem(self) -> str:
        """Why the run's figures cannot be trusted as they stand, or ``""``."""
        problems = []
        if self.requests == 0:
            problems.append("no request completed")
        if self.non_2xx_3xx:
            problems.append(f"{self.non_2xx_3xx} non-2xx/3xx")
        errors = self.errors_connect + self.errors_read + self.errors_write + self.errors_timeout
        if errors:
            problems.append(
                f"socket errors: connect {self.errors_connect}, read {self.errors_read}, "
                f"write {self.errors_write}, timeout {self.errors_timeout}"
            )
        return "; ".join(problems)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]


def parse_wrk_output(output: str) -> WrkResult:
    """Read the figures out of ``wrk --latency`` output (raises ``ValueError`` when they are not there)."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, flags=re.MULTILINE)
        if match is None:
            raise ValueError(f"wrk output has no {pattern!r}:\n{output}")
        return match

    def percentile(which: int) -> float:
        match = find(rf"^\s*{which}%\s+{_TIME}\s*$")
        return _to_ms(match.group(1), match.group(2))

    totals = find(rf"^\s*(\d+) requests in {_TIME}")
    average = find(rf"^\s*Latency\s+{_TIME}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    connect, read, write, timeout = (int(n) for n in sockets.groups()) if sockets else (0, 0, 0, 0)
    return WrkResult(
        requests_per_second=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        requests=int(totals.group(1)),
        duration_s=_to_ms(totals.group(2), totals.group(3)) / 1000.0,
        latency_avg_ms=_to_ms(average.group(1), average.group(2)),
        latency_p50_ms=percentile(50),
        latency_p75_ms=percentile(75),
        latency_p90_ms=percentile(90),
        latency_p99_ms=percentile(99),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors_connect=connect,
        errors_read=read,
        errors_write=write,
        errors_timeout=timeout,
    )


def wrk_executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError(
            "wrk not found: install Debian's package (`make bench` does, as root: "
            "scripts/install_system_packages.sh wrk)"
        )
    return found


def run_wrk(base_url: str, paths: Sequence[str], options: BenchOptions) -> tuple[WrkResult, str]:
    """GET ``paths`` round and round with wrk (after an unmeasured warm-up); the result and wrk's text."""
    if not paths:
        raise ValueError("no request paths to load")
    with tempfile.TemporaryDirectory(prefix="osler-wrk-") as scratch:
        paths_file = Path(scratch) / "paths.txt"
        paths_file.write_text("".join(f"{path}\n" for path in paths))

        def wrk(duration_s: int) -> str:
            command = [
                wrk_executable(),
                f"-t{options.wrk_threads}",
                f"-c{options.wrk_connections}",
                f"-d{duration_s}s",
                # wrk's default of 2 s would turn slow answers into "timeouts" left out of the
                # latency figures; a longer one keeps them in the p99 where they belong.
                "--timeout",
                "10s",
                "--latency",
                "-s",
                str(WRK_SCRIPT),
                base_url,
                "--",
                str(paths_file),
            ]
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=duration_s + 60,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}\n{done.stdout}")
            return done.stdout

        if options.wrk_warmup_s > 0:
            wrk(options.wrk_warmup_s)
        output = wrk(options.wrk_duration_s)
    return parse_wrk_output(output), output


# ---------------------------------------------------------------------------------------------------
# Machine facts
# ---------------------------------------------------------------------------------------------------


def _proc_field(path: str, name: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    return None


def machine_facts() -> dict[str, object]:
    """What the figures were measured on, for the results file."""
    mem_total = _proc_field("/proc/meminfo", "MemTotal")  # "24576000 kB"
    ram_gib = round(int(mem_total.split()[0]) / 1024 / 1024, 1) if mem_total else None
    wrk_version = None
    with contextlib.suppress(OSError, RuntimeError):
        # wrk has no --version: -v prints the version then the usage, and exits non-zero.
        first_line = subprocess.run(
            [wrk_executable(), "-v"], capture_output=True, text=True, check=False
        ).stdout.splitlines()
        wrk_version = first_line[0] if first_line else None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or None,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": wrk_version,
    }


# ---------------------------------------------------------------------------------------------------
# load generators in a process of their own
# ---------------------------------------------------------------------------------------------------


def _child(sender: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Child process body: run ``function`` and send back its result (or the traceback)."""
    try:
        sender.send({"result": function(*args)})
    except Exception:
        sender.send({"error": traceback.format_exc()})
    finally:
        sender.close()


def run_in_child(what: str, function: Callable[..., Any], *args: Any) -> Any:
    """Run a load generator in its own process, so that the client's work does not count as the server's.

    A plain process rather than a pool: on an interrupt it can be terminated at once, where a pool
    would first wait for the whole run to finish. ``function`` must be importable (spawn).
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, args), daemon=True)
    process.start()
    sender.close()  # so that recv() sees end of file if the child dies without answering
    try:
        answer = receiver.recv()
    except EOFError:
        raise RuntimeError(f"the {what} load generator died (exit code {process.exitcode})") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()
    if "error" in answer:
        raise RuntimeError(f"the {what} load generator failed:\n{answer['error']}")
    return answer["result"]


@dataclass
class Answer:
    """One HTTP answer as the load generators need it."""

    status_code: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class KeepAliveClient:
    """One keep-alive HTTP/1.1 connection that sends JSON: the write benchmarks' load generator.

    ``http.client`` rather than httpx on purpose: the load generator shares the machine's two cores
    with the server it measures, and httpx spent ~1.0 ms of CPU per lab-result POST against ~0.3 ms
    here (measured in the same run), time the server would otherwise have had. Requests are the same
    bytes on the wire.
    """

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 60.0) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=timeout)
        self._headers = {"Content-Type": "application/json", **(headers or {})}

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Answer:
        self._connection.request("POST", path, body=orjson.dumps(body), headers={**self._headers, **(headers or {})})
        response = self._connection.getresponse()
        return Answer(response.status, response.getheader("content-type", ""), response.read())

    def close(self) -> None:
        self._connection.close()


def run_threads(threads: Sequence[threading.Thread]) -> float:
    """Start the load generator's threads together, wait for all of them; the wall time in seconds."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started
