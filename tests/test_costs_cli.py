"""The cost objective on the command line: solve --objective cost, calc with costs, options and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

README_COST = ("--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000", "--output-tokens", "250",
               "--train-gpu", "A100-80GB", "--train-gpu-cost", "1.40", "--inference-gpu", "A100-40GB",
               "--inference-dtype", "int8", "--inference-gpu-cost", "0.60",
               "--train-mfu", "0.5", "--prefill-mfu", "0.4", "--decode-mfu", "0.2")
CALCULATOR = ("--objective", "cost", "--params", "30e9", "--chinchilla", "--train-gpu-cost", "1.50",
              "--inference-gpu", "A100-40GB",
              "--inference-dtype", "int8", "--inference-gpu-cost", "0.60", "--input-tokens", "500",
              "--output-tokens", "100", "--requests", "1e9")


def test_solve_cost_readme_example_text(run_cli):
    code, out, _ = run_cli("solve", "--objective", "cost", *README_COST)
    assert code == 0
    assert "20.53B" in out and "3.302T" in out
    assert "60.23%" in out and "182.4%" in out and "88.76%" in out
    assert "$1.61M" in out and "$1.43M" in out
    assert "A100-80GB bf16" in out and "A100-40GB int8" in out


def test_solve_cost_json_keys(run_cli):
    code, out, _ = run_cli("solve", "--objective", "cost", *README_COST, "--json")
    data = json.loads(out)
    assert code == 0 and data["objective"] == "cost"
    for side in ("baseline", "optimal"):
        assert {"params", "tokens", "train_flops", "inference_flops", "total_flops", "train_cost", "prefill_cost",
                "decode_cost", "inference_cost", "total_cost"} <= set(data[side])
    assert set(data["ratio"]) == {"params", "tokens", "total_flops", "total_cost"}
    assert data["baseline"]["total_cost"] == pytest.approx(1.6055e6, rel=1e-4)
    assert data["optimal"]["total_cost"] == pytest.approx(1.4251e6, rel=1e-4)
    assert data["ratio"]["total_cost"] == pytest.approx(0.8876, abs=5e-5)
    assert data["settings"]["train"]["price_per_hour"] == 1.40
    assert data["settings"]["inference"]["peak_flops"] == 624e12


def test_solve_cost_defaults_are_the_authors_with_no_hidden_demand(run_cli):
    code, out, _ = run_cli("solve", "--objective", "cost", "--loss", "2.0", "--json")
    data = json.loads(out)
    s = data["settings"]
    assert code == 0
    assert (s["train"]["gpu"], s["train"]["dtype"], s["inference"]["gpu"], s["inference"]["dtype"]) == \
        ("H100", "bf16", "H100", "fp8")
    assert (s["train_mfu"], s["prefill_mfu"], s["decode_mfu"]) == (0.5, 0.5, 0.01)
    assert (s["requests"], s["input_tokens"], s["output_tokens"]) == (0, 70, 215)  # demand only when given
    assert data["optimal"]["params"] == pytest.approx(data["baseline"]["params"], rel=1e-12)  # no demand: Chinchilla
    assert s["train"]["price_per_hour"] == 2.0 and s["inference"]["price_per_hour"] == 2.0


def test_help_documents_options_and_defaults(run_cli):
    code, out, _ = run_cli("solve", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for option in ("--train-gpu", "--train-dtype", "--train-gpu-cost", "--inference-gpu", "--inference-dtype",
                   "--inference-gpu-cost", "--train-mfu", "--prefill-mfu", "--decode-mfu", "--requests",
                   "--input-tokens", "--output-tokens", "--train-peak-flops", "--inference-peak-flops",
                   "--objective"):
        assert option in flat
    for default in ("default: H100", "default: bf16", "H100: fp8, A100: int8", "default: 0.5", "default: 0.01",
                    "default: 70", "default: 215", "1e10", "`symscale hardware`"):
        assert default in flat, default


def test_requests_per_day_times_days(run_cli):
    code, out, _ = run_cli("solve", "--objective", "cost", "--loss", "2.0", "--requests-per-day", "1e8",
                           "--days", "100", "--json")
    assert code == 0 and json.loads(out)["settings"]["requests"] == pytest.approx(1e10)


def test_compute_objective_refuses_input_and_output_tokens(run_cli):
    code, out, err = run_cli("solve", "--loss", "1.947", "--requests", "1e9", "--input-tokens", "1500",
                             "--output-tokens", "500", "--json")
    assert code == 2 and out == ""
    assert err == ("Error: --input-tokens, --output-tokens are options of the cost objective "
                   "(hardware, price, MFU, input/output tokens): add --objective cost\n")
    code, out, _ = run_cli("solve", "--loss", "1.947", "--requests", "1e9", "--tokens-per-request", "2000", "--json")
    assert code == 0 and json.loads(out)["inference_tokens"] == pytest.approx(2e12)
    assert json.loads(out)["optimal"]["params"] == pytest.approx(2.418e10, rel=5e-4)


def test_own_peak_bypasses_the_catalog(run_cli):
    code, out, _ = run_cli("solve", "--objective", "cost", "--loss", "2.0", "--train-peak-flops", "1e15",
                           "--train-gpu-cost", "3", "--inference-gpu", "B200", "--inference-gpu-cost", "5", "--json")
    s = json.loads(out)["settings"]
    assert code == 0 and s["train"]["gpu"] is None and s["train"]["peak_flops"] == 1e15
    assert s["inference"]["peak_flops"] == 4.5e15


def test_calc_cost_calculator_example_honours_prices(run_cli):
    code, out, _ = run_cli("calc", *CALCULATOR, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["train_cost"] == pytest.approx(2.3598e5, rel=1e-4)
    assert data["inference_cost"] == pytest.approx(1.7628e5, rel=1e-4)
    assert data["total_cost"] == pytest.approx(4.1226e5, rel=1e-4)
    assert data["total_flops"] == pytest.approx(3.161e23, rel=5e-4)


def test_calc_cost_calculator_at_default_prices_gives_the_printed_numbers(run_cli):
    """Without the two price options (what the authors' script effectively did) the README's $3.146e5 / $6.378e5."""
    args = [a for a in CALCULATOR]
    for option in ("--train-gpu-cost", "--inference-gpu-cost"):
        i = args.index(option)
        del args[i:i + 2]
    code, out, _ = run_cli("calc", *args)
    assert code == 0 and "$315k" in out and "$638k" in out
    data = json.loads(run_cli("calc", *args, "--json")[1])
    assert f"{data['train_cost']:.3e}" == "3.146e+05" and f"{data['total_cost']:.3e}" == "6.378e+05"


def test_calc_70b_on_10t_default_hardware(run_cli):
    code, out, _ = run_cli("calc", "--params", "70e9", "--tokens", "10e12", "--objective", "cost")
    assert code == 0 and "Training cost:           $4.72M" in out
    data = json.loads(run_cli("calc", "--params", "70e9", "--tokens", "10e12", "--objective", "cost", "--json")[1])
    assert f"{data['train_cost']:.3e}" == "4.719e+06"
    assert data["train_gpu_hours"] == pytest.approx(4.719e6 / 2, rel=1e-3)  # $2.00 per H100-hour


def test_calc_without_cost_options_is_unchanged(run_cli):
    code, out, _ = run_cli("calc", "--params", "70e9", "--tokens", "1e12", "--json")
    data = json.loads(out)
    assert code == 0 and "total_cost" not in data and "settings" not in data
    assert data["loss"] == pytest.approx(1.947, abs=5e-4)


@pytest.mark.parametrize("args, message", [
    (("--train-mfu", "0"), "must be > 0"),
    (("--decode-mfu", "1.5"), "must be <= 1"),
    (("--train-gpu-cost", "-1"), "must be > 0"),
    (("--inference-peak-flops", "0"), "must be > 0"),
    (("--input-tokens", "0"), "must be > 0"),
    (("--output-tokens", "-3"), "must be > 0"),
    (("--train-gpu", "V100"), "unknown GPU 'V100'; the catalog (data/gpus.csv) has A100-40GB"),
    (("--inference-gpu", "A100-80GB", "--inference-dtype", "fp8"), "A100-80GB has no fp8 peak"),
    (("--inference-dtype", "fp4"), "unknown data type 'fp4'"),
    (("--inference-gpu", "H200"), "no documented price"),
    (("--inference-tokens", "1e12"), "prices input and output tokens separately"),
    (("--train-peak-flops", "1e15"), "needs --train-gpu-cost"),
])
def test_bad_cost_input_is_one_line_exit_2(run_cli, args, message):
    code, _, err = run_cli("solve", "--objective", "cost", "--loss", "2.0", *args)
    assert code == 2
    assert message in err and err.startswith("Error:") and err.count("\n") == 1


def test_hardware_options_need_the_cost_objective(run_cli):
    code, _, err = run_cli("solve", "--loss", "2.0", "--train-gpu", "H100")
    assert code == 2 and "add --objective cost" in err


def test_cost_path_does_not_import_sympy():
    code = ("import sys; from symscale.cli import main; "
            "main(['solve', '--objective', 'cost', '--loss', '2.0', '--json'], standalone_mode=False); "
            "print('SYMPY', 'sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "SYMPY False" in out


def test_calc_cost_is_a_deprecated_alias_of_the_cost_objective(run_cli):
    args = ("calc", "--params", "70e9", "--tokens", "10e12")
    new = run_cli(*args, "--objective", "cost", "--json")
    code, out, err = run_cli(*args, "--cost", "--json")
    assert code == 0 and out == new[1]
    assert err == "Note: --cost is deprecated, use --objective cost; the old name will be removed\n"


@pytest.mark.parametrize("command", [
    ("solve", "--loss", "2.0"), ("calc", "--params", "7e9", "--tokens", "1e12"), ("budget", "--total-flops", "1e24"),
    ("overhead", "--loss", "2.0", "--size-ratio", "0.5"), ("breakeven", "--loss", "2.0", "--saving", "0.1"),
    ("closed-form", "--beta", "1/2"), ("sweep", "--loss", "2.0", "--inference-tokens", "1e12"),
    ("plot", "scenario", "-o", "x.png", "--loss", "2.0"),
])
@pytest.mark.parametrize("option", [("--train-gpu", "H100"), ("--inference-dtype", "int8"), ("--decode-mfu", "0.1"),
                                    ("--train-gpu-cost", "2"), ("--output-tokens", "100"), ("--paper-settings",)])
def test_every_pricing_command_refuses_cost_options_without_the_cost_objective(run_cli, command, option,
                                                                              tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*command, *option)
    name = option[0]
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"Error: {name} is an option of the cost objective")
    assert err.endswith("add --objective cost\n")


@pytest.mark.parametrize("gpu, dtype", [("A100-40GB", "int8"), ("A100-80GB", "int8"), ("H100", "fp8"), ("B200", "fp8")])
def test_inference_dtype_defaults_to_the_gpus_fastest(run_cli, gpu, dtype):
    args = ("solve", "--objective", "cost", "--loss", "2.0", "--inference-gpu", gpu, "--inference-gpu-cost", "1",
            "--json")
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert json.loads(out)["settings"]["inference"]["dtype"] == dtype
