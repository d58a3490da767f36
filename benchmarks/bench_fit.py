"""Benchmark of ``symscale fit`` against Chinchilla's procedure (scipy L-BFGS-B from 4,500 starts).

Run by hand: ``python benchmarks/bench_fit.py [--repeats 5] [--lbfgs-repeats 1]``. Prints median wall
times of the whole command (a fresh process, imports included; --repeats runs), of ``--bootstrap 1000``
(--repeats // 2 runs, at least 1), and of the plain L-BFGS-B loop with exact gradients (--lbfgs-repeats
runs), plus the objectives each reaches.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = "sardana-2024"  # the bundled 47 runs of the paper


def time_command(args: list[str], repeats: int) -> float:
    """Median wall time of ``symscale <args>`` in a fresh interpreter."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).with_name("symscale")), *args], check=True, capture_output=True
        )
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def time_lbfgs(repeats: int) -> tuple[float, float]:
    """Median time and best objective of scipy L-BFGS-B from every point of Chinchilla's grid."""
    from symscale.solvers import fit as F

    runs = F.load_runs(RUNS)
    times, best = [], float("nan")
    for _ in range(repeats):
        began = time.perf_counter()
        _, best = F.reference_lbfgs(runs)
        times.append(time.perf_counter() - began)
    return statistics.median(times), best


def main() -> None:
    """Run the benchmark and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lbfgs-repeats", type=int, default=1)
    opts = parser.parse_args()
    from symscale.solvers import fit as F

    ours = F.fit(F.load_runs(RUNS))
    fit_s = time_command(["fit", str(RUNS)], opts.repeats)
    boot_s = time_command(
        ["fit", str(RUNS), "--bootstrap", "1000", "--seed", "0", "--quiet"], max(opts.repeats // 2, 1)
    )
    lbfgs_s, lbfgs_f = time_lbfgs(opts.lbfgs_repeats)
    print(
        f"symscale fit (whole command, median of {opts.repeats}):      {fit_s:8.2f} s   "
        f"objective {ours.objective:.15e}"
    )
    print(f"symscale fit --bootstrap 1000 (median of {max(opts.repeats // 2, 1)}):              {boot_s:8.2f} s")
    print(
        f"scipy L-BFGS-B x 4500 starts (median of {opts.lbfgs_repeats}):          {lbfgs_s:8.2f} s   "
        f"objective {lbfgs_f:.15e}"
    )
    print(
        f"relative objective difference (symscale - L-BFGS)/L-BFGS: "
        f"{(ours.objective - lbfgs_f) / lbfgs_f:+.3e}"
    )


if __name__ == "__main__":
    main()
