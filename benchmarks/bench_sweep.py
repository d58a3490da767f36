"""Benchmark `symscale sweep` on a 1000 x 1000 grid (run by hand: `python benchmarks/bench_sweep.py`).

Times, for the compute and the cost objective: (a) the one vectorised solve of 10^6 scenarios,
(b) writing the CSV and the JSON table to /dev/null with the byte-array formatter, against pandas'
``to_csv`` on the same table, and (c) the whole command writing a CSV file. Wall-clock and CPU times
are both printed: on a shared machine the wall clock includes waiting for other processes.

`python benchmarks/bench_sweep.py large [--compare PATH] [--huge]`: the issue's 9e6-row sweep to CSV and to
Parquet (median of 3 fresh processes, peak RSS from /usr/bin/time -v), beside the code at PATH (e.g. /work/main);
--huge adds 10^8 rows to Parquet under prlimit --as=4e9 (about 13 GiB of disk).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from symscale.scenarios.sweep import sweep_table, write_table

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




# --- large streamed sweeps (`python benchmarks/bench_sweep.py large [--compare /work/main] [--huge]`) ---------
GRID_9M = ["--loss", "1.8:2.6:3000", "--inference-tokens", "1e9:1e15:3000", "--log-demand"]
GRID_1E8 = ["--loss", "1.8:2.6:10000", "--inference-tokens", "1e9:1e15:10000", "--log-demand"]


def run_measured(code_path: str, args: list[str], limit: int | None = None) -> tuple[float, float, int, float]:
    """One `symscale sweep` in a fresh process under /usr/bin/time -v: (wall s, peak RSS MB, exit status)."""
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "symscale", "sweep", *args, "--quiet"]
    if limit:
        command = ["prlimit", f"--as={limit}", *command]
    env = {**os.environ, "PYTHONPATH": code_path}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())  # not the tree
    wall = time.perf_counter() - start
    rss = max((int(line.split()[-1]) for line in done.stderr.splitlines() if "Maximum resident" in line), default=0)
    cpu = sum(float(line.split()[-1]) for line in done.stderr.splitlines()
              if line.strip().startswith(("User time", "System time")))  # the process and its workers
    return wall, rss / 1024, done.returncode, cpu


def large(repeats: int = 3) -> None:
    import statistics

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    compare = sys.argv[sys.argv.index("--compare") + 1] if "--compare" in sys.argv else None
    cases = [("9e6 rows -> CSV", GRID_9M, "grid.csv", None), ("9e6 rows -> Parquet", GRID_9M, "grid.parquet", None)]
    if "--huge" in sys.argv:
        cases.append(("1e8 rows -> Parquet (prlimit --as=4e9)", GRID_1E8, "grid.parquet", 4_000_000_000))
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        for label, grid, name, limit in cases:
            for code_label, code_path in (("this tree", here), ("compare", compare)):
                if code_path is None or (code_label == "compare" and name.endswith(".parquet")):
                    continue
                runs = [run_measured(code_path, [*grid, "-o", os.path.join(tmp, name)], limit)
                        for _ in range(1 if limit or code_label == "compare" else repeats)]
                walls, rss = [r[0] for r in runs], [r[1] for r in runs]
                path = os.path.join(tmp, name)
                size = os.path.getsize(path) / 2**20 if os.path.exists(path) else 0
                print(f"{label:42s} {code_label:9s} wall median {statistics.median(walls):6.2f} s "
                      f"cpu {statistics.median(r[3] for r in runs):6.2f} s "
                      f"(of {len(runs)}: {', '.join(f'{w:.1f}' for w in walls)})  peak RSS {max(rss):6.0f} MB  "
                      f"exit {runs[-1][2]}  file {size:.0f} MiB", flush=True)
                if os.path.exists(path):
                    os.unlink(path)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    large() if sys.argv[1:2] == ["large"] else main()
