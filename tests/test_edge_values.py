"""Numeric edges (issue 18, section 2): extreme option values give one line and exit 2, or a correct answer.

Every command runs in-process with warnings turned into errors, so a numpy RuntimeWarning (or any other
warning) shows up as an internal error and fails the test. The correct answers are checked against the
mpmath re-solve of ``symscale.verify.chinchilla`` (independent of the float Newton iteration).
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import shlex
import subprocess
import sys
import warnings

import mpmath
import pytest
from click.testing import CliRunner

from symscale.base.errors import InputError
from symscale.base.precision import MAX_DPS, MIN_DPS
from symscale.laws.coefficients import NAMES, preset

CHIN = tuple(getattr(preset("chinchilla"), key) for key in NAMES)


def invoke(args: str) -> tuple[int, str, str]:
    """Run the CLI in-process with every warning as an error; (exit status, stdout, stderr)."""
    from symscale.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = CliRunner().invoke(main, shlex.split(args))
    return result.exit_code, result.stdout, result.stderr


# (command line, a fragment the one-line message must contain, fragments it must not contain)
ERRORS = [
    ("solve --loss 1e200", "optimal training tokens D*", ()),
    ("solve --loss 1e308", "loss 1e+308", ()),
    ("solve --loss 1e200 --inference-tokens 2e12", "optimal model size N*", ("too close to E",)),
    ("solve --loss 2 --inference-tokens 1e300", "inference FLOPs", ()),
    ("solve --loss 2 --inference-tokens 1e308", "2 x inference tokens", ()),
    ("calc --params 1e308 --tokens 1e308", "training FLOPs", ()),
    ("calc --params 70e9 --tokens 1e308", "training FLOPs", ()),
    ("calc --params 70e9 --tokens 1e12 --requests 1e10 --tokens-per-request 1e308 --json",
     "--tokens-per-request 1e+308", ()),
    ("solve --loss 1000 --inference-tokens 1e12 --beta 1e-3", "Chinchilla-optimal model's training tokens", ()),
    ("calc --chinchilla --loss 1e308", "loss 1e+308", ("params must be > 0",)),
    ("budget --total-flops 1e300", "budget 1e+300", ("loss 1.69 is not above",)),
    ("solve --alpha 1e-3 --loss 2", "optimal model size N*", ("D*",)),
    ("solve --alpha 1e-320 --loss 2", "--alpha", ()),
    ("solve --loss 2 --verify --dps 100000", f"{MIN_DPS}<=x<={MAX_DPS}", ()),
    ("verify --random 1 --dps 100000", f"{MIN_DPS}<=x<={MAX_DPS}", ()),
    ("budget --total-flops 1e24 --inference-tokens 2e12 --B 1e308", "--B", ()),
    ("budget --total-flops 1e24 --inference-tokens 2e12 --B 1e100", "smallest budget", ()),
    ("budget --total-flops 1e24 --inference-tokens 1e308", "2 x inference tokens", ()),
    ("closed-form --beta 1/3 --k-train 1e-320 --k-inf 4e12", "rho = --k-inf 4e+12 / --k-train", ()),
    ("closed-form --beta 1 --objective cost --requests 1e9 --train-peak-flops 1e-320 --train-gpu-cost 1",
     "train cost per FLOP", ()),
    ("closed-form --beta 1/2 --loss 1e308 --inference-tokens 2e12", "N*", ()),
    ("solve --objective cost --loss 2 --train-gpu-cost 1e-320", "train cost per FLOP", ()),
    ("overhead --loss 1e308 --params 7B --inference-tokens 2e12", "loss 1e+308", ()),
    ("overhead --loss 2 --fraction 1e300", "fraction 1e+300", ()),
    ("overhead --loss 2 --fraction 0.5 --alpha 1e-3", "critical model size", ()),
    ("breakeven --loss 2 --saving 0.1 --A 1e100", "break-even search", ()),
    ("verify --random 3 --seed -1", "--seed", ()),
    ("solve --chinchilla-compute 1e308", "--chinchilla-compute 1e+308", ("loss 1.69 is not above",)),
    ("calc --compute 1e308 --params 1e-300", "tokens = compute / (6 x params)", ()),
    ("calc --params 1e-300 --tokens 1e-300 --json", "training FLOPs", ()),
    ("solve --loss 2 --inference-tokens 1e200 --sensitivity", "sensitivities", ()),
]


@pytest.mark.parametrize("args, fragment, absent", ERRORS, ids=[case[0] for case in ERRORS])
def test_extreme_value_is_one_line_and_exit_2(args, fragment, absent):
    code, out, err = invoke(args)
    assert code == 2, (out, err)
    assert out == ""
    assert len(err.splitlines()) == 1, err
    for word in ("Traceback", "Internal error", "Warning", "inf,", "nan"):
        assert word not in err
    assert fragment in err
    assert "beyond floating-point range" in err or "Invalid value" in err or "float64" in err or "--seed" in err
    for text in absent:
        assert text not in err


def test_solve_and_verify_share_one_dps_limit():
    from symscale.cli import main

    messages = [invoke(f"{cmd} --dps {MAX_DPS + 1}")[2].split(":", 1)[1] for cmd in
                ("solve --loss 2 --verify", "verify --random 1")]
    assert messages[0] == messages[1]
    for name in ("solve", "verify", "closed-form"):
        (dps,) = [p for p in main.commands[name].params if p.name == "dps"]
        assert (dps.type.min, dps.type.max) == (MIN_DPS, MAX_DPS)


def test_coefficient_domains_are_in_help():
    code, out, _ = invoke("solve --help")
    assert code == 0
    flat = " ".join(out.split())
    assert "in [0.001, 10]" in flat and "in [1e-100, 1e+100]" in flat


# --- answers that used to fail: checked against the mpmath re-solve ---------------------------
def precise_optimum(loss: float, k_train: float, k_inf: float, coeffs=CHIN):
    """(N*, D*) at 40 digits from the bracketed mpmath Newton of symscale.verify.chinchilla."""
    from symscale.verify.chinchilla import GUARD, solve_precise

    with mpmath.workdps(40 + GUARD):
        sol = solve_precise(loss, k_train, k_inf, coeffs, 40)
        return float(sol.params), float(sol.tokens)


def test_sweep_of_huge_losses_matches_mpmath():
    code, out, err = invoke("sweep --loss 1e9:2T:50 --inference-tokens 1e9:1e14:6 --log")
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 300
    for row in rows[::7] + [r for r in rows if abs(float(r["loss"]) / 104963613367.32265 - 1) < 1e-9]:
        loss, demand = float(row["loss"]), float(row["inference_tokens"])
        params, tokens = precise_optimum(loss, 6, 2 * demand)
        assert float(row["optimal_tokens"]) == pytest.approx(tokens, rel=1e-9)  # the CSV has 10 digits
        assert float(row["optimal_params"]) == pytest.approx(params, rel=1e-9)


def test_newton_stops_at_rounding_noise():
    """These points made the float Newton oscillate by one ulp for ever (x = ln D* near 0)."""
    from symscale.solvers.solve import solve_compute_optimal

    for loss, demand in ((104963613367.32265, 1e9), (122576363232.89027, 1e9), (1255816307658.5393, 1e10)):
        sol = solve_compute_optimal(loss, demand)
        params, tokens = precise_optimum(loss, 6, 2 * demand)
        assert float(sol.tokens) == pytest.approx(tokens, rel=1e-13)
        assert float(sol.params) == pytest.approx(params, rel=1e-13)


def test_breakeven_of_a_tiny_model_reaches_the_saving():
    code, out, err = invoke("breakeven --chinchilla-params 1.69 --saving 0.1 --json")
    assert (code, err) == (0, "")
    report = json.loads(out)["results"][0]
    loss, rho = report["loss"], report["rho"]
    n, d = precise_optimum(loss, 1.0, rho)
    n_c, d_c = precise_optimum(loss, 1.0, 0.0)
    assert report["chinchilla_params"] == pytest.approx(1.69, rel=1e-12)
    assert 1 - n * (d + rho) / (n_c * (d_c + rho)) == pytest.approx(0.1, rel=1e-9)


def test_zero_demand_far_from_e_is_chinchilla_exactly():
    """rho = 0 takes Chinchilla's closed form (Newton would meet 0 * inf for D* below e^-709)."""
    from symscale.solvers.solve import chinchilla, solve_compute_optimal

    sol = solve_compute_optimal(1e10, 0.0)
    base = chinchilla(loss=1e10)
    assert float(sol.tokens) == float(base.tokens)
    _, tokens = precise_optimum(1e10, 6, 0)
    assert float(sol.tokens) == pytest.approx(tokens, rel=1e-12)
    with pytest.raises(InputError, match="optimal training tokens D\\* would be about 10\\^-697"):
        solve_compute_optimal(1e200, 0.0)


