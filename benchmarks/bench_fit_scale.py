"""Fit time and peak memory against the number of runs (run by hand: `python benchmarks/bench_fit_scale.py`).

Synthetic runs drawn from the Chinchilla law with 1 % noise (N 1e7..1e11, 1..1000 tokens per parameter) are
written to CSV and fitted by the whole command `symscale fit FILE --quiet` in fresh processes under
`prlimit --as=4e9` (the bundled 47 runs too); wall time is the median of --repeats runs, peak RSS from
/usr/bin/time -v. `--compare PATH` runs the code at PATH (e.g. /work/main) beside this tree for the sizes
it can handle (--compare-max, default 2000 runs); `--bootstrap` adds `--bootstrap 1000` on 10,000 runs.
`--law-sizes 2000,20000` adds fits of Chinchilla's formula given as a custom law (`--law`, a 243-point start
grid) on that many runs: the generic fit's memory, whose starts also run in memory-sized chunks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_runs(n: int, path: str, seed: int = 0) -> None:
    """n synthetic runs as a CSV with the bundled file's column names."""
    rng = np.random.default_rng(seed)
    params = 10 ** rng.uniform(7, 11, n)
    tokens = params * 10 ** rng.uniform(0, 3, n)
    loss = (406.4 * params ** -0.34 + 410.7 * tokens ** -0.28 + 1.69) * np.exp(rng.normal(0, 0.01, n))
    with open(path, "w") as handle:
        handle.write("Parameters,Tokens,Smoothed Loss\n")
        np.savetxt(handle, np.column_stack([params, tokens, loss]), delimiter=",", fmt="%.17g")


def measured(code: str, args: list[str]) -> tuple[float, float, int, float]:
    """(wall s, peak RSS MB, exit status) of `symscale ARGS` with PYTHONPATH=code, in a fresh process."""
    command = ["prlimit", "--as=4000000000", "/usr/bin/time", "-v", sys.executable, "-m", "symscale", *args]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": code},
                          cwd=tempfile.gettempdir())
    wall = time.perf_counter() - began
    rss = max((int(line.split()[-1]) for line in done.stderr.splitlines() if "Maximum resident" in line), default=0)
    cpu = sum(float(line.split()[-1]) for line in done.stderr.splitlines()
              if line.strip().startswith(("User time", "System time")))  # the process and its workers
    return wall, rss / 1024, done.returncode, cpu


LAW_ARGS = ["--law", "E + A/N**alpha + B/D**beta", "--start", "alpha=0.1:0.6:3", "--start", "beta=0.1:0.6:3",
            "--start", "A=10:10000:3", "--start", "B=10:10000:3", "--start", "E=1:2.5:3"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="47,2000,10000,200000")
    parser.add_argument("--compare", default=None)
    parser.add_argument("--compare-max", type=int, default=2000)
    parser.add_argument("--bootstrap", action="store_true")
    parser.add_argument("--law-sizes", default="")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        for size in (int(s) for s in opts.sizes.split(",")):
            path = "sardana-2024" if size == 47 else os.path.join(tmp, f"runs{size}.csv")
            if size != 47:
                write_runs(size, path)
            cases.append((f"fit {size} runs", [path], size))
        if opts.bootstrap:
            path = os.path.join(tmp, "runs10000.csv")
            if not os.path.exists(path):
                write_runs(10_000, path)
            cases.append(("fit 10000 runs --bootstrap 1000", [path, "--bootstrap", "1000", "--seed", "0"], 10_000))
        for size in (int(s) for s in opts.law_sizes.split(",") if s):
            path = os.path.join(tmp, f"runs{size}.csv")
            if not os.path.exists(path):
                write_runs(size, path)
            cases.append((f"fit {size} runs, custom law", [path, *LAW_ARGS], size))
        for label, args, size in cases:
            for name, code in (("this tree", HERE), ("compare", opts.compare)):
                if code is None or (name == "compare" and size > opts.compare_max):
                    continue
                repeats = opts.repeats if name != "compare" else 1
                runs = [measured(code, ["fit", *args, "--quiet"]) for _ in range(repeats)]
                walls = [r[0] for r in runs]
                print(f"{label:34s} {name:9s} wall median {statistics.median(walls):7.2f} s "
                      f"cpu median {statistics.median(r[3] for r in runs):7.2f} s "
                      f"({', '.join(f'{w:.1f}' for w in walls)})  peak RSS {max(r[1] for r in runs):6.0f} MB  "
                      f"exit {runs[-1][2]}", flush=True)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
