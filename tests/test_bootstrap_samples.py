"""Bootstrap samples: usable replicates are solved, the others excluded and counted by reason (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from symscale.base.errors import InputError
from symscale.laws.coefficients import Coefficients, load_coefficients, preset, save_coefficients
from symscale.solvers.costs import CostSettings, solve_cost_optimal
from symscale.solvers.solve import SampleUse, select_samples, solve_compute_optimal

REPO = Path(__file__).resolve().parents[1]
RUNS = "sardana-2024"  # the paper's 47 runs, bundled with the package

LOSS, DEMAND = 2.0, 5e12


def _ten_samples() -> dict[str, np.ndarray]:
    """Ten replicates around chinchilla: #2 and #5 have E above the loss, #8 has beta < 0."""
    rng = np.random.default_rng(3)
    base = preset("chinchilla").as_dict()
    samples = {k: v * (1 + 0.02 * rng.standard_normal(10)) for k, v in base.items()}
    samples["E"][2], samples["E"][5] = 2.1, 2.5
    samples["beta"][8] = -0.1
    return samples


GOOD = [0, 1, 3, 4, 6, 7, 9]


def _file(tmp_path: Path, samples: dict, converged=None, name: str = "boot.json") -> Path:
    path = tmp_path / name
    save_coefficients(Coefficients(**preset("chinchilla").as_dict(), samples=samples), path, converged=converged)
    return path


def _alone(samples: dict, index: int):
    """Solve one replicate as plain coefficients (no sample machinery)."""
    one = Coefficients(**{k: float(v[index]) for k, v in samples.items()})
    return solve_compute_optimal(LOSS, DEMAND, one)


def test_select_samples_counts_and_keeps_the_usable_ones():
    samples = _ten_samples()
    boot = Coefficients(**preset("chinchilla").as_dict(), samples=samples)
    values, use = select_samples(LOSS, 6.0, 2.0 * DEMAND, boot)
    assert (use.total, use.used, use.excluded) == (10, 7, {"invalid": 1, "unreachable": 2})
    np.testing.assert_array_equal(values[0], samples["alpha"][GOOD])
    np.testing.assert_array_equal(values[4], samples["E"][GOOD])


def test_intervals_equal_percentiles_of_the_used_samples_solved_alone(run_cli, tmp_path):
    samples = _ten_samples()
    path = _file(tmp_path, samples)
    code, out, err = run_cli("solve", "--coefficients", path, "--loss", LOSS, "--inference-tokens", DEMAND, "--json")
    assert code == 0 and err == ""
    u = json.loads(out)["uncertainty"]
    assert u["samples"] == {"total": 10, "used": 7, "excluded": {"invalid": 1, "unreachable": 2}}
    assert u["n_samples"] == 7 and "warning" not in u
    alone = [_alone(samples, i) for i in GOOD]
    params = [float(s.optimal.params) for s in alone]
    saving = [1 - float(s.ratio["total_flops"]) for s in alone]
    assert u["ci95"]["params"] == pytest.approx(list(np.percentile(params, [2.5, 97.5])), rel=1e-12)
    assert u["ci95"]["total_flops_saving"] == pytest.approx(list(np.percentile(saving, [2.5, 97.5])), rel=1e-10)
    assert u["median"]["tokens"] == pytest.approx(np.median([float(s.optimal.tokens) for s in alone]), rel=1e-12)


def test_text_output_gives_the_counts(run_cli, tmp_path):
    path = _file(tmp_path, _ten_samples())
    code, out, _ = run_cli("solve", "--coefficients", path, "--loss", LOSS, "--inference-tokens", DEMAND)
    assert code == 0
    assert "7 of 10 used; excluded: 1 invalid" in out and "2 unreachable (target loss <= the sample's E)" in out


def test_cost_objective_uses_the_same_selection(tmp_path):
    samples = _ten_samples()
    boot = Coefficients(**preset("chinchilla").as_dict(), samples=samples)
    sol = solve_cost_optimal(LOSS, CostSettings(), boot, samples=True)
    assert sol.samples.as_dict() == {"total": 10, "used": 7, "excluded": {"invalid": 1, "unreachable": 2}}
    one = Coefficients(**{k: float(v[GOOD[3]]) for k, v in samples.items()})
    single = solve_cost_optimal(LOSS, CostSettings(), one)
    assert float(sol.optimal.params[3]) == pytest.approx(float(single.optimal.params), rel=1e-13)


def test_overflowing_replicate_is_excluded_as_overflow():
    """beta = 0.01 puts D* near 1e340, beyond float64: that replicate is counted as overflow."""
    samples = _ten_samples()
    samples["beta"][0] = 0.01
    boot = Coefficients(**preset("chinchilla").as_dict(), samples=samples)
    sol = solve_compute_optimal(LOSS, DEMAND, boot, samples=True)
    assert sol.samples.excluded == {"invalid": 1, "unreachable": 2, "overflow": 1}
    assert sol.optimal.params.shape == (6,)
    assert np.all(np.isfinite(sol.optimal.params)) and np.all(np.isfinite(sol.baseline.tokens))


