"""What a planner acts on: --quality-of a published model, extrapolation warnings, the number grammar."""

from __future__ import annotations

import json

import pytest

from symscale.base.numbers import parse_number
from symscale.scenarios.reference import reference_model
from symscale.solvers.solve import loss_of


def test_quality_of_a_published_model(run_cli):
    code, out, err = run_cli("solve", "--quality-of", "LLAMA-2-7b", "--inference-tokens", "3.65e12", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["loss"] == pytest.approx(float(loss_of(7e9, 2e12)), rel=1e-15)
    ref = data["reference"]
    assert ref["name"] == "Llama-2-7B" and ref["params"] == 7e9 and ref["tokens"] == 2e12
    assert ref["total_flops"] == pytest.approx(6 * 7e9 * 2e12 + 2 * 7e9 * 3.65e12)
    assert data["ratio_to_reference"]["params"] == pytest.approx(data["optimal"]["params"] / 7e9)
    # the optimum is never worse than the model it matches in quality
    assert data["ratio_to_reference"]["total_flops"] <= 1 + 1e-12


def test_quality_of_n_colon_d_and_cost_ratios(run_cli):
    code, out, _ = run_cli("solve", "--quality-of", "7B:2T", "--objective", "cost", "--requests", "1e9",
                           "--input-tokens", "300", "--output-tokens", "200", "--json")
    data = json.loads(out)
    assert code == 0 and data["reference"]["name"] == "7B:2T"
    assert data["ratio_to_reference"]["total_cost"] == pytest.approx(
        data["optimal"]["total_cost"] / data["reference"]["total_cost"])
    assert data["ratio_to_reference"]["total_cost"] <= 1 + 1e-12


@pytest.mark.parametrize("spec, message", [("GPT-9", "not a model of data/reference_models.csv"),
                                           ("7B:", "is not a number"), ("0:2T", "must be > 0")])
def test_quality_of_errors_are_one_line(run_cli, spec, message):
    code, out, err = run_cli("solve", "--quality-of", spec)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_reference_catalog_has_the_models_the_issue_names():
    for name in ("Chinchilla-70B", "Llama-2-7B", "Llama-2-13B", "Llama-2-70B", "Llama-3-8B", "Llama-3-70B"):
        model = reference_model(name)
        assert model.params > 0 and model.tokens > 0 and model.source


def test_extrapolation_warning_states_the_factor(run_cli):
    code, out, err = run_cli("solve", "--loss", "2.0", "--inference-tokens", "1e16", "--json")
    data = json.loads(out)
    tokens = data["optimal"]["tokens"]
    assert code == 0 and len(data["warnings"]) == 1
    assert f"{tokens / 500e9:.3g}x above the largest (500.0B)" in data["warnings"][0]
    assert err.strip() == "Warning: " + data["warnings"][0]


def test_no_warning_inside_the_fitted_range(run_cli):
    code, out, err = run_cli("solve", "--loss", "2.2", "--inference-tokens", "1e11", "--json")
    data = json.loads(out)
    assert code == 0 and data["warnings"] == [] and err == ""


def test_fit_records_its_runs_range(run_cli, tmp_path):
    path = tmp_path / "c.json"
    code, _, _ = run_cli("fit", "--runs", "sardana-2024", "--cutoff", "100", "-o", str(path), "--no-lmfit",
                         "--json")
    fitted = json.loads(path.read_text())["fitted_range"]
    assert code == 0 and fitted["params"] == [151e6, 6.05e9] and fitted["tokens_per_param"] == [10.0, 100.0]
    code, out, _ = run_cli("solve", "--coefficients", str(path), "--loss", "2.5", "--inference-tokens", "2e12",
                           "--json")
    data = json.loads(out)
    assert code == 0 and any("tokens per parameter" in w for w in data["warnings"])


@pytest.mark.parametrize("text, value", [("7e9", 7e9), ("70B", 7e10), ("2T", 2e12), ("1.5M", 1.5e6),
                                         ("500k", 5e5), ("7000000000", 7e9)])
def test_number_grammar_accepts(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1e3T", "2 T", "7G", "\u0661\u0662", "1e400", "", "B"])
def test_number_grammar_refuses(run_cli, text):
    with pytest.raises(ValueError):
        parse_number(text)
    code, out, err = run_cli("solve", "--loss", "2", "--inference-tokens", text)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_train_gpus_gives_training_days(run_cli):
    code, out, _ = run_cli("solve", "--objective", "cost", "--loss", "2.0", "--requests", "1e10", "--train-gpus",
                           "1024", "--json")
    data = json.loads(out)
    opt = data["optimal"]
    assert code == 0 and opt["train_days"] == pytest.approx(opt["train_gpu_hours"] / 1024 / 24, rel=1e-15)
    # GPU-hours are FLOPs over the peak at the MFU: 6 N D / (989e12 * 0.5) / 3600 on an H100 in bf16
    assert opt["train_gpu_hours"] == pytest.approx(6 * opt["params"] * opt["tokens"] / (989e12 * 0.5) / 3600,
                                                   rel=1e-12)
    code, _, err = run_cli("solve", "--loss", "2.0", "--train-gpus", "8")
    assert code == 2 and "--objective cost" in err


@pytest.mark.parametrize("objective", [(), ("--objective", "cost")])
def test_breakeven_quality_of_reports_the_model_as_solve_does(run_cli, objective):
    """breakeven --quality-of: the model at the break-even demand, priced as solve prices it at that demand."""
    code, out, err = run_cli("breakeven", "--quality-of", "Llama-2-7B", "--saving", "0.1", *objective, "--json")
    assert code == 0, err
    row = json.loads(out)["results"][0]
    assert row["loss"] == pytest.approx(float(loss_of(7e9, 2e12)), rel=1e-12)
    demand = (("--requests", repr(row["requests"])) if objective
              else ("--inference-tokens", repr(row["inference_tokens"])))
    code, out, err = run_cli("solve", "--quality-of", "Llama-2-7B", *demand, *objective, "--json")
    assert code == 0, err
    solved = json.loads(out)
    for key, value in solved["reference"].items():
        assert row["reference"][key] == (pytest.approx(value, rel=1e-10) if isinstance(value, float) else value), key
    for key, value in solved["ratio_to_reference"].items():
        assert row["ratio_to_reference"][key] == pytest.approx(value, rel=1e-8), key
    assert row["params"] / 7e9 == pytest.approx(row["ratio_to_reference"]["params"], rel=1e-12)
    code, out, _ = run_cli("breakeven", "--quality-of", "Llama-2-7B", "--saving", "0.1", *objective)
    assert "Against Llama-2-7B (7.000B params on 2.000T tokens" in out


def test_quality_of_with_limits_reports_the_model_beside_the_limited_optimum(run_cli):
    """solve --quality-of with limits that do not bind: the same ratios to the model as without the limits."""
    args = ("solve", "--quality-of", "Llama-2-7B", "--requests-per-day", "1e7", "--days", "730", "--objective", "cost",
            "--input-tokens", "300", "--output-tokens", "200")
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    free = json.loads(out)
    code, out, err = run_cli(*args, "--unique-tokens", "3e12", "--max-epochs", "4", "--json")
    assert code == 0, err
    limited = json.loads(out)
    assert limited["data_limit_binds"] is False
    assert limited["reference"]["total"] == pytest.approx(free["reference"]["total_cost"], rel=1e-9)
    assert limited["ratio_to_reference"]["total"] == pytest.approx(free["ratio_to_reference"]["total_cost"], rel=1e-9)
    assert limited["ratio_to_reference"]["params"] == pytest.approx(free["ratio_to_reference"]["params"], rel=1e-9)
    code, out, _ = run_cli(*args, "--unique-tokens", "3e12", "--max-epochs", "4")
    assert "Against Llama-2-7B (7.000B params on 2.000T tokens" in out
