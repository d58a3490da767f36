"""The core commands: solve, calc and derive, as a user types them."""

import json

import pytest


def test_solve_readme_example_text(run_cli):
    code, out, _ = run_cli("solve", "--loss", "1.947", "--inference-tokens", "2e12")
    assert code == 0
    assert "24.18B" in out and "2.657T" in out and "34.08B" in out and "1.810T" in out
    assert "70.96%" in out and "146.8%" in out and "95.22%" in out and "2.423e+22 FLOPs" in out


def test_solve_json_keys_and_values(run_cli):
    code, out, _ = run_cli("solve", "--loss", "1.947", "--inference-tokens", "2T", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"loss", "coefficients", "inference_tokens", "baseline", "optimal", "ratio"} <= set(data)
    for key in ("params", "tokens", "train_flops", "inference_flops", "total_flops"):
        assert key in data["baseline"] and key in data["optimal"]
    assert data["optimal"]["params"] == pytest.approx(2.418e10, rel=5e-4)
    assert data["ratio"]["total_flops"] == pytest.approx(0.9522, abs=5e-5)
    assert data["coefficients"]["alpha"] == 0.336


@pytest.mark.parametrize("args", [
    ("--requests", "1e9", "--tokens-per-request", "2000"),
    ("--requests-per-day", "1e7", "--days", "100", "--tokens-per-request", "2000"),
])
def test_solve_demand_in_requests(run_cli, args):
    code, out, _ = run_cli("solve", "--loss", "1.947", *args, "--json")
    assert code == 0 and json.loads(out)["inference_tokens"] == pytest.approx(2e12)


def test_solve_quality_from_chinchilla_size(run_cli):
    code, out, _ = run_cli("solve", "--chinchilla-params", "70B", "--inference-tokens", "10T", "--json")
    data = json.loads(out)
    assert data["baseline"]["params"] == pytest.approx(70e9, rel=1e-12)
    assert data["optimal"]["params"] == pytest.approx(41.6e9, rel=2e-3)   # paper Table 2: 41.6B


def test_calc_examples(run_cli):
    _, out, _ = run_cli("calc", "--params", "70e9", "--tokens", "1e12", "--json")
    assert json.loads(out)["loss"] == pytest.approx(1.94727, abs=5e-6)
    _, out, _ = run_cli("calc", "--chinchilla", "--compute", "1e24", "--json")
    data = json.loads(out)
    assert f"{data['params']:.3e}" == "5.368e+10" and f"{data['tokens']:.3e}" == "3.105e+12"
    assert round(data["loss"], 4) == 1.9106
    _, out, _ = run_cli("calc", "--params", "7B", "--compute", "1e23", "--inference-tokens", "1e12", "--json")
    data = json.loads(out)
    assert data["tokens"] == pytest.approx(1e23 / 42e9) and data["total_flops"] == pytest.approx(1e23 + 1.4e22)


def test_derive_prints_equations_equal_to_the_papers(run_cli):
    import sympy as sp

    from symscale.problems import chinchilla as s

    code, out, _ = run_cli("derive", "--json")
    assert code == 0
    steps = {st["key"]: st for st in json.loads(out)["steps"]}
    for key in ("eq8", "eq9", "eq10", "eq11", "eq12"):
        assert key in steps
    ns = {str(sym): sym for sym in (s.N, s.D, s.D_inf, s.alpha, s.beta, s.A, s.B, s.E, s.loss, s.lam)}
    eq12 = sp.sympify(steps["eq12"]["text"].replace("Eq(", "(").rsplit(",", 1)[0] + ")", locals=ns)
    assert sp.simplify(eq12 - s.PAPER["eq12"]) == 0
    _, pretty, _ = run_cli("derive")
    assert "Eq. 11" in pretty and "Eq. 12" in pretty


@pytest.mark.parametrize("args, message", [
    (("solve", "--loss", "1.5"), "unreachable: the law's floor E is 1.69"),
    (("solve", "--loss", "2", "--chinchilla-params", "7B"), "exactly one of --loss"),
    (("solve",), "exactly one of --loss"),
    (("solve", "--loss", "2", "--inference-tokens", "-5"), "must be >= 0"),
    (("solve", "--loss", "nan"), "not a number"),
    (("solve", "--loss", "inf"), "not a number"),
    (("solve", "--loss", "2", "--coefficients", "nope"), "unknown coefficient preset 'nope'"),
    (("solve", "--loss", "2", "--coefficients", "missing.json"), "not found"),
    (("solve", "--loss", "2", "--requests", "1e9"), "--tokens-per-request"),
    (("solve", "--loss", "2", "--alpha", "0"), "must be >= 0.001"),
    (("calc", "--params", "7B"), "exactly two"),
    (("calc", "--params", "-7B", "--tokens", "1T"), "must be > 0"),
    (("calc", "--loss", "2"), "--loss needs --chinchilla"),
])
def test_bad_input_is_one_line_exit_2(run_cli, args, message):
    code, out, err = run_cli(*args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_malformed_coefficient_file(run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run_cli("solve", "--loss", "2", "--coefficients", str(bad))
    assert code == 2 and "not valid JSON" in err
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"alpha": 0.3, "beta": 0.3}))
    code, _, err = run_cli("solve", "--loss", "2", "--coefficients", str(partial))
    assert code == 2 and "lacks A, B, E" in err


def test_coefficients_file_round_trip(run_cli, tmp_path):
    from symscale.laws.coefficients import preset, save_coefficients

    path = tmp_path / "c.json"
    save_coefficients(preset("epoch-2024"), path)
    _, a, _ = run_cli("solve", "--loss", "2.2", "--inference-tokens", "1e12", "--coefficients", str(path), "--json")
    _, b, _ = run_cli("solve", "--loss", "2.2", "--inference-tokens", "1e12", "--coefficients", "epoch-2024", "--json")
    assert json.loads(a)["optimal"] == json.loads(b)["optimal"]


