"""Score maps beyond solve: sweep --target-score, fit-score --with-law for any law, plot rollout."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

CORE = "eval_gauntlet/core_average"


@pytest.fixture(scope="module")
def law_and_map(tmp_path_factory):
    """The Chinchilla law and the core-average map fitted on the paper's runs in one call (no bootstrap)."""
    from click.testing import CliRunner

    from symscale.cli import main

    path = tmp_path_factory.mktemp("score_sweep") / "fit.json"
    result = CliRunner().invoke(main, ["fit-score", "--runs", "sardana-2024", "--score-col", CORE, "--with-law",
                                       "--out", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_sweep_target_score_rows_are_the_loss_sweep_of_the_implied_losses(run_cli, law_and_map):
    m = json.loads(law_and_map.read_text())["score_maps"]["core_average"]
    code, out, err = run_cli("sweep", "--coefficients", law_and_map, "--target-score", "core_average=0.25,0.28",
                             "--inference-tokens", "1e12,1e13", "--digits", "17")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["target_score"]) for r in rows] == [0.25, 0.25, 0.28, 0.28]
    for row in rows:
        score = float(row["target_score"])
        implied = -np.log((m["eps"] - (1 - score)) / m["k"]) / m["gamma"]
        assert float(row["loss"]) == pytest.approx(implied, rel=1e-9)
    losses = ",".join(repr(float(rows[i]["loss"])) for i in (0, 2))
    code, plain, _ = run_cli("sweep", "--coefficients", law_and_map, "--loss", losses, "--inference-tokens",
                             "1e12,1e13", "--digits", "17")
    for row, by_loss in zip(rows, csv.DictReader(io.StringIO(plain))):
        for key in ("optimal_params", "optimal_tokens", "baseline_params", "ratio_total_flops"):
            assert float(row[key]) == pytest.approx(float(by_loss[key]), rel=1e-9)


