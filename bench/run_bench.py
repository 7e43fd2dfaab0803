"""Run Osler's benchmarks: ``.venv/bin/python bench/run_bench.py [NAME ...]`` (or ``make bench``).

Each benchmark is a module ``bench/<name>.py`` listed in ``BENCHMARKS`` with a function
``run(options: BenchOptions) -> dict`` that returns ``{"name", "title", "figures", "rows"}`` (``rows``
being ``bench.common.Row``s for the results table), or raises ``BenchSkipped`` when it cannot run
here. For each one this driver writes ``bench/results/<name>.json`` (machine facts and every figure)
and ``bench/results/<name>.md`` (the table), and prints the table.

Exit status: 0 when every benchmark ran or was skipped (a missing ../shared/data is a skip, not a
failure), 1 when one failed. A target that is not met is a finding, not a failure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

# Later benchmarks (scheduling, lab, DME, ETL…) add their module name here.
BENCHMARKS = ["foundation", "scheduling", "care", "etl", "dme_latency", "dme_ocr", "dme_dedupe"]


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turned into SystemExit so that the benchmarks' ``finally`` blocks stop the servers they started.
    raise SystemExit(128 + signum)


def _markdown(result: dict[str, Any], machine: dict[str, Any]) -> str:
    from bench.common import markdown_table

    facts = (
        f"{machine['date']} · {machine['cpu_model']} · {machine['cores']} cores · "
        f"{machine['ram_gib']} GiB RAM · Python {machine['python']}"
    )
    return f"# {result['title']}\n\n{facts}\n\n{markdown_table(result['rows'])}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run, of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--duration", type=int, default=15, help="seconds of each measured wrk run (15)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of the unmeasured wrk run before it (3)")
    arguments = parser.parse_args(argv)
    unknown = sorted(set(arguments.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")

    # Run as a script, the repository root is not on the path; the bench package lives there.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    common = importlib.import_module("bench.common")
    options = common.BenchOptions(wrk_duration_s=arguments.duration, wrk_warmup_s=arguments.warmup)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    machine = common.machine_facts()
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    for name in arguments.names or BENCHMARKS:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            result = module.run(options)
        except common.BenchSkipped as skipped:
            print(f"{name}: skipped: {skipped}", flush=True)
            continue
        except Exception:
            traceback.print_exc()
            print(f"{name}: FAILED (no results written)", flush=True)
            failed.append(name)
            continue
        record = {
            "name": result["name"],
            "title": result["title"],
            "machine": machine,
            "options": asdict(options),
            "figures": result["figures"],
            "table": [asdict(row) for row in result["rows"]],
        }
        (common.RESULTS_DIR / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
        markdown = _markdown(result, machine)
        (common.RESULTS_DIR / f"{name}.md").write_text(markdown)
        print(markdown, flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
