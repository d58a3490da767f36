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
    from symscale.coefficients import resolve

    out = tmp_path / "c.json"
    res = run("fit", str(RUNS), "--out", str(out))
    assert res.exit_code == 0, res.output
    for text in ("Huber objective", "47 runs", "Residuals", "best basin", "stderr (sandwich)", "Wrote"):
        assert text in res.output
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