def test_sweep_target_score_json_names_the_map_and_refuses_bad_scores(run_cli, law_and_map):
    code, out, err = run_cli("sweep", "--coefficients", law_and_map, "--target-score", "core_average=0.2:0.3:3",
                             "--inference-tokens", "1e12", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["quality"] == {"kind": "target_score", "count": 3, "name": "core_average"}
    assert [r["target_score"] for r in data["rows"]] == pytest.approx([0.2, 0.25, 0.3])
    code, out, err = run_cli("sweep", "--coefficients", law_and_map, "--target-score", "core_average=0.33,0.35",
                             "--inference-tokens", "1e12")
    assert code == 0 and len(out.splitlines()) == 3
    warnings = [line for line in err.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 2 and all("lies above the fitted range" in w for w in warnings)
    assert "score 0.33 " in warnings[0] and "score 0.35 " in warnings[1]
    code, _, err = run_cli("sweep", "--coefficients", law_and_map, "--target-score", "core_average=1.5",
                           "--inference-tokens", "1e12")
    assert code == 2 and "a score is a rate in [0, 1]" in err
    code, _, err = run_cli("sweep", "--coefficients", law_and_map, "--target-score", "nope=0.3",
                           "--inference-tokens", "1e12")
    assert code == 2 and "no score map 'nope'" in err
    code, _, err = run_cli("sweep", "--target-score", "0.3", "--inference-tokens", "1e12")
    assert code == 2 and "NAME=GRID" in err


def _without_seconds(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "seconds"}


@pytest.mark.parametrize("extra", [(), ("--holdout-above", "2e9", "--bootstrap", "6", "--seed", "2")])
def test_plot_rollout_json_has_the_numbers_of_fit(run_cli, tmp_path, extra):
    pytest.importorskip("matplotlib")
    image = tmp_path / "rollout.png"
    code, out, err = run_cli("plot", "rollout", "--runs", "sardana-2024", *extra, "-o", image, "--json")
    assert code == 0, err
    drawn = json.loads(out)
    assert drawn["figure"] == "rollout" and drawn["output"] == str(image)
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = run_cli("fit", "--runs", "sardana-2024", *(extra or ("--rollout",)), "--json")
    assert code == 0
    assert drawn["data"] == _without_seconds(json.loads(out))
    from symscale.cli.cmd_plot_rollout import rollout_points

    points = rollout_points(drawn["data"])
    for p in points:  # what is drawn: predicted against observed, relative error from those two
        assert p["relative_error"] == pytest.approx((p["predicted"] - p["observed"]) / p["observed"], rel=1e-12)
    if extra:
        assert len(points) == 8 and all("prediction_ci95" in p for p in points)
    else:
        assert len(points) == sum(step["n_held_out"] for step in drawn["data"]["rollout"])


def test_plot_rollout_errors(run_cli, tmp_path):
    code, _, err = run_cli("plot", "rollout", "--runs", "sardana-2024", "--rollout", "--holdout-above", "2e9", "-o",
                           tmp_path / "r.png")
    assert code == 2 and "not both" in err
    code, _, err = run_cli("plot", "rollout", "--runs", "sardana-2024", "-o", tmp_path / "r.txt")
    assert code == 2 and "*.png or *.svg" in err
    assert not (tmp_path / "r.txt").exists()


def test_fit_score_with_another_law_shares_the_replicates(run_cli, tmp_path):
    """--with-law --law kaplan-2020: law replicate b and map replicate b come from the same resampled runs."""
    from symscale.laws.registry import get
    from symscale.laws.scores import bootstrap_counts, bootstrap_map, fit_score_map, load_score_data
    from symscale.solvers import fit as F
    from symscale.solvers import fit_generic as LF

    path = tmp_path / "kaplan.json"
    code, out, err = run_cli("fit-score", "--runs", "sardana-2024", "--score-col", CORE, "--with-law", "--law",
                             "kaplan-2020", "--bootstrap", "8", "--seed", "3", "--out", path, "--json")
    assert code == 0, err
    saved = json.loads(path.read_text())
    assert saved["law"] == "kaplan-2020" and set(saved["coefficients"]) == {"alpha_N", "alpha_D", "N_c", "D_c"}
    runs = F.load_runs("sardana-2024", "Parameters", "Tokens", "Smoothed Loss")
    law = LF.fit_law(runs, LF.setup(get("kaplan-2020")))
    for name, value in law.values.items():
        assert saved["coefficients"][name] == pytest.approx(value, rel=1e-9)
    boot = LF.bootstrap_law(runs, law, 8, 3)
    for name, samples in boot.samples.items():
        assert saved["bootstrap"][name] == pytest.approx(list(samples), rel=1e-9)
    data = load_score_data("sardana-2024", CORE, None)
    own = bootstrap_map(data, fit_score_map(data), 8, 3)
    assert saved["score_maps"]["core_average"]["bootstrap"]["k"] == pytest.approx(list(own["k"]), rel=1e-9)
    counts = bootstrap_counts(len(runs), 8, 3)  # replicate b of the law minimises the objective weighted by b
    objective = LF.Objective(law.setup, runs, law.delta)
    for b in range(8):
        theta = np.array([np.log(saved["bootstrap"][n][b]) if log else saved["bootstrap"][n][b]
                          for n, log in zip(law.setup.law.names, law.setup.log_scale)])
        base = objective.values(theta[None, :], counts[b][None, :])[0]
        for j in range(theta.size):
            for step in (1e-4, -1e-4):
                moved = theta.copy()
                moved[j] += step
                assert base <= objective.values(moved[None, :], counts[b][None, :])[0] * (1 + 1e-12)
    code, out, err = run_cli("solve", "--coefficients", path, "--target-score", "core_average=0.28",
                             "--inference-tokens", "2e12", "--json")
    assert code == 0, err
    ci = json.loads(out)["target_score"]["optimal_ci95"]
    assert ci["law_samples"] == "joint (same replicate indices)" and ci["n_solved"] == 8
    code, _, err = run_cli("fit-score", "--runs", "sardana-2024", "--score-col", CORE, "--law", "kaplan-2020")
    assert code == 2 and "add --with-law" in err
