"""Benchmark the solver (run by hand: `python benchmarks/bench_solve.py`; needs scipy).

(a) vectorised solve of 1,000,000 random scenarios against a per-scenario scipy.optimize.newton loop
    on a sample, extrapolated to the same count;
(b) whole-process wall time of `symscale solve --loss 1.947 --inference-tokens 2e12` against
    `python -c "import scipy.optimize"`.
Medians of several runs are reported.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import numpy as np

from symscale import kernels, solve_compute_optimal
from symscale.solve import coefficient_values


def _scenarios(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 1.69 + 10 ** rng.uniform(-2, 0.5, n), 10 ** rng.uniform(0, 20, n)


def _median_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_vectorised(n: int = 1_000_000, sample: int = 2000) -> None:
    from scipy.optimize import newton

    loss, demand = _scenarios(n)
    vec = _median_time(lambda: solve_compute_optimal(loss, demand), repeats=5)
    coeffs = coefficient_values(None)

    def scalar_loop() -> None:
        for l_i, d_i in zip(loss[:sample], demand[:sample], strict=True):
            args = (l_i, d_i / 3, *coeffs)
            x0 = float(kernels.log_chinchilla_tokens(l_i, *coeffs))
            newton(lambda x, a=args: kernels.reduced_log(x, *a)[0], x0,
                   fprime=lambda x, a=args: kernels.reduced_log(x, *a)[1], tol=1e-14, maxiter=100)

    loop = _median_time(scalar_loop, repeats=3) * n / sample
    print(f"(a) vectorised solve of {n:,} scenarios: {vec:.3f} s (median of 5)")
    print(f"    scipy.optimize.newton loop, {sample} scenarios extrapolated to {n:,}: {loop:.1f} s (median of 3)")
    print(f"    speed-up: {loop / vec:.0f}x")


def bench_process(repeats: int = 7) -> None:
    cli = [sys.executable, "-m", "symscale", "solve", "--loss", "1.947", "--inference-tokens", "2e12"]
    scipy_only = [sys.executable, "-c", "import scipy.optimize"]
    t_cli = _median_time(lambda: subprocess.run(cli, check=True, capture_output=True), repeats)
    t_scipy = _median_time(lambda: subprocess.run(scipy_only, check=True, capture_output=True), repeats)
    print(f"(b) `symscale solve --loss 1.947 --inference-tokens 2e12`: {t_cli:.3f} s (median of {repeats})")
    print(f"    `python -c 'import scipy.optimize'`:                  {t_scipy:.3f} s (median of {repeats})")


if __name__ == "__main__":
    bench_vectorised()
    bench_process()
