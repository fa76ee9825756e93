"""Each benchmark script runs end to end at a toy size on SQLite (bench/README.md).

No timings are asserted: the benchmarks' numbers belong in bench/RESULTS.md. This only proves
the scripts still work against the current code (setup, the app's own paths, the floor's SQL,
the checks each script makes of its own results), so a change to the app cannot silently
break them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

RUNS = {
    "posting": [
        "posting.py",
        "--db",
        "sqlite",
        "--exchanges",
        "4",
        "--clients",
        "1,2",
        "--rounds",
        "1",
        "--members",
        "30",
    ],
    "pages": ["pages.py", "--db", "sqlite", "--size", "toy", "--seconds", "1", "--users", "2", "--tool", "python"],
    "close": ["close.py", "--db", "sqlite", "--size", "toy", "--repeat", "1"],
    "export": ["export_memory.py", "--db", "sqlite", "--rows", "50,500"],
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_benchmark_runs_at_toy_size(name: str, tmp_path: Path) -> None:
    if name == "pages" and shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("gunicorn is not installed beside this Python")
    script, *args = RUNS[name]
    env = {**os.environ, "BENCH_DATA_DIR": str(tmp_path)}
    finished = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--no-save"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-3000:]
    assert "| ratio" in finished.stdout or "| x bare" in finished.stdout or "| x smallest" in finished.stdout
