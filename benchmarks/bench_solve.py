"""Benchmark the solver (run by hand: `python benchmarks/bench_solve.py`; needs scipy).

(a) vectorised solve of 1,000,000 random scenarios against a per-scenario scipy.optimize.newton loop
    on a sample, extrapolated to the same count;
(b) whole-process wall time of `symscale solve --loss 1.947 --inference-tokens 2e12` against
    `python -c "import scipy.optimize"`;
(c) ns per scenario of `solve_compute_optimal` for 1e3 ... 1e7 scenarios, chunked (the default) and in one
    piece (SOLVE_CHUNK raised past the size), wall and CPU time and the peak RSS of a fresh process per size.
Medians of several runs are reported. `python benchmarks/bench_solve.py sizes` runs (c) only.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np

from symscale import solve_compute_optimal
from symscale.kernels import chinchilla as kernels
from symscale.solvers.solve import coefficient_values


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


def _one_size(n: int, mode: str, threads: int, repeats: int) -> None:
    """(c) in this process: print 'wall_ns cpu_ns peak_rss_mb' for ``n`` scenarios."""
    import resource

    import symscale.solvers.solve as S

    if mode == "whole":
        S.SOLVE_CHUNK = 10**12
    S.SOLVE_THREADS = threads
    loss, demand = _scenarios(n)
    solve_compute_optimal(loss[:100], demand[:100])  # warm up (first calls of every kernel)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        solve_compute_optimal(loss, demand)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{statistics.median(walls) / n * 1e9:.0f} {statistics.median(cpus) / n * 1e9:.0f} {rss:.0f}")


def bench_sizes() -> None:
    print("(c) solve_compute_optimal, ns per scenario (median), peak RSS of the process:")
    print(f"    {'scenarios':>10s}  {'mode':16s} {'wall ns':>8s} {'cpu ns':>8s} {'RSS MB':>8s}")
    for n in (10**3, 10**4, 10**5, 10**6, 10**7):
        repeats = 7 if n <= 10**6 else 3
        for mode, threads in (("chunked", 1), ("chunked", 2), ("whole", 1)):
            out = subprocess.run([sys.executable, __file__, "--one", str(n), mode, str(threads), str(repeats)],
                                 check=True, capture_output=True, text=True).stdout.split()
            label = f"{mode}, {threads} thread" + "s" * (threads > 1)
            print(f"    {n:>10.0e}  {label:16s} {out[0]:>8s} {out[1]:>8s} {out[2]:>8s}")
    print(f"    load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        _one_size(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1:2] == ["sizes"]:
        bench_sizes()
    else:
        bench_vectorised()
        bench_process()
        bench_sizes()
