"""Downstream score maps Err(L) = eps - k*exp(-gamma*L): fit, refusal, --target-score planning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symscale.laws.scores import bootstrap_counts, bootstrap_map, fit_score_map, load_score_data, map_error

CORE = "eval_gauntlet/core_average"


@pytest.fixture(scope="module")
def core():
    data = load_score_data("sardana-2024", CORE, None)
    return data, fit_score_map(data)


@pytest.fixture(scope="module")
def joint_file(tmp_path_factory):
    """A law and both maps fitted in one call, with a joint bootstrap."""
    from click.testing import CliRunner

    from symscale.cli import main

    path = tmp_path_factory.mktemp("scores") / "fit.json"
    result = CliRunner().invoke(main, ["fit-score", "--runs", "sardana-2024", "--score-col", CORE, "--score-col",
                                       "mmlu_5_shot_avg", "--with-law", "--bootstrap", "20", "--seed", "3",
                                       "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_core_average_map_agrees_with_an_independent_curve_fit(core):
    from scipy.optimize import curve_fit

    data, m = core
    truth, _ = curve_fit(lambda x, e, k, g: e - k * np.exp(-g * x), data.loss, 1 - data.score, p0=(1.0, 10.0, 1.5),
                         xtol=1e-15, ftol=1e-15, gtol=1e-15, maxfev=100000)
    got = np.array([m.eps, m.k, m.gamma])
    assert np.allclose(got, truth, rtol=1e-6, atol=0)
    assert m.refusal() is None and m.k > 0 and m.gamma > 0
    assert m.score_range == [pytest.approx(data.score.min()), pytest.approx(data.score.max())]


def test_mmlu_map_says_k_is_not_distinguishable_from_zero():
    m = fit_score_map(load_score_data("sardana-2024", "mmlu_5_shot_avg", None))
    reason = m.refusal()
    assert reason is not None and "k" in reason
    assert m.k * m.gamma <= 0 or abs(m.k) <= 2 * (m.stderr["k"] or np.inf)


def test_bootstrap_uses_the_law_fits_replicate_indices(core):
    data, m = core
    boot = bootstrap_map(data, fit_score_map(data), 3, seed=7)
    counts = np.random.default_rng(7).multinomial(len(data), np.full(len(data), 1 / len(data)), size=3)
    assert np.array_equal(bootstrap_counts(len(data), 3, 7), counts)
    for b in range(3):  # replicate b is the weighted least-squares fit with law replicate b's counts
        w = counts[b]
        theta = np.array([boot[p][b] for p in ("eps", "k", "gamma")])
        sse = np.sum(w * (map_error(data.loss, *theta) - data.error) ** 2)
        for shift in (1e-4, -1e-4):
            moved = theta * (1 + shift)
            assert sse <= np.sum(w * (map_error(data.loss, *moved) - data.error) ** 2)


def test_target_score_gives_the_optimum_of_the_implied_loss(run_cli, joint_file, core):
    _, m = core
    code, out, err = run_cli("solve", "--coefficients", joint_file, "--target-score", "core_average=0.30",
                             "--inference-tokens", "2e12", "--json")
    assert code == 0, err
    report = json.loads(out)
    loss = -np.log((m.eps - 0.70) / m.k) / m.gamma
    assert report["target_score"]["implied_loss"] == pytest.approx(loss, rel=1e-12)
    code, plain, _ = run_cli("solve", "--coefficients", joint_file, "--loss", repr(report["loss"]),
                             "--inference-tokens", "2e12", "--json")
    assert code == 0
    by_loss = json.loads(plain)
    for key in ("params", "tokens"):
        assert report["optimal"][key] == pytest.approx(by_loss["optimal"][key], rel=1e-12)
    t = report["target_score"]
    low, high = t["implied_loss_ci95"]
    assert low < loss < high
    assert t["optimal_ci95"]["params"][0] < report["optimal"]["params"] < t["optimal_ci95"]["params"][1]


def test_mmlu_target_is_refused_naming_the_score_and_reason(run_cli, joint_file):
    code, out, err = run_cli("solve", "--coefficients", joint_file, "--target-score", "mmlu_5_shot_avg=0.3")
    assert code == 2 and out == ""
    assert "mmlu_5_shot_avg" in err and "not distinguishable from 0" in err and len(err.strip().splitlines()) == 1


def test_out_of_range_score_warns_and_unreachable_scores_exit_2(run_cli, joint_file):
    code, _, err = run_cli("solve", "--coefficients", joint_file, "--target-score", "core_average=0.5")
    assert code == 0 and "above the fitted range" in err and "x beyond" in err
    code, _, err = run_cli("solve", "--coefficients", joint_file, "--E", "2.4", "--target-score", "core_average=0.3")
    assert code == 2 and "unreachable" in err and "best score" in err
    code, _, err = run_cli("solve", "--coefficients", joint_file, "--target-score", "core_average=0.001")
    assert code == 2 and "no loss gives that score" in err


def test_a_map_from_other_runs_than_the_law_warns(run_cli, tmp_path):
    path = tmp_path / "law.json"
    assert run_cli("fit", "--runs", "sardana-2024", "--cutoff", "100", "--no-lmfit", "-o", path)[0] == 0
    code, _, err = run_cli("fit-score", "--runs", "sardana-2024", "--score-col", CORE, "-o", path)
    assert code == 0, err
    code, _, err = run_cli("solve", "--coefficients", path, "--target-score", "core_average=0.2")
    assert code == 0 and "may not describe the same loss" in err
    saved = json.loads(path.read_text())
    assert set(saved["score_maps"]["core_average"]) >= {"eps", "k", "gamma", "stderr", "loss_range", "score_range",
                                                         "source"}


def test_budget_reports_the_score_of_its_best_loss(run_cli, joint_file):
    code, out, _ = run_cli("solve", "--coefficients", joint_file, "--target-score", "core_average=0.30",
                           "--inference-tokens", "2e12", "--json")
    total = json.loads(out)["optimal"]["total_flops"]
    code, out, err = run_cli("budget", "--compute", repr(total), "--inference-tokens", "2e12", "--coefficients",
                             joint_file, "--report-score", "core_average", "--report-score", "mmlu_5_shot_avg",
                             "--json")
    assert code == 0, err
    scores = json.loads(out)["scores"]
    assert scores["core_average"]["score"] == pytest.approx(0.30, rel=1e-6)
    assert scores["mmlu_5_shot_avg"]["score"] is None and "not distinguishable" in scores["mmlu_5_shot_avg"]["refusal"]