@pytest.mark.parametrize("args", ["closed-form --beta 1/2 --B 1e100 --json",
                                  "closed-form --beta 1/2 --loss 1e100 --json",
                                  "closed-form --beta 1/2 --inference-tokens 1e308 --json"])
def test_closed_form_at_extreme_scales_agrees(args):
    code, out, err = invoke(args)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["checks"]["numeric_solver_relative_difference"] < 1e-12
    assert report["checks"]["radical_vs_mpmath_digits"] >= 40


def test_claims_with_odd_coefficients_have_no_negative_saving():
    code, out, err = invoke("reproduce claims --alpha 1.6900000001 --beta 0.3 --A 400 --B 400 --E 1.6 --json")
    assert (code, err) == (0, "")
    checks = {c["item"].split(":")[0]: c["ours"] for c in json.loads(out)["claims"]["checks"]}
    assert checks["fig1-saved"] >= 0 and checks["fig1-saving"] >= 0


def test_rounding_excess_of_the_optimum_is_not_a_negative_saving():
    from symscale.solvers.solve import objective_ratio

    assert objective_ratio(1 + 1e-15, 1.0) == 1.0
    assert objective_ratio(0.5, 1.0) == 0.5
    assert objective_ratio(1.1, 1.0) == pytest.approx(1.1)  # a real excess is not hidden


# --- the same in a real process: no warning reaches stderr, exactly one line ------------------
def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2_000_000_000, 2_000_000_000))


@pytest.mark.parametrize("args", ["calc --params 70e9 --tokens 1e308", "solve --loss 1e200",
                                  "budget --total-flops 1e300"])
def test_real_process_prints_one_line(args):
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run([sys.executable, "-m", "symscale", *shlex.split(args)], capture_output=True, text=True,
                          env=env, timeout=60, preexec_fn=_limit_memory)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "Warning" not in proc.stderr
