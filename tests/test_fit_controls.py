"""Fit controls for every law: --fix, --tie, --objective-function (huber, mse, asymmetric)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from symscale.laws.registry import CHINCHILLA
from symscale.solvers.fit_controls import constrain, loss_functions, make_controls

TRUTH = {"alpha": 0.32, "beta": 0.32, "A": 400.0, "B": 1500.0, "E": 1.69}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """48 runs of the Chinchilla law with E = 1.69 and alpha = beta, log-normal noise 0.3 %."""
    rng = np.random.default_rng(11)
    n, ratio = np.meshgrid(np.geomspace(5e7, 5e9, 8), np.array([5, 10, 20, 50, 100, 300]), indexing="ij")
    params, tokens = n.ravel(), (n * ratio).ravel()
    t = TRUTH
    loss = t["E"] + t["A"] / params ** t["alpha"] + t["B"] / tokens ** t["beta"]
    path = tmp_path_factory.mktemp("controls") / "runs.csv"
    pd.DataFrame({"Parameters": params, "Tokens": tokens,
                  "Smoothed Loss": loss * np.exp(rng.normal(0, 0.003, loss.size))}).to_csv(path, index=False)
    return path


def test_fix_and_tie_recover_the_synthetic_coefficients_within_their_bootstrap_intervals(run_cli, synthetic):
    code, out, err = run_cli("fit", "--runs", synthetic, "--fix", "E=1.69", "--tie", "beta=alpha",
                             "--bootstrap", "40", "--seed", "5", "--json")
    assert code == 0, err
    data = json.loads(out)
    c, ci = data["coefficients"], data["bootstrap"]["ci95"]
    assert c["E"] == 1.69 and c["beta"] == c["alpha"]
    assert data["fitted_as"]["E"] == "fixed" and data["fitted_as"]["beta"] == "tied to alpha"
    assert set(data["fitted_coefficients"]) == {"alpha", "A", "B"}
    for name in ("alpha", "A", "B"):
        low, high = ci[name]
        assert low <= TRUTH[name] <= high, (name, low, high)
    assert data["controls"] == {"fixed": {"E": 1.69}, "tied": {"beta": "alpha"}, "objective_function": "huber",
                                "objective_description": data["controls"]["objective_description"]}
    code, text, _ = run_cli("fit", "--runs", synthetic, "--fix", "E=1.69", "--tie", "beta=alpha")
    assert "Fixed (not fitted, no uncertainty): E = 1.69." in text and "tied to alpha" in text


def test_fixing_and_tying_substitute_into_the_laws_expression():
    controls = make_controls(CHINCHILLA, {"E": 1.69}, {"beta": "alpha"})
    reduced = constrain(CHINCHILLA, controls)
    assert reduced.names == ("alpha", "A", "B")
    n, d, a, big_a, big_b = sp.symbols("N D alpha A B", positive=True)
    assert sp.simplify(reduced.expr - (sp.Float(1.69) + big_a / n**a + big_b / d**a)) == 0


def test_mse_objective_is_the_least_squares_fit_of_log_loss(run_cli, synthetic):
    from scipy.optimize import least_squares

    frame = pd.read_csv(synthetic)
    n, d, y = (frame[c].to_numpy() for c in ("Parameters", "Tokens", "Smoothed Loss"))
    code, out, err = run_cli("fit", "--runs", synthetic, "--objective-function", "mse", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["objective_function"] == "mse"
    c = data["coefficients"]

    def resid(t):
        return np.log(np.exp(t[4]) + np.exp(t[2]) / n ** t[0] + np.exp(t[3]) / d ** t[1]) - np.log(y)

    start = [c["alpha"] * 1.05, c["beta"] * 0.95, np.log(c["A"]) + 0.1, np.log(c["B"]) - 0.1, np.log(c["E"])]
    ref = least_squares(resid, start, xtol=1e-15, ftol=1e-15, gtol=1e-15, method="lm").x
    assert data["objective"] == pytest.approx(np.sum(resid(ref) ** 2), rel=1e-8)
    got = [c["alpha"], c["beta"], np.log(c["A"]), np.log(c["B"]), np.log(c["E"])]
    assert np.allclose(got, ref, rtol=1e-5)


def test_asymmetric_objective_penalises_over_prediction(run_cli):
    rho, d1, d2 = loss_functions("asymmetric", 1e-3, 4.0)
    r = np.array([-0.1, 0.1])
    assert np.allclose(rho(r), [0.01, 0.04]) and np.allclose(d1(r), [-0.2, 0.8]) and np.allclose(d2(r), [2, 8])
    fits = {}
    for k in ("1", "50"):
        code, out, err = run_cli("fit", "--runs", "sardana-2024", "--objective-function", "asymmetric",
                                 "--overestimate-penalty", k, "--json")
        assert code == 0, err
        fits[k] = json.loads(out)["residuals"]
    assert fits["50"]["max"] < fits["1"]["max"]  # fewer and smaller over-predictions: the lower envelope


@pytest.mark.parametrize("args, message", [
    (["--fix", "Z=1"], "no coefficient 'Z'"),
    (["--fix", "alpha=-1"], "alpha must lie in"),
    (["--tie", "alpha=alpha"], "tied to itself"),
    (["--tie", "beta=alpha", "--fix", "alpha=0.3"], "also fixed"),
    (["--overestimate-penalty", "3"], "applies to --objective-function asymmetric"),
    (["--tie", "beta"], "NAME=OTHER"),
])
def test_control_errors_are_one_line(run_cli, args, message):
    code, out, err = run_cli("fit", "--runs", "sardana-2024", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_the_default_objective_named_is_the_plain_fit(run_cli):
    plain = json.loads(run_cli("fit", "--runs", "sardana-2024", "--no-lmfit", "--json")[1])
    code, out, err = run_cli("fit", "--runs", "sardana-2024", "--no-lmfit", "--objective-function", "huber", "--json")
    assert code == 0, err
    assert json.loads(out)["coefficients"] == plain["coefficients"]
