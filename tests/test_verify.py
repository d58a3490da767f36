"""High-precision verification: the README example, residuals, a batch, bad input."""

import json

import mpmath
import pytest
from click.testing import CliRunner

from symscale.cli import main
from symscale.solvers.solve import solve_compute_optimal, solve_optimal
from symscale.verify.chinchilla import (
    agreeing_digits,
    render_verification,
    to_mp,
    verify_batch,
    verify_compute_solution,
    verify_optimum,
)


@pytest.fixture(scope="module")
def readme():
    solution = solve_compute_optimal(1.947, 2e12, "chinchilla")
    return verify_compute_solution(solution, "chinchilla", dps=50)


def test_readme_example_agrees_to_12_digits(readme):
    assert readme["ok"] is True
    assert readme["digits"]["params"] >= 12 and readme["digits"]["tokens"] >= 12
    assert readme["kkt_residual"] < 1e-40
    assert readme["kkt_residual_relative"] < 1e-49
    assert readme["second_order"] == {"bordered_hessian_sign": -1, "objective_rises_both_sides": True, "ok": True}
    assert readme["params_precise"].startswith("24183560851.52")
    assert readme["tokens_precise"].startswith("2657051393483.5")
    assert "verified" in render_verification(readme)


def test_float_conversion_is_exact():
    assert to_mp(0.1) == mpmath.mpf(0.1)
    with mpmath.workdps(60):
        assert to_mp(0.1) - mpmath.mpf(1) / 10 != 0  # the binary double, not the decimal


def test_wrong_answer_is_caught():
    good = solve_optimal(2.0, 6.0, 2e13, "chinchilla")
    result = verify_optimum(2.0, 6.0, 2e13, float(good.params) * (1 + 1e-6), float(good.tokens), "chinchilla", 30)
    assert not result["ok"] and result["digits"]["params"] < 7
    assert any("params" in f for f in result["failures"])


def test_cost_objective_weights():
    allocation = solve_optimal(2.1, 3.2e-17, 4e-5, "sardana-all")
    result = verify_optimum(2.1, 3.2e-17, 4e-5, float(allocation.params), float(allocation.tokens), "sardana-all", 40)
    assert result["ok"] and result["dps"] == 40


def test_no_demand_recovers_the_bracket_end():
    result = verify_compute_solution(solve_compute_optimal(2.0, 0.0), "chinchilla", dps=30)
    assert result["ok"] and result["in_bracket"]


def test_agreeing_digits():
    assert agreeing_digits(1.0000001, mpmath.mpf(1), 50) == pytest.approx(7, abs=0.01)


def test_batch_and_cli(tmp_path):
    results = verify_batch([1.9, 2.2], [1e10, 1e14], "chinchilla", dps=30)
    assert all(r["verification"]["ok"] for r in results)
    path = tmp_path / "s.csv"
    path.write_text("loss,inference_tokens,beta\n2.0,1e12,\n2.1,5T,0.3\n")
    out = CliRunner().invoke(main, ["verify", "--csv", str(path), "--json", "--dps", "30"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["summary"]["verified"] == 2 and data["scenarios"][1]["coefficients"]["beta"] == 0.3
    out = CliRunner().invoke(main, ["verify", "--loss", "1.9:2.1:2", "--inference-tokens", "1e9:1e15:2", "--log"])
    assert out.exit_code == 0 and "4 of 4 scenarios verified" in out.output
    out = CliRunner().invoke(main, ["verify", "--random", "25", "--dps", "30"])
    assert out.exit_code == 0 and "25 of 25" in out.output


def test_verify_fails_with_exit_1():
    out = CliRunner().invoke(main, ["verify", "--random", "2", "--min-digits", "17"])
    assert out.exit_code == 1 and "FAIL" in out.output


@pytest.mark.parametrize("args, message", [
    (["verify"], "exactly one source"),
    (["verify", "--loss", "1.9:2", "--inference-tokens", "1e9"], "a range is start:stop:count"),
    (["verify", "--loss", "1.5", "--inference-tokens", "1e9"], "unreachable"),
    (["verify", "--csv", "/nonexistent.csv"], "not found"),
    (["verify", "--random", "3", "--dps", "5"], "--dps"),
])
def test_bad_input_is_one_line(args, message):
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 2, out.output
    assert message in out.output and "Traceback" not in out.output


def test_verify_cost_objective_checks_the_dollar_optimum(run_cli):
    """--objective cost: demand in requests, the float cost optimum verified at high precision."""
    import json

    from symscale.solvers.costs import CostSettings, solve_cost_optimal

    code, out, err = run_cli("verify", "--objective", "cost", "--loss", "1.9,2.0", "--requests", "1e8,1e10",
                             "--paper-settings", "--dps", "30", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["summary"]["verified"] == 4 and data["summary"]["objective"] == "cost"
    assert data["summary"]["settings"]["inference"]["gpu"] == "A100-40GB"
    first = data["scenarios"][0]
    assert first["requests"] == 1e8 and first["inference_tokens"] == pytest.approx(1e8 * 285)
    settings = CostSettings(train_gpu="A100-80GB", train_gpu_cost=1.5, inference_gpu="A100-40GB",
                            inference_dtype="int8", inference_gpu_cost=1.1, requests=1e8)
    assert first["params"] == pytest.approx(float(solve_cost_optimal(1.9, settings).optimal.params), rel=1e-12)


@pytest.mark.parametrize("args, message", [
    (("--loss", "2.0", "--requests", "1e9"), "add --objective cost"),
    (("--objective", "cost", "--loss", "2.0", "--inference-tokens", "1e9"), "--requests GRID, not --inference-tokens"),
    (("--random", "2", "--decode-mfu", "0.1"), "--decode-mfu is an option of the cost objective"),
])
def test_verify_objective_errors_are_one_line(run_cli, args, message):
    code, out, err = run_cli("verify", *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1
