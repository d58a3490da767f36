"""Tests of the ``symscale fit`` command: report, JSON shape, --out, bad input and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from symscale.cli import main

RUNS = "sardana-2024"  # the paper's 47 runs, bundled with the package
KEYS = ["alpha", "beta", "A", "B", "E"]


def run(*args: str):
    """Invoke the CLI like the console script does (errors become one line and an exit status)."""
    return CliRunner().invoke(main, list(args))


def test_json_with_bootstrap() -> None:
    """--json: one object with coefficients, stderr, objective, n_runs, seconds and bootstrap summary."""
    res = run("fit", str(RUNS), "--cutoff", "500", "--bootstrap", "30", "--seed", "2", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["n_runs"] == 43
    assert list(data["coefficients"]) == KEYS and set(data["stderr"]) == set(KEYS)
    assert data["coefficients"]["A"] == pytest.approx(17.07, rel=0.01)
    assert data["objective"] > 0 and data["seconds"] > 0
    boot = data["bootstrap"]
    assert boot["n"] == 30 and set(boot["ci95"]) == set(KEYS)
    assert all(low <= high for low, high in boot["ci95"].values())


def test_report_and_out(tmp_path: Path) -> None:
    """The text report names the objective, runs, residuals and search; --out is readable by solve."""
    from symscale.laws.coefficients import resolve

    out = tmp_path / "c.json"
    res = run("fit", str(RUNS), "-o", str(out))
    assert res.exit_code == 0, res.output
    for text in ("[[Fit Statistics]]", "objective function = Huber on ln L", "runs               = 47",
                 "residuals", "best basin", "[[Variables]] (uncertainty: sandwich standard error)",
                 "[[Correlations]]", "Wrote"):
        assert text in res.output
    assert "lmfit" not in res.output.split("[[Correlations]]")[0]  # the comparison of estimators is --verbose
    verbose = run("fit", str(RUNS), "--no-lmfit", "--verbose").output
    assert "[[Error estimators compared]]" in verbose and "sandwich" in verbose
    assert resolve(str(out)).alpha == pytest.approx(0.1788, abs=1e-3)


def test_bad_columns_list_what_was_found() -> None:
    res = run("fit", str(RUNS), "--loss-col", "Loss")
    assert res.exit_code == 2
    assert "columns found" in res.output and "'Smoothed Loss'" in res.output
    assert "Traceback" not in res.output


def test_missing_file_and_bad_rows(tmp_path: Path) -> None:
    res = run("fit", str(tmp_path / "none.csv"))
    assert res.exit_code == 2 and "not found" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("Parameters,Tokens,Smoothed Loss\n1e8,1e9,0\n")
    res = run("fit", str(bad))
    assert res.exit_code == 2 and "row 2" in res.output and len(res.output.strip().splitlines()) == 1


def test_too_few_runs(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_text("Parameters,Tokens,Smoothed Loss\n" + "1e8,1e9,3.0\n1e9,1e10,2.5\n")
    res = run("fit", str(path))
    assert res.exit_code == 2 and "at least 5" in res.output


def test_failed_fit_exits_1(tmp_path: Path) -> None:
    """Loss rising with size and data: the best fit has a non-positive exponent -> exit status 1."""
    path = tmp_path / "up.csv"
    rows = "".join(
        f"{n},{n * r},{1 + 0.1 * (n / 1e8) + 0.01 * r}\n" for n in (1e8, 2e8, 4e8) for r in (10, 20, 40)
    )
    path.write_text("Parameters,Tokens,Smoothed Loss\n" + rows)
    res = run("fit", str(path))
    assert res.exit_code == 1, res.output
    assert res.output.startswith("Error:") and "Traceback" not in res.output


# --- edges (issue 18): refused up front, one line, exit status 2 ----------------------------------
def _one_line_error(res, *fragments: str) -> None:
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), res.stderr
    assert "Traceback" not in res.output and res.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _grid_csv(tmp_path: Path, rows) -> Path:
    path = tmp_path / "runs.csv"
    path.write_text("Parameters,Tokens,Smoothed Loss\n" + "".join(f"{n},{d},{loss}\n" for n, d, loss in rows))
    return path


def _law(n: float, d: float) -> float:
    return 1.7 + 400 / n**0.34 + 400 / d**0.28


@pytest.mark.parametrize(
    "rows, fragment",
    [
        ([(1e8, 2e9, 3.0)] * 8, "all 8 runs are identical"),
        ([(1e8, d, _law(1e8, d)) for d in (1e9, 2e9, 4e9, 8e9, 16e9, 32e9)], "same model size N = 1e+08"),
        ([(n, 1e10, _law(n, 1e10)) for n in (1e8, 2e8, 4e8, 8e8, 16e8, 32e8)], "same token count D = 1e+10"),
        ([(n, d, _law(n, d)) for n, d in ((1e8, 1e9), (2e8, 3e9), (4e8, 2e9), (8e8, 9e9), (3e9, 4e10))] * 2,
         "only 5 distinct (N, D) points"),
    ],
)
def test_degenerate_runs_are_refused(tmp_path: Path, rows, fragment: str) -> None:
    _one_line_error(run("fit", str(_grid_csv(tmp_path, rows))), fragment)


def test_six_distinct_points_are_enough(tmp_path: Path) -> None:
    points = ((1e8, 1e9), (2e8, 3e9), (4e8, 2e9), (8e8, 9e9), (3e9, 4e10), (5e9, 1e11))
    res = run("fit", str(_grid_csv(tmp_path, [(n, d, _law(n, d)) for n, d in points])), "--no-lmfit", "--json")
    assert res.exit_code in (0, 1), res.output  # identifiable: the checks let it through to the fit
    assert "distinct" not in res.output


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--flops-col", "Tokens", "--tokens-col", "Tokens"], ["--tokens-col Tokens", "--flops-col Tokens"]),
        (["--params-col", "Tokens"], ["--params-col and --tokens-col both name column 'Tokens'"]),
        (["--loss-col", "Parameters"], ["--params-col and --loss-col both name column 'Parameters'"]),
        (["--delta", "1e308"], ["--delta must be between 1e-08 and 100, got 1e+308"]),
        (["--delta", "1e-320"], ["--delta must be between 1e-08 and 100"]),
        (["--bootstrap", "5", "--seed", "-1"], ["--seed", "-1"]),
        (["--bootstrap", "1000000"], ["--bootstrap 1000000", "20000", "CPU hours"]),
        (["--bootstrap", "1"], ["at least 2 replicates"]),
        (["-o", "/nonexistent_dir/x.json"], ["cannot write --output /nonexistent_dir/x.json: no such directory"]),
        (["-o", "/proc/x.json"], ["cannot write --output /proc/x.json"]),
        (["-o", __file__ + "/x.json"], ["not a directory"]),
        (["-o", "/tmp/" + "a" * 300 + ".json"], ["file name too long"]),
    ],
)
def test_bad_fit_options_are_one_line(args, fragments) -> None:
    _one_line_error(run("fit", str(RUNS), "--no-lmfit", *args), *fragments)


def test_out_is_checked_before_the_fit(monkeypatch) -> None:
    """An unwritable --out fails before any fitting starts."""
    from symscale.solvers import fit as F

    def boom(*args, **kwargs):
        raise AssertionError("the fit ran before --out was checked")

    monkeypatch.setattr(F, "fit", boom)
    _one_line_error(run("fit", str(RUNS), "-o", "/nonexistent_dir/x.json"), "no such directory")


def test_delta_at_the_edges_of_its_range_fits() -> None:
    for delta in ("1e-8", "100"):
        res = run("fit", str(RUNS), "--delta", delta, "--json")
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["delta"] == float(delta)


def test_optimum_on_a_bound_is_reported(tmp_path: Path) -> None:
    """Runs generated with E = 0.01 plus noise: the best fit drives E to its floor 0 and says so."""
    import numpy as np

    rng = np.random.default_rng(3)
    n, d = 10 ** rng.uniform(8, 10, 30), 10 ** rng.uniform(9, 12, 30)
    rng.standard_normal((2, 30))  # skip two draws: the third gives a fit that runs onto E = 0
    loss = (0.01 + 400 / n**0.34 + 400 / d**0.28) * np.exp(0.02 * rng.standard_normal(30))
    path = _grid_csv(tmp_path, zip(n, d, loss))
    res = run("fit", str(path), "--no-lmfit", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["coefficients"]["E"] < 1e-4 and "E" in data["on_bound"] and "floor 0" in data["on_bound"]["E"]
    text = run("fit", str(path), "--no-lmfit").stdout
    assert "Caution: the optimum sits on a bound: E = " in text
    assert json.loads(run("fit", RUNS, "--no-lmfit", "--json").stdout)["on_bound"] == {}


def test_bootstrap_report_excludes_unconverged_replicates_and_uses_log_scale_for_scales() -> None:
    import numpy as np

    from symscale.solvers import fit as F

    runs = F.load_runs(RUNS)
    result = F.fit(runs, use_lmfit=False)
    boot = F.bootstrap(runs, result.theta, 60, seed=0)
    keep = boot.converged
    assert 2 <= keep.sum() < 60  # some replicates do not converge on the paper's runs
    assert boot.ci95["E"] == pytest.approx(list(np.percentile(boot.samples["E"][keep], [2.5, 97.5])))
    assert boot.stderr_log["ln_A"] == pytest.approx(np.std(np.log(boot.samples["A"][keep]), ddof=1))
    res = run("fit", str(RUNS), "--bootstrap", "60", "--seed", "0", "--no-lmfit", "-q")
    assert f"{60 - int(keep.sum())} excluded (not converged)" in res.output
    assert "A:      35.3883      x/÷" in res.output and "ln A +/-" in res.output


def test_out_is_a_deprecated_alias_of_output(run_cli, tmp_path):
    """`fit --out` still writes the same file as `-o/--output`, with one note on stderr."""
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    base = ("fit", "--runs", "sardana-2024", "--no-lmfit", "-q")
    code, _, err = run_cli(*base, "-o", new)
    assert code == 0 and "Note:" not in err
    code, _, err = run_cli(*base, "--out", old)
    assert code == 0 and err.endswith("Note: --out is deprecated, use -o/--output; the old name will be removed\n")
    assert json.loads(old.read_text())["alpha"] == json.loads(new.read_text())["alpha"]
    help_text = run_cli("fit", "--help")[1]
    assert "--out " not in help_text and "--seed" in help_text and "default: 0" in " ".join(help_text.split())
