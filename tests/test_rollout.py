"""Held-out checks of a fit: --holdout-above, --holdout-tokens-per-param-above, --rollout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symscale.solvers import fit as F


def _law(c: dict, n, d):
    return c["E"] + c["A"] / n ** c["alpha"] + c["B"] / d ** c["beta"]


@pytest.fixture(scope="module")
def runs():
    return F.load_runs("sardana-2024")


def test_holdout_above_reports_the_relative_errors_of_its_coefficients(run_cli, runs):
    code, out, err = run_cli("fit", "--runs", "sardana-2024", "--holdout-above", "2e9", "--json")
    assert code == 0, err
    data = json.loads(out)
    held = runs.params > 2e9
    assert data["summary"]["n_held_out"] == held.sum() == len(data["runs"])
    assert data["summary"]["n_train"] == (~held).sum()
    c = data["summary"]["coefficients"]
    small = F.fit(runs.subset(~held)).coefficients.as_dict()  # the fit used only the smaller runs
    assert all(c[k] == pytest.approx(small[k], rel=1e-6) for k in c)
    observed = runs.loss[held]
    expected = (_law(c, runs.params[held], runs.tokens[held]) - observed) / observed
    got = np.array([r["relative_error"] for r in data["runs"]])
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert np.allclose([r["observed"] for r in data["runs"]], observed)
    assert data["summary"]["mean_abs_relative_error"] == pytest.approx(np.mean(np.abs(expected)), rel=1e-12)
    assert data["summary"]["max_abs_relative_error"] == pytest.approx(np.max(np.abs(expected)), rel=1e-12)


def test_holdout_with_bootstrap_says_which_losses_lie_in_the_interval(run_cli):
    code, out, _ = run_cli("fit", "--runs", "sardana-2024", "--holdout-tokens-per-param-above", "100",
                           "--bootstrap", "20", "--seed", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert all(r["tokens_per_param"] > 100 for r in data["runs"])
    inside = [r["prediction_ci95"][0] <= r["observed"] <= r["prediction_ci95"][1] for r in data["runs"]]
    assert [r["inside_ci95"] for r in data["runs"]] == inside
    assert data["summary"]["n_inside_ci95"] == sum(inside)


def test_rollout_predicts_each_size_from_the_smaller_ones(run_cli, runs):
    code, out, err = run_cli("fit", "--runs", "sardana-2024", "--rollout", "--json")
    assert code == 0, err
    rows = json.loads(out)["rollout"]
    sizes = [r["params"] for r in rows]
    assert sizes == sorted(sizes) and sizes[-1] == runs.params.max()
    for row in rows:
        assert row["n_train"] == int(np.sum(runs.params < row["params"]))
        assert row["n_held_out"] == int(np.sum(runs.params == row["params"]))
        c = row["coefficients"]
        errors = [(_law(c, r["params"], r["tokens"]) - r["observed"]) / r["observed"] for r in row["runs"]]
        assert row["max_abs_relative_error"] == pytest.approx(max(map(abs, errors)), rel=1e-12)
    code, text, _ = run_cli("fit", "--runs", "sardana-2024", "--rollout")
    assert "mean |rel. err|" in text and len(text.splitlines()) >= 4 + len(rows)


@pytest.mark.parametrize("args, message", [
    (["--holdout-above", "1e12"], "holds out no run"),
    (["--holdout-above", "2e8"], "left to fit"),
    (["--rollout", "--holdout-above", "2e9"], "not both"),
    (["--holdout-above", "2e9", "-o", "x.json"], "-o"),
])
def test_holdout_errors_are_one_line(run_cli, args, message):
    code, out, err = run_cli("fit", "--runs", "sardana-2024", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