def test_bootstrap_samples_give_intervals(run_cli, tmp_path):
    import numpy as np

    from symscale.laws.coefficients import preset, save_coefficients

    rng = np.random.default_rng(0)
    base = preset("chinchilla")
    samples = {k: v * (1 + 0.01 * rng.standard_normal(200)) for k, v in base.as_dict().items()}
    path = tmp_path / "boot.json"
    save_coefficients(base.__class__(**base.as_dict(), samples=samples), path)
    _, out, _ = run_cli("solve", "--loss", "1.947", "--inference-tokens", "2e12", "--coefficients", str(path), "--json")
    data = json.loads(out)
    low, high = data["uncertainty"]["ci95"]["params"]
    assert low < data["optimal"]["params"] < high
    assert data["uncertainty"]["n_samples"] == 200


def test_solve_verify_readme_example(run_cli):
    code, out, _ = run_cli("solve", "--loss", "1.947", "--inference-tokens", "2e12", "--verify", "--json")
    check = json.loads(out)["verification"]
    assert code == 0 and check["ok"] and check["dps"] == 50
    assert check["digits"]["params"] >= 12 and check["digits"]["tokens"] >= 12
    assert check["kkt_residual"] < 1e-40
    code, out, _ = run_cli("solve", "--loss", "1.947", "--inference-tokens", "2e12", "--verify")
    assert "result: verified" in out


def test_solve_sensitivity_matches_the_planning_api(run_cli):
    from symscale.laws.coefficients import preset
    from symscale.scenarios.planning import sensitivity_report

    code, out, _ = run_cli("solve", "--loss", "1.947", "--inference-tokens", "2e12", "--sensitivity", "--json")
    got = json.loads(out)["sensitivity"]
    want = sensitivity_report(1.947, 2e12, preset("chinchilla"))
    assert code == 0
    for row in ("ln_params", "ln_tokens"):
        for key, value in want[row].items():
            assert got[row][key] == pytest.approx(value, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("problem, needle", [("budget", "budget"), ("overhead", "N_c"), ("breakeven", "")])
def test_derive_other_problems(run_cli, problem, needle):
    code, out, _ = run_cli("derive", "--problem", problem, "--format", "text")
    assert code == 0 and needle in out and len(out.splitlines()) > 5


def test_non_json_coefficients_file_is_named(run_cli, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("alpha = 0.3\n")
    code, _, err = run_cli("solve", "--loss", "2", "--coefficients", str(text))
    assert code == 2 and "is not valid JSON" in err and len(err.strip().splitlines()) == 1


def test_internal_errors_are_one_line_exit_1(run_cli, monkeypatch):
    from symscale.cli import cmd_calc

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cmd_calc, "calc_report", broken)
    monkeypatch.delenv("SYMSCALE_DEBUG", raising=False)
    code, _, err = run_cli("calc", "--params", "7B", "--tokens", "1T")
    assert code == 1 and "Internal error: RuntimeError: simulated bug" in err
    assert len(err.strip().splitlines()) == 1


def test_bootstrap_intervals_for_the_cost_objective(run_cli, tmp_path):
    import numpy as np

    from symscale.laws.coefficients import Coefficients, preset, save_coefficients

    base = preset("chinchilla")
    rng = np.random.default_rng(1)
    samples = {k: v * (1 + 0.01 * rng.standard_normal(100)) for k, v in base.as_dict().items()}
    path = tmp_path / "boot.json"
    save_coefficients(Coefficients(**base.as_dict(), samples=samples), path)
    code, out, _ = run_cli("solve", "--objective", "cost", "--loss", "1.947", "--coefficients", str(path), "--json")
    data = json.loads(out)
    low, high = data["uncertainty"]["ci95"]["total_cost_saving"]
    assert code == 0 and low < 1 - data["ratio"]["total_cost"] < high


def test_outputs_state_the_demand_they_used(run_cli):
    """No hidden demand: calc and overhead say 0 when none is given; closed-form states it too."""
    code, out, _ = run_cli("calc", "--params", "7B", "--tokens", "1T")
    assert code == 0 and "Inference tokens:        0 (no demand given)" in out
    code, out, _ = run_cli("overhead", "--loss", "2.0", "--size-ratio", "0.5")
    assert code == 0 and "Lifetime inference demand 0 tokens" in out
    code, out, _ = run_cli("budget", "--total-flops", "1e24")
    assert code == 0 and "lifetime inference demand 0 tokens" in out


def test_derive_format_json_is_the_json_shorthand(run_cli):
    code, out, _ = run_cli("derive", "--format", "json")
    assert code == 0 and json.loads(out) == json.loads(run_cli("derive", "--json")[1])


def test_verify_lists_failures_only_unless_all(run_cli, tmp_path):
    """The same rule for 3 rows as for 28: without --all no passing row is listed; with --all every row is."""
    small = tmp_path / "s.csv"
    small.write_text("loss,inference_tokens\n1.947,2e12\n2.1,1e11\n2.0,0\n")
    for args, rows in ((("--csv", small), 3), (("--loss", "1.9:2.2:4", "--inference-tokens", "1e9:1e12:7"), 28)):
        code, out, _ = run_cli("verify", *args, "--dps", "20")
        assert code == 0 and " ok" not in out and "--all lists every scenario" in out
        code, out, _ = run_cli("verify", *args, "--dps", "20", "--all")
        assert code == 0 and out.count(" ok") == rows
