"""Benchmark the generic solver of any law against the Chinchilla fast path (run by hand).

    python benchmarks/bench_laws.py [--repeats 5] [--size 1000]

Prints, side by side in one run (median of --repeats):
  - first use of a custom law in a fresh interpreter: parse + derive + lambdify + one solve;
  - a size x size grid (losses x demands) of a five-coefficient custom law (Chinchilla's formula
    given as text), through the generic solver, and the same grid through the fast path;
  - the same number of scenarios with every loss distinct (no curve shared between scenarios);
  - the largest relative difference between the two solvers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

FORMULA = "E + A/N**alpha + B/D**beta"
VALUES = dict(alpha=0.336, beta=0.283, A=406.4, B=410.7, E=1.69)
FIRST_USE = f"""
import time
t = time.perf_counter()
from symscale.laws.registry import custom
from symscale.solvers.generic import solve_law
solve_law(custom({FORMULA!r}), {VALUES!r}, 2.0, 6.0, 2e12)
print(time.perf_counter() - t)
"""


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    opts = parser.parse_args()

    from symscale import solve_compute_optimal
    from symscale.laws.registry import custom
    from symscale.solvers.generic import solve_law

    first = statistics.median(float(subprocess.run([sys.executable, "-c", FIRST_USE], capture_output=True,
                                                   text=True, check=True).stdout) for _ in range(opts.repeats))
    law = custom(FORMULA)
    solve_law(law, VALUES, 2.0, 6.0, 2e12)  # lambdify outside the timing
    loss, demand = np.meshgrid(np.linspace(1.8, 2.6, opts.size), np.geomspace(1e9, 1e15, opts.size), indexing="ij")
    n = loss.size
    generic = median_time(lambda: solve_law(law, VALUES, loss, 6.0, 2 * demand), opts.repeats)
    fast = median_time(lambda: solve_compute_optimal(loss, demand), opts.repeats)
    rng = np.random.default_rng(0)
    distinct_loss = rng.uniform(1.8, 2.6, n)
    distinct = median_time(lambda: solve_law(law, VALUES, distinct_loss, 6.0, 2 * demand.ravel()),
                           max(1, opts.repeats // 2))
    a, b = solve_law(law, VALUES, loss, 6.0, 2 * demand), solve_compute_optimal(loss, demand)
    worst = max(np.max(np.abs(a.params / b.params - 1)), np.max(np.abs(a.tokens / b.tokens - 1)))
    print(f"first use of a custom law (fresh process: parse, derive, lambdify, solve): {first:.2f} s")
    print(f"{n:.0e} scenarios ({opts.size} losses x {opts.size} demands):")
    print(f"  generic solver      {generic:7.3f} s  ({1e9 * generic / n:6.0f} ns/scenario)")
    print(f"  Chinchilla fast path {fast:6.3f} s  ({1e9 * fast / n:6.0f} ns/scenario)  -> generic / fast = "
          f"{generic / fast:.1f}x")
    print(f"  every loss distinct {distinct:7.3f} s  ({1e9 * distinct / n:6.0f} ns/scenario)")
    print(f"  largest relative difference generic vs fast: {worst:.1e}")


if __name__ == "__main__":
    main()