def test_non_finite_replicate_is_invalid():
    samples = _ten_samples()
    samples["A"][1] = np.nan
    samples["B"][3] = np.inf
    boot = Coefficients(**preset("chinchilla").as_dict(), samples=samples)
    assert select_samples(LOSS, 6.0, 0.0, boot)[1].excluded == {"invalid": 3, "unreachable": 2}


def test_fewer_than_half_usable_warns(run_cli, tmp_path):
    samples = _ten_samples()
    samples["E"][[0, 1, 3]] = 2.2  # 4 of 10 usable
    path = _file(tmp_path, samples)
    code, out, err = run_cli("solve", "--coefficients", path, "--loss", LOSS, "--inference-tokens", DEMAND, "--json")
    assert code == 0
    u = json.loads(out)["uncertainty"]
    assert u["samples"]["used"] == 4 and "only 4 of 10" in u["warning"]
    assert err.splitlines() == [f"Warning: {u['warning']}"]


def test_zero_usable_samples_is_exit_2_with_one_line(run_cli, tmp_path):
    samples = _ten_samples()
    samples["E"][:] = 2.3
    path = _file(tmp_path, samples)
    code, out, err = run_cli("solve", "--coefficients", path, "--loss", LOSS, "--inference-tokens", DEMAND)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert "no usable bootstrap samples" in err and "9 unreachable" in err and "1 invalid" in err


def test_non_converged_replicates_are_left_out_by_default(run_cli, tmp_path):
    samples = _ten_samples()
    converged = np.ones(10, dtype=bool)
    converged[[0, 1]] = False
    path = _file(tmp_path, samples, converged)
    assert json.loads(path.read_text())["bootstrap"]["converged"][:3] == [False, False, True]
    loaded = load_coefficients(path)
    np.testing.assert_array_equal(loaded.samples["alpha"], samples["alpha"][2:])
    assert loaded.samples_excluded == {"not_converged": 2}
    assert load_coefficients(path, include_unconverged=True).samples["alpha"].size == 10
    code, out, _ = run_cli("solve", "--coefficients", path, "--loss", LOSS, "--inference-tokens", DEMAND, "--json")
    assert json.loads(out)["uncertainty"]["samples"] == {
        "total": 10, "used": 5, "excluded": {"not_converged": 2, "invalid": 1, "unreachable": 2}}


def test_sample_use_describes_and_warns():
    use = SampleUse(10, {"unreachable": 6})
    assert use.used == 4 and use.warning and use.as_dict()["used"] == 4
    assert SampleUse(10, {"unreachable": 5}).warning is None


def test_samples_need_one_scenario():
    boot = Coefficients(**preset("chinchilla").as_dict(), samples=_ten_samples())
    with pytest.raises(InputError, match="one scenario"):
        solve_compute_optimal(np.array([2.0, 2.1]), DEMAND, boot, samples=True)


# --- malformed sample arrays and files: exit 2, one line, at read time --------------------------
def _raw(tmp_path: Path, bootstrap=None, **top) -> Path:
    data = {**preset("chinchilla").as_dict(), **top}
    if bootstrap is not None:
        data["bootstrap"] = bootstrap
    path = tmp_path / "raw.json"
    path.write_text(json.dumps(data))
    return path


def _lists(**override) -> dict:
    base = {k: [v, v] for k, v in preset("chinchilla").as_dict().items()}
    return {**base, **override}


@pytest.mark.parametrize(
    "bootstrap, message",
    [
        (_lists(alpha=[0.3]), "equal lengths"),
        (_lists(beta=[]), "non-empty list"),
        (_lists(A=["406", "410"]), "A[0] must be a number"),
        (_lists(B=[[410.0], [411.0]]), "B[0] must be a number"),
        (_lists(E="1.69"), "non-empty list"),
        (_lists(E={"x": 1}), "non-empty list"),
        (_lists(alpha=[0.3, True]), "alpha[1] must be a number"),
        (_lists(A=[406.4, 10**400]), "A[1] is beyond floating-point range"),
        ({**_lists(), "converged": [True]}, "converged must be a list of 2"),
        ({"alpha": [0.3]}, "must list samples"),
    ],
)
def test_malformed_samples_exit_2_one_line(run_cli, tmp_path, bootstrap, message):
    path = _raw(tmp_path, bootstrap)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_coefficients(path)
    code, out, err = run_cli("solve", "--coefficients", path, "--loss", LOSS)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and message in err


def test_non_finite_sample_is_refused_at_read(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps({**preset("chinchilla").as_dict(), "bootstrap": _lists(E=[1.69, float("nan")])}))
    with pytest.raises(InputError, match=r"E\[1\] must be finite"):
        load_coefficients(path)


def test_huge_integer_and_deep_nesting_are_one_line(run_cli, tmp_path):
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(preset("chinchilla").as_dict()).replace("406.4", "1" + "0" * 400))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    many = tmp_path / "many.json"
    many.write_text('{"A": ' + "9" * 5000 + "}")
    for path, message in ((huge, "A is beyond floating-point range"), (deep, "nested too deeply"),
                          (many, "not valid JSON")):
        code, out, err = run_cli("solve", "--coefficients", path, "--loss", LOSS)
        assert code == 2 and out == "" and len(err.splitlines()) == 1 and message in err, err


