"""Fitting any law: `symscale fit --law`, its sympy-derived objective, starts, bounds, bootstrap and files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from symscale.base.errors import InputError
from symscale.base.runs import Runs
from symscale.kernels.generic import kernels
from symscale.laws.registry import custom, get
from symscale.problems.fit_generic import derive_fit, fit_kernels, parametrisation
from symscale.solvers import fit as F
from symscale.solvers import fit_generic as LF

KAPLAN_FORM = "((N_c/N)**(a/b) + D_c/D)**b"
KAPLAN_TRUTH = {"N_c": 8e13, "D_c": 5e13, "a": 0.08, "b": 0.1}
KAPLAN_STARTS = {"N_c": LF.Span(1e10, 1e16, 4), "D_c": LF.Span(1e10, 1e16, 4), "a": LF.Span(0.05, 0.3, 3),
                 "b": LF.Span(0.05, 0.3, 3)}
CHINCHILLA_TEXT = "E + A/N**alpha + B/D**beta"
# Chinchilla's own 4,500-point grid, written as --start grids (A, B = e^0..e^25, E = e^-1..e^1)
CHINCHILLA_GRID = ["--start", "alpha=0:2:5", "--start", "beta=0:2:5", "--start", f"A=1:{math.exp(25)!r}:6",
                   "--start", f"B=1:{math.exp(25)!r}:6", "--start", f"E={math.exp(-1)!r}:{math.e!r}:5"]


def synthetic_runs(law, truth: dict, seed: int = 0, noise: float = 0.005) -> Runs:
    """40 runs (8 sizes x 5 tokens/param) of ``law`` with log-normal noise of ``noise`` on the loss."""
    rng = np.random.default_rng(seed)
    n, ratio = np.meshgrid(np.geomspace(1e7, 3e9, 8), np.array([5, 20, 80, 320, 1000]), indexing="ij")
    params, tokens = n.ravel(), (n * ratio).ravel()
    loss = kernels(law).loss(params, tokens, *(truth[k] for k in law.names))
    return Runs(params, tokens, loss * np.exp(rng.normal(0, noise, params.size)), np.arange(params.size) + 2, "synth")


def test_parametrisation_scales_on_log_exponents_linear():
    assert parametrisation(get("kaplan-2020")) == (False, False, True, True)  # alpha_N, alpha_D, N_c, D_c
    law = custom("E + A/N**alpha + B/D**beta + C/(N*D)**g")
    assert dict(zip(law.names, parametrisation(law))) == {"E": True, "A": True, "alpha": False, "B": True,
                                                          "beta": False, "C": True, "g": False}
    assert parametrisation(law, {"C": (-10.0, 10.0)})[law.names.index("C")] is False  # a bound through 0: linear


def test_derived_gradient_and_hessian_match_finite_differences():
    law = custom(KAPLAN_FORM)
    log_scale = parametrisation(law)
    k = fit_kernels(law, log_scale)
    assert law.names == ("N_c", "a", "b", "D_c") and log_scale == (True, False, False, True)
    theta = np.array([math.log(8e13), 0.08, 0.1, math.log(5e13)])
    n, d, z = np.array([1e8, 3e9]), np.array([2e9, 6e10]), np.log([3.1, 2.6])
    out = k.second(*theta, n, d, z)
    h = 1e-6
    for i in range(4):
        step = np.eye(4)[i] * h
        numeric = (k.first(*(theta + step), n, d, z)[0] - k.first(*(theta - step), n, d, z)[0]) / (2 * h)
        assert np.allclose(out[1 + i], numeric, rtol=1e-6, atol=1e-9)
    assert len(derive_fit(law, log_scale).hessian) == 10


def test_synthetic_fit_recovers_a_custom_law_within_bootstrap_intervals():
    law = custom(KAPLAN_FORM)
    runs = synthetic_runs(law, KAPLAN_TRUTH, seed=0)
    result = LF.fit_law(runs, LF.setup(law, KAPLAN_STARTS), use_lmfit=False)
    boot = LF.bootstrap_law(runs, result, 100, seed=3)
    assert boot.converged.all()
    for name, true in KAPLAN_TRUTH.items():
        low, high = boot.ci95[name]
        assert low <= true <= high, (name, true, low, high)
        assert low <= result.values[name] <= high
    assert result.values["a"] == pytest.approx(0.08, rel=0.05) and result.values["b"] == pytest.approx(0.1, rel=0.05)
    assert 0.003 < np.sqrt(np.mean(result.residuals**2)) < 0.007  # the 0.5 % noise, not more, not less


def test_bootstrap_same_on_one_or_two_processes_and_same_draws_as_chinchilla():
    law = custom(KAPLAN_FORM)
    runs = synthetic_runs(law, KAPLAN_TRUTH, seed=1)
    result = LF.fit_law(runs, LF.setup(law, KAPLAN_STARTS), use_lmfit=False)
    one = LF.bootstrap_law(runs, result, 30, seed=5, chunk=10, workers=1)
    two = LF.bootstrap_law(runs, result, 30, seed=5, chunk=10, workers=2)
    for name in law.names:
        assert np.array_equal(one.samples[name], two.samples[name])
    # replicate b is the weighting b of the Chinchilla bootstrap with the same seed: refit it alone
    counts = np.random.default_rng(5).multinomial(len(runs), np.full(len(runs), 1 / len(runs)), size=30)
    alone = LF.newton(LF.Objective(result.setup, runs), result.theta[None], weights=counts[7:8].astype(float))
    assert np.allclose(result.setup.to_values(alone.theta[0])["a"], one.samples["a"][7], rtol=1e-12)


def test_chinchilla_as_a_custom_string_reaches_the_built_in_optimum(run_cli):
    code, out, err = run_cli("fit", "--runs", "sardana-2024", "--law", CHINCHILLA_TEXT, *CHINCHILLA_GRID, "--json")
    assert code == 0, err
    data = json.loads(out)
    built_in = F.fit(F.load_runs("sardana-2024"), use_lmfit=False)  # its Newton optimum (decrement ~1e-24)
    assert data["starts"]["n"] == 4500 and data["law"]["expression"] == CHINCHILLA_TEXT
    assert abs(data["objective"] - built_in.objective) <= 1e-6 * built_in.objective
    for name, value in built_in.coefficients.as_dict().items():
        assert data["coefficients"][name] == pytest.approx(value, rel=1e-6)
        assert data["stderr"][name] == pytest.approx(built_in.stderr[name], rel=1e-4)


def test_a_fit_that_rises_with_data_is_refused():
    law = custom(CHINCHILLA_TEXT)
    truth = {"E": 1.0, "A": 50.0, "alpha": 0.3, "B": 0.02, "beta": -0.15}  # loss grows with D
    runs = synthetic_runs(law, truth, seed=0, noise=0.001)
    setup = LF.setup(law, {"E": 1.0, "A": 10.0, "alpha": 0.2, "B": 1.0, "beta": 0.1})
    with pytest.raises(LF.FitError, match="does not decrease in D at the run N = 1e"):
        LF.fit_law(runs, setup, use_lmfit=False)


def test_kaplan_fit_report_names_the_law(run_cli):
    code, out, err = run_cli("fit", "sardana-2024", "--law", "kaplan-2020", "--no-lmfit")
    assert code == 0, err
    assert out.startswith("Fit of the law kaplan-2020: L = ((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D to 47 runs")
    assert "ln N_c" not in out and "log" in out and "Huber objective" in out


def test_a_binding_bound_is_held_and_reported(run_cli):
    code, out, err = run_cli("fit", "sardana-2024", "--law", "kaplan-2020", "--bound", "alpha_D=0.12:", "--no-lmfit",
                             "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["coefficients"]["alpha_D"] == 0.12 and set(data["on_bound"]) == {"alpha_D"}
    assert data["stderr"]["alpha_N"] is None and data["convergence"]["newton_decrement"] < 1e-15
    free = json.loads(run_cli("fit", "sardana-2024", "--law", "kaplan-2020", "--no-lmfit", "--json")[1])
    assert free["coefficients"]["alpha_D"] < 0.12 and free["objective"] < data["objective"]


def test_fit_then_solve_round_trip_through_the_file(run_cli, tmp_path):
    law = custom(KAPLAN_FORM)
    runs = synthetic_runs(law, KAPLAN_TRUTH, seed=2)
    csv = tmp_path / "runs.csv"
    rows = zip(runs.params.tolist(), runs.tokens.tolist(), runs.loss.tolist())
    csv.write_text("Parameters,Tokens,Smoothed Loss\n" + "".join(f"{n!r},{d!r},{loss!r}\n" for n, d, loss in rows))
    path = tmp_path / "kaplan-form.json"
    starts = sum((["--start", f"{k}={v}"] for k, v in KAPLAN_STARTS.items()), [])
    code, out, err = run_cli("fit", str(csv), "--law", KAPLAN_FORM, *starts, "--bootstrap", "40", "--seed", "1",
                             "-o", str(path), "--json", "--no-lmfit")
    assert code == 0, err
    fitted = json.loads(out)
    saved = json.loads(path.read_text())
    assert saved["law"] == KAPLAN_FORM and saved["coefficients"] == fitted["coefficients"]
    assert len(saved["bootstrap"]["converged"]) == 40 and len(saved["bootstrap"]["a"]) == 40
    scenario = ("--loss", "2.4", "--inference-tokens", "1e12", "--json")
    code, out, err = run_cli("solve", "--coefficients", str(path), *scenario)
    assert code == 0, err
    solved = json.loads(out)
    sets = sum((["--set", f"{k}={v!r}"] for k, v in fitted["coefficients"].items()), [])
    _, direct, _ = run_cli("solve", "--law", KAPLAN_FORM, *sets, *scenario)
    assert solved["optimal"] == json.loads(direct)["optimal"]
    low, high = solved["uncertainty"]["ci95"]["params"]
    assert low < solved["optimal"]["params"] < high and solved["uncertainty"]["samples"]["used"] == 40


def test_unconverged_replicates_of_a_law_file_are_left_out(tmp_path):
    from symscale.laws.coefficients import load_coefficients

    values = {"N_c": 8e13, "D_c": 5e13, "a": 0.08, "b": 0.1}
    boot = {k: [v, v * 1.01, v * 0.99] for k, v in values.items()}
    path = tmp_path / "law.json"
    path.write_text(json.dumps({"law": KAPLAN_FORM, "coefficients": values,
                                "bootstrap": {**boot, "converged": [True, False, True]}}))
    loaded = load_coefficients(path)
    assert list(loaded.samples["a"]) == [0.08, 0.08 * 0.99] and loaded.samples_excluded == {"not_converged": 1}
    assert len(load_coefficients(path, include_unconverged=True).samples["a"]) == 3


@pytest.mark.parametrize("args, message", [
    (["--start", "Q=1"], "--start Q: the law custom has no coefficient 'Q'"),
    (["--bound", "Q=0:1"], "--bound Q: the law custom has no coefficient 'Q'"),
    (["--start", "a=0.1:1"], "write NAME=VALUE or NAME=LO:HI:COUNT"),
    (["--start", "a=0.1:1:x"], "COUNT must be a whole number from 2 to 1000, got 'x'"),
    (["--start", "a=0.1:1:1"], "COUNT must be a whole number from 2 to 1000"),
    (["--start", "a=1:0.1:3"], "LO must be below HI"),
    (["--start", "a=abc"], "'abc' is not a number"),
    (["--start", "a=1", "--start", "a=2"], "--start: a given twice"),
    (["--start", "N_c=0:1e10:3"], "N_c is fitted on a log scale, so LO must be > 0"),
    (["--bound", "a=1"], "write NAME=LO:HI"),
    (["--bound", "a=0.2:0.1"], "LO must be below HI"),
    (["--bound", "a=0.1:0.2", "--start", "a=0.3"], "--start a: 0.3 lies outside the fitting range [0.1, 0.2]"),
    (["--start", "a=0.01:1:100", "--start", "b=0.01:1:100", "--start", "N_c=1:1e16:10"],
     "--start grids give 10 x 100 x 100 x 4 = 400000 starts, more than the 20000 allowed"),
])
def test_start_and_bound_errors_are_one_line(run_cli, args, message):
    starts = [a for k, v in KAPLAN_STARTS.items() for a in ("--start", f"{k}={v}")
              if not any(x.startswith(k + "=") for x in args)]
    code, out, err = run_cli("fit", "sardana-2024", "--law", KAPLAN_FORM, *starts, *args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_missing_starts_and_chinchilla_options_are_named(run_cli):
    code, _, err = run_cli("fit", "sardana-2024", "--law", KAPLAN_FORM, "--start", "a=0.1")
    assert code == 2 and "no start value for N_c, b, D_c" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("fit", "sardana-2024", "--start", "alpha=0.1")
    assert code == 2 and "--start applies to --law other than chinchilla" in err
    with pytest.raises(InputError, match="outside the domain"):
        LF.setup(get("kaplan-2020"), bounds={"alpha_N": (-1.0, 1.0)})


def test_chunks_of_starts_change_no_answer_of_a_custom_law_fit(monkeypatch):
    """The custom-law search runs its starts in memory-sized chunks (O(runs x chunk)): the same answers."""
    import symscale.solvers.fit_search as FS

    law = custom(KAPLAN_FORM)
    runs = synthetic_runs(law, KAPLAN_TRUTH, seed=2)
    setup = LF.setup(law, KAPLAN_STARTS)
    obj = LF.Objective(setup, runs)
    monkeypatch.setattr(FS, "FIT_MEMORY", 2**40)
    assert LF.start_chunk(obj) >= len(setup.starts)
    whole = LF.fit_law(runs, setup, use_lmfit=False)
    whole_newton = LF.newton(obj, setup.starts, max_iter=20)
    monkeypatch.setattr(FS, "FIT_MEMORY", 5 * len(runs) * 8 * (1 + 4 + 10 + 8 + 8))  # chunks of 5 starts
    assert LF.start_chunk(obj) == 5
    chunked = LF.fit_law(runs, setup, use_lmfit=False)
    chunked_newton = LF.newton(obj, setup.starts, max_iter=20)
    assert np.array_equal(chunked.theta, whole.theta)
    assert np.array_equal(chunked_newton.theta, whole_newton.theta, equal_nan=True)
    assert np.array_equal(chunked_newton.converged, whole_newton.converged)
    assert np.array_equal(LF.start_values(obj, setup.starts), obj.values(setup.starts, 1.0))


def test_many_runs_search_starts_on_a_sample_and_reach_the_full_search_optimum(monkeypatch):
    """Above SEARCH_RUNS runs the custom-law start search runs on a sample, as the Chinchilla fit's does."""
    import symscale.solvers.fit_search as FS

    law = custom(KAPLAN_FORM)
    rng = np.random.default_rng(4)
    params = 10 ** rng.uniform(7, 9.5, 600)
    tokens = params * 10 ** rng.uniform(0.7, 3, 600)
    loss = kernels(law).loss(params, tokens, *(KAPLAN_TRUTH[k] for k in law.names)) * np.exp(rng.normal(0, 0.005, 600))
    runs = Runs(params, tokens, loss, np.arange(600) + 2, "synth")
    setup = LF.setup(law, KAPLAN_STARTS)
    sampled = LF.fit_law(runs, setup, use_lmfit=False)
    assert sampled.search.searched_runs == FS.SEARCH_RUNS and sampled.summary()["starts"]["searched_runs"] == 128
    monkeypatch.setattr(FS, "SEARCH_RUNS", 10**6)
    full = LF.fit_law(runs, setup, use_lmfit=False)
    assert full.search.searched_runs is None
    assert sampled.objective == pytest.approx(full.objective, rel=1e-12)
    for name in law.names:
        assert sampled.values[name] == pytest.approx(full.values[name], rel=1e-7)
