"""Benchmark `symscale sweep` on a 1000 x 1000 grid (run by hand: `python benchmarks/bench_sweep.py`).

Times, for the compute and the cost objective: (a) the one vectorised solve of 10^6 scenarios,
(b) writing the CSV and the JSON table to /dev/null with the byte-array formatter, against pandas'
``to_csv`` on the same table, and (c) the whole command writing a CSV file. Wall-clock and CPU times
are both printed: on a shared machine the wall clock includes waiting for other processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from symscale.sweep import sweep_table, write_table

LOSSES = np.linspace(1.9, 2.6, 1000)
TOKENS = np.geomspace(1e9, 1e14, 1000)


def timed(label: str, func):
    """Run ``func`` once; print wall and CPU seconds; return its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    print(f"{label:55s} wall {time.perf_counter() - wall:6.2f} s   cpu {time.process_time() - cpu:6.2f} s")
    return result


def write(table: dict, fmt: str) -> None:
    with open(os.devnull, "w") as handle:
        write_table(table, handle, fmt)


def main() -> None:
    compute = timed("solve 1000 x 1000, compute objective", lambda: sweep_table(LOSSES, TOKENS))
    cost = timed("solve 1000 x 1000, cost objective (requests)",
                 lambda: sweep_table(LOSSES, TOKENS / 285, demand_kind="requests", objective="cost"))
    timed(f"write CSV, compute table ({len(compute)} columns)", lambda: write(compute, "csv"))
    timed("write JSON, compute table", lambda: write(compute, "json"))
    timed(f"write CSV, cost table ({len(cost)} columns)", lambda: write(cost, "csv"))
    if "--pandas" in sys.argv:
        import pandas as pd

        frame = pd.DataFrame(compute)
        timed("pandas DataFrame.to_csv, compute table (for comparison)", lambda: frame.to_csv(os.devnull))
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "symscale", "sweep", "--loss", "1.9:2.6:1000", "--inference-tokens",
                   "1e9:1e14:1000", "--log-demand", "-o", os.path.join(tmp, "grid.csv"), "--quiet"]
        timed("whole command: sweep 1000 x 1000 -o grid.csv", lambda: subprocess.run(command, check=True))
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
