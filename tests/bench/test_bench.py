"""The benchmark entry point runs end to end on the real servers and writes a well-formed table
(figures only: a benchmark's numbers are never asserted, the machine is shared)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.backends import Backend

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(
    r"^\| [^|]+ \| [^|]+ \| [\d,.]+ [\w/]+ \| [^|]+ \| [^|]+ \| [^|]+ \| (yes|\*\*no\*\*|—) \|$"
)


@pytest.mark.slow
def test_bench_entry_point_writes_a_results_table(
    backend: Backend, real_only: None, tmp_path: Path
) -> None:
    output = tmp_path / "RESULTS.md"
    environment = {
        **os.environ,
        "CASEHUB_BENCH_DATABASE_URL": backend.admin_database_url or "",
        "CASEHUB_BENCH_BROKER_URL": backend.broker_url,
    }
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--tiny",
            "--only",
            "pipeline",
            "--no-profile",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    text = output.read_text()
    assert text.startswith("# Benchmark results")
    assert re.search(r"Machine: cores \d+, .*postgresql \d+.*rabbitmq \d+", text)
    assert "| benchmark | figure | value | baseline | ratio | target | met? |" in text
    rows = [line for line in text.splitlines() if line.startswith("| event pipeline")]
    assert len(rows) == 2 and all(ROW.match(row) for row in rows), rows
    assert re.search(r"\| [\d.]+x \| ≥ 2\.0x baseline \| (yes|\*\*no\*\*) \|", rows[0])
    memory = [line for line in text.splitlines() if line.startswith("| memory")]
    assert len(memory) == 4 and all(re.search(r"\| [\d.]+ MiB \|", row) for row in memory)


def test_outbox_and_inbox_stay_flat_once_their_retention_windows_are_full(
    backend: Backend, real_only: None, tmp_path: Path
) -> None:
    """Weeks of simulated load through the relay's pruning and the worker's inbox expiry: each
    table holds its retention window's events and no more (without the outbox's pruning it would
    hold 44 days' instead of 7: 6.3x), and a further week leaves its size where it was."""
    output = tmp_path / "RESULTS.md"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--only", "retention", "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "CASEHUB_BENCH_DATABASE_URL": backend.admin_database_url or ""},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    rows = [
        line for line in output.read_text().splitlines() if line.startswith("| table retention")
    ]
    assert len(rows) == 4 and all(ROW.match(row) for row in rows), rows
    assert all(row.endswith("| yes |") for row in rows), rows
