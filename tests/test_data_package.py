"""The data files are package data: read through importlib.resources, listed, bundled runs, broken installs."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import symscale
from symscale.base import datafiles
from symscale.base.datasets import datasets, find
from symscale.base.errors import InputError

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIR = Path(symscale.__file__).resolve().parent


def test_every_repository_data_file_is_package_data():
    shipped = {p.name for p in resources.files("symscale").joinpath("data").iterdir()}
    in_repo = {p.name for p in (REPO / "data").iterdir() if p.is_file()}
    assert in_repo <= shipped
    assert {"coefficients.csv", "gpus.csv", "sardana-2024-runs.csv", "datasets.csv"} <= shipped


def test_bundled_runs_are_the_papers_47_runs_with_attribution():
    runs = datasets()["sardana-2024"]
    rows = list(csv.DictReader(runs.text().splitlines()))
    assert runs.rows == len(rows) == 47
    assert {"Parameters", "Tokens", "Smoothed Loss", "eval_gauntlet/core_average"} <= set(runs.columns())
    assert float(rows[0]["Parameters"]) == 151e6 and float(rows[0]["Tokens"]) == 1.51e9
    assert "Apache-2.0" in runs.license
    notice = datafiles.read_text("NOTICE.md")
    assert "sardana-2024-runs.csv" in notice and "Apache License" in notice
    assert "Apache License" in datafiles.read_text("LICENSE-Apache-2.0.txt")


def test_dataset_names_are_case_insensitive_and_a_file_wins(tmp_path, monkeypatch):
    assert find("SARDANA-2024").name == "sardana-2024"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sardana-2024").write_text("Parameters,Tokens,Smoothed Loss\n")
    assert find("sardana-2024") is None


def test_datasets_command_lists_source_and_columns(run_cli):
    code, out, _ = run_cli("datasets", "--json")
    assert code == 0
    (entry,) = [d for d in json.loads(out)["datasets"] if d["name"] == "sardana-2024"]
    assert entry["rows"] == 47 and "Smoothed Loss" in entry["columns"] and "arXiv:2401.00448" in entry["source"]
    code, out, _ = run_cli("datasets")
    assert code == 0 and "sardana-2024  (47 runs" in out and "Licence: Apache-2.0" in out


def test_hardware_command_lists_the_catalog(run_cli):
    code, out, _ = run_cli("hardware", "--json")
    gpus = {g["name"]: g for g in json.loads(out)["gpus"]}
    assert code == 0 and gpus["H100"]["price_per_hour"] == 2.0 and gpus["A100-40GB"]["peak_flops"]["bf16"] == 3.12e14


def test_missing_data_file_is_an_input_error_naming_it(monkeypatch):
    with pytest.raises(InputError, match=r"data/no-such\.csv is missing"):
        datafiles.read_text("no-such.csv")


def _run(args: list[str], env_path: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(env_path)}
    return subprocess.run([sys.executable, "-m", "symscale", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def broken_copy(tmp_path) -> Path:
    """A copy of the package (data resolved to real files) that a test may damage."""
    shutil.copytree(PACKAGE_DIR, tmp_path / "site" / "symscale", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "site"


def test_help_and_version_read_no_data_file(broken_copy, tmp_path):
    shutil.rmtree(broken_copy / "symscale" / "data")
    for args in (["--help"], ["--version"], ["solve", "--help"], ["fit", "--help"]):
        result = _run(args, broken_copy, tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr == ""


@pytest.mark.parametrize("damage, message", [
    ("delete", "data/coefficients.csv is missing"),
    ("garble", "data/coefficients.csv lacks column"),
    ("bad value", "data/coefficients.csv has a malformed value on line 2"),
])
def test_broken_installation_is_one_line_exit_2(broken_copy, tmp_path, damage, message):
    target = broken_copy / "symscale" / "data" / "coefficients.csv"
    if damage == "delete":
        target.unlink()
    elif damage == "garble":
        target.write_bytes(b"\x00\x01 not a table\n1,2\n")
    else:
        lines = target.read_text().splitlines()
        lines[1] = lines[1].replace("0.336", "zero point three", 1)
        target.write_text("\n".join(lines) + "\n")
    result = _run(["solve", "--loss", "1.947", "--inference-tokens", "2e12"], broken_copy, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