def test_link_to_dev_zero_is_refused(run_cli, tmp_path):
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    code, _, err = run_cli("solve", "--coefficients", link, "--loss", LOSS)
    assert code == 2 and len(err.splitlines()) == 1 and "not a text file (it contains NUL bytes)" in err


# --- the reproduction from the issue: fit --bootstrap --out, then solve ---------------------------
def test_fit_then_solve_with_bootstrap_samples(tmp_path):
    out = tmp_path / "c.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "symscale"]
    fit = subprocess.run([*cmd, "fit", RUNS, "--bootstrap", "40", "--seed", "0", "-o", out, "--quiet",
                          "--no-lmfit"], capture_output=True, text=True, env=env, timeout=300)
    assert fit.returncode == 0, fit.stderr
    stored = json.loads(out.read_text())["bootstrap"]
    n_bad = stored["converged"].count(False)
    E = np.array(stored["E"])[np.array(stored["converged"])]
    loss = float(np.sort(E)[-2]) - 1e-9  # at least two converged replicates cannot reach it
    res = subprocess.run([*cmd, "solve", "--coefficients", out, "--loss", repr(loss), "--inference-tokens", "5e12",
                          "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    counts = json.loads(res.stdout)["uncertainty"]["samples"]
    assert counts["total"] == 40
    assert counts["excluded"].get("not_converged", 0) == n_bad
    assert counts["excluded"]["unreachable"] == int(np.sum(E >= loss)) >= 2
    assert counts["used"] == 40 - n_bad - counts["excluded"]["unreachable"] - counts["excluded"].get("invalid", 0)


# --- other commands read sample files but solve the point estimate; bad samples do not disturb them ---
@pytest.mark.parametrize(
    "args",
    [
        ["calc", "--params", "7e9", "--tokens", "1e12"],
        ["budget", "--total-flops", "1e24", "--inference-tokens", "2e12"],
        ["sweep", "--loss", "1.9:2.6:3", "--inference-tokens", "1e9:1e12:2"],
        ["breakeven", "--chinchilla-params", "7e9", "--saving", "0.1"],
        ["overhead", "--loss", "2.0", "--params", "3e10", "--inference-tokens", "2e12"],
    ],
)
def test_point_estimate_commands_accept_files_with_bad_samples(run_cli, tmp_path, args):
    samples = _ten_samples()
    samples["E"][:] = 5.0  # no replicate reaches any of these losses
    bad, plain = _file(tmp_path, samples), tmp_path / "plain.json"
    save_coefficients(Coefficients(**preset("chinchilla").as_dict()), plain)
    got = run_cli(*args, "--coefficients", bad)
    want = run_cli(*args, "--coefficients", plain)
    assert got[0] == 0 and got[1] == want[1] and got[1]


# --- random bootstrap files: solve answers (exit 0) or refuses in one line (exit 2), never exit 1 -------
def test_random_bootstrap_files_answer_or_exit_2(run_cli, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    value = st.one_of(st.floats(-10, 10), st.floats(1e-300, 1e300), st.sampled_from([0.0, -0.0, 1e-320, 1e308]))
    replicate = st.tuples(*[value] * 5)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(replicate, min_size=1, max_size=8), st.sampled_from([1.7, 2.0, 3.0, 1e3]),
           st.sampled_from(["0", "5e12", "1e30"]), st.booleans())
    def check(rows, loss, demand, cost):
        samples = {k: np.array([row[i] for row in rows]) for i, k in enumerate(("alpha", "beta", "A", "B", "E"))}
        path = _file(tmp_path, samples)
        objective = ["--objective", "cost", "--requests", "1e9"] if cost else ["--inference-tokens", demand]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a numpy RuntimeWarning would reach a user's stderr
            code, out, err = run_cli("solve", "--coefficients", path, "--loss", loss, *objective, "--json")
        assert code in (0, 2), err
        if code == 2:
            assert out == "" and len(err.splitlines()) == 1 and "Traceback" not in err
            return
        assert all(line.startswith("Warning: only ") for line in err.splitlines()), err
        u = json.loads(out)["uncertainty"]
        assert u["samples"]["total"] == len(rows) and u["n_samples"] == u["samples"]["used"] >= 1
        assert all(np.isfinite(v) for pair in u["ci95"].values() for v in pair)

    check()


def test_fit_json_output_with_a_bootstrap_summary_reads_as_coefficients(tmp_path):
    """`fit --json` output (whose bootstrap is a summary, not samples) is read for its point estimate."""
    path = tmp_path / "fit.json"
    summary = {"n": 20, "n_converged": 18, "seed": 0, "stderr": {}, "ci95": {}}
    path.write_text(json.dumps({"coefficients": preset("chinchilla").as_dict(), "bootstrap": summary}))
    loaded = load_coefficients(path)
    assert loaded.as_dict() == preset("chinchilla").as_dict() and loaded.samples is None
