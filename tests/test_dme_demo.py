"""``osler dme demo`` end to end: an Osler server started in a temporary home, seeded with EHR orders, a fax
folder of the other cases' paperwork, the pipeline run once — it must deliver a packet and a decision for
every order it seeded or received (about 30 s)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_demo_seeds_an_ehr_and_a_fax_folder_and_delivers_every_order(tmp_path: Path) -> None:
    env = {**os.environ, "OSLER_HOME": str(tmp_path), "OSLER_CONFIG": str(tmp_path / "no-osler.toml"),
           "COLUMNS": "200"}
    ran = subprocess.run([sys.executable, "-m", "osler.cli", "dme", "demo"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    seeded = re.search(r"seeded (\d+) EHR orders at \S+ and (\d+) faxes", ran.stdout)
    assert seeded and int(seeded.group(1)) == 3 and int(seeded.group(2)) > 0
    packets = re.search(r"(\d+) packet\(s\) delivered", ran.stdout)
    assert packets and int(packets.group(1)) == 6  # 3 EHR orders and the 3 faxed cases' orders
    decisions = re.findall(r"│ (qualified|missing|needs-review|not-dme) +│", ran.stdout)
    assert len(decisions) == 6
    assert sum(line.count("│ fax:") for line in ran.stdout.splitlines()) == 3
