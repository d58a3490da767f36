"""The planning commands as a user types them: budget, breakeven, overhead."""

from __future__ import annotations

import json

import pytest


def _json(run_cli, *args):
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_budget_json_keys_and_round_trip_through_solve(run_cli):
    data = _json(run_cli, "budget", "--total-flops", "1e24", "--inference-tokens", "2T")
    assert {"loss", "baseline", "optimal", "ratio", "inference_tokens"} <= set(data)
    best = data["optimal"]
    assert best["total_flops"] == pytest.approx(1e24, rel=1e-12)
    back = _json(run_cli, "solve", "--loss", repr(data["loss"]), "--inference-tokens", "2T")
    assert set(back["optimal"]) >= set(best) and set(back["baseline"]) >= set(data["baseline"])
    assert back["optimal"]["params"] == pytest.approx(best["params"], rel=1e-10)
    assert back["optimal"]["tokens"] == pytest.approx(best["tokens"], rel=1e-10)
    assert back["baseline"]["params"] == pytest.approx(data["baseline"]["params"], rel=1e-10)
    assert back["optimal"]["total_flops"] == pytest.approx(1e24, rel=1e-10)


def test_budget_without_demand_is_chinchilla(run_cli):
    data = _json(run_cli, "budget", "--total-flops", "1e24")
    calc = _json(run_cli, "calc", "--chinchilla", "--compute", "1e24")
    assert data["optimal"]["params"] == pytest.approx(calc["params"], rel=1e-12)
    assert data["inference_tokens"] == 0
    assert data["loss"] == pytest.approx(calc["loss"], rel=1e-12)


def test_budget_in_dollars(run_cli):
    args = ("--requests", "1e10", "--input-tokens", "70", "--output-tokens", "215")
    data = _json(run_cli, "budget", "--objective", "cost", "--total-dollars", "5e6", *args)
    assert data["optimal"]["total_cost"] == pytest.approx(5e6, rel=1e-12) and "total_flops" in data["optimal"]
    assert data["ratio"]["total_cost"] == pytest.approx(5e6 / data["baseline"]["total_cost"], rel=1e-12)
    back = _json(run_cli, "solve", "--objective", "cost", "--loss", repr(data["loss"]), *args)
    assert back["optimal"]["total_cost"] == pytest.approx(5e6, rel=1e-10)
    assert back["optimal"]["params"] == pytest.approx(data["optimal"]["params"], rel=1e-10)


def test_budget_dollars_need_the_cost_objective_and_the_old_name_still_works(run_cli):
    args = ("--requests", "1e10", "--input-tokens", "70", "--output-tokens", "215")
    code, out, err = run_cli("budget", "--total-dollars", "5e6", "--requests", "1e10")
    assert code == 2 and out == "" and err == "Error: --total-dollars 5e+06 is a dollar budget: add --objective cost\n"
    new = _json(run_cli, "budget", "--objective", "cost", "--total-dollars", "5e6", *args)
    code, out, err = run_cli("budget", "--dollars", "5e6", *args, "--json")
    assert code == 0 and json.loads(out) == new
    assert err == "Note: --dollars is deprecated, use --objective cost --total-dollars; the old name will be removed\n"


def test_budget_text(run_cli):
    code, out, _ = run_cli("budget", "--total-flops", "1e24", "--inference-tokens", "2e12")
    assert code == 0 and "Best reachable loss: 1.917063" in out and "38.10B" in out
    assert "lifetime inference demand 2.000T tokens" in out


def test_breakeven_saving_round_trip(run_cli):
    data = _json(run_cli, "breakeven", "--chinchilla-params", "70B", "--saving", "0.1")["results"][0]
    assert data["saving"] == pytest.approx(0.1, rel=1e-10)
    back = _json(run_cli, "solve", "--chinchilla-params", "70B", "--inference-tokens", repr(data["inference_tokens"]))
    assert 1 - back["ratio"]["total_flops"] == pytest.approx(0.1, rel=1e-10)


def test_breakeven_size_ratio_over_a_range(run_cli):
    data = _json(run_cli, "breakeven", "--loss", "1.9:2.2:4", "--size-ratio", "0.5")
    assert len(data["results"]) == 4
    for row in data["results"]:
        back = _json(run_cli, "solve", "--loss", repr(row["loss"]), "--inference-tokens", repr(row["inference_tokens"]))
        assert back["ratio"]["params"] == pytest.approx(0.5, rel=1e-10)


def test_breakeven_in_dollars_returns_requests(run_cli):
    split = ("--input-tokens", "1000", "--output-tokens", "250")
    data = _json(run_cli, "breakeven", "--loss", "2.0", "--saving", "0.2", "--objective", "cost", *split)["results"][0]
    back = _json(run_cli, "solve", "--objective", "cost", "--loss", "2.0", "--requests", repr(data["requests"]),
                 *split)
    assert 1 - back["ratio"]["total_cost"] == pytest.approx(0.2, rel=1e-10)


def test_overhead(run_cli):
    data = _json(run_cli, "overhead", "--chinchilla-params", "70B", "--size-ratio", "1", "--size-ratio", "0.3")
    one, small = data["results"]
    assert one["compute_overhead"] == pytest.approx(0.0, abs=1e-14)
    assert small["compute_overhead"] == pytest.approx(1.0556, abs=1e-4)
    assert data["critical_fraction"] == pytest.approx((0.283 / 0.619) ** (1 / 0.336), rel=1e-14)
    single = _json(run_cli, "overhead", "--loss", "2.0", "--params", "7B", "--inference-tokens", "2e12")["results"][0]
    assert single["model"]["params"] == pytest.approx(7e9, rel=1e-14) and single["total_flops_ratio"] > 1
    code, out, _ = run_cli("overhead", "--loss", "2.0", "--size-ratio", "0.5")
    assert code == 0 and "Critical size: 0.0974" in out and "20.78%" in out


@pytest.mark.parametrize(("args", "message"), [
    (("budget", "--total-flops", "1e12", "--inference-tokens", "2e12"), "too small for any model"),
    (("budget", "--inference-tokens", "2e12"), "exactly one budget"),
    (("budget", "--total-flops", "1e24", "--train-mfu", "0.4"), "--train-mfu is an option of the cost objective"),
    (("budget", "--objective", "cost", "--total-flops", "1e24"), "takes --total-dollars"),
    (("breakeven", "--loss", "2.0", "--saving", "0.1", "--input-tokens", "100"), "add --objective cost"),
    (("breakeven", "--loss", "2.0:2.1:3", "--chinchilla-params", "70B", "--saving", "0.1"), "not both"),
    (("breakeven", "--loss", "2.1:2.0:1", "--saving", "0.1"), "a range of one value"),
    (("overhead", "--loss", "2.0", "--size-ratio", "0.5", "--train-gpu", "H100"), "add --objective cost"),
    (("breakeven", "--loss", "2.0", "--saving", "0.95"), "largest reachable saving"),
    (("breakeven", "--loss", "2.0", "--size-ratio", "0.05"), "critical size"),
    (("breakeven", "--loss", "2.0", "--saving", "0.1", "--inference-tokens", "1e12"), "No such option"),
    (("breakeven", "--loss", "1.5", "--saving", "0.1"), "unreachable"),
    (("overhead", "--loss", "2.0", "--size-ratio", "0.05"), "no amount of data"),
    (("overhead", "--loss", "2.0"), "--size-ratio K"),
])
def test_errors_are_one_line_exit_2(run_cli, args, message):
    code, out, err = run_cli(*args)
    assert code == 2 and out == ""
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1


def test_sensitivity_report_shape():
    from symscale.laws.coefficients import preset
    from symscale.scenarios.planning import render_sensitivity, sensitivity_report

    report = sensitivity_report(1.947, 2e12, preset("chinchilla"))
    keys = {"alpha", "beta", "A", "B", "E", "ln_inference_tokens"}
    assert set(report) == {"ln_params", "ln_tokens"} and set(report["ln_params"]) == keys
    assert json.loads(json.dumps(report)) == report
    assert render_sensitivity(report).count("\n") == 7


def test_budget_verify_flag(run_cli):
    data = _json(run_cli, "budget", "--total-flops", "1e23", "--inference-tokens", "1e12", "--verify")
    assert data["verification"]["ok"] and data["verification"]["budget_digits"] > 13


def test_overhead_json_has_one_shape_for_one_value_as_for_many(run_cli):
    one = _json(run_cli, "overhead", "--chinchilla-params", "70B", "--size-ratio", "0.25")
    two = _json(run_cli, "overhead", "--chinchilla-params", "70B", "--size-ratio", "0.25", "--size-ratio", "0.5")
    assert set(one) == set(two) and len(one["results"]) == 1 and len(two["results"]) == 2
    assert one["results"][0] == two["results"][0]


@pytest.mark.parametrize("old, new, note", [
    (("overhead", "--chinchilla-params", "70B", "--fraction", "0.5", "--fraction", "0.3"),
     ("overhead", "--chinchilla-params", "70B", "--size-ratio", "0.5", "--size-ratio", "0.3"),
     "Note: --fraction is deprecated, use --size-ratio; the old name will be removed\n"),
    (("breakeven", "--loss-range", "1.9", "2.2", "--size-ratio", "0.5"),
     ("breakeven", "--loss", "1.9:2.2:5", "--size-ratio", "0.5"),
     "Note: --loss-range is deprecated, use --loss LOW:HIGH:N; the old name will be removed\n"),
    (("budget", "--compute", "1e24"), ("budget", "--total-flops", "1e24"),
     "Note: --compute is deprecated, use --total-flops; the old name will be removed\n"),
])
def test_deprecated_names_give_the_same_answer_and_one_note(run_cli, old, new, note):
    code, out, err = run_cli(*old, "--json")
    assert code == 0 and err == note
    assert json.loads(out) == _json(run_cli, *new)


def test_breakeven_old_range_with_points(run_cli):
    code, out, err = run_cli("breakeven", "--loss-range", "1.9", "2.2", "--points", "4", "--size-ratio", "0.5",
                             "--json")
    assert code == 0 and json.loads(out) == _json(run_cli, "breakeven", "--loss", "1.9:2.2:4", "--size-ratio", "0.5")
    assert err.count("Note: ") == 2 and "--points is deprecated" in err


def test_breakeven_json_has_one_shape_for_one_loss_as_for_many(run_cli):
    one = _json(run_cli, "breakeven", "--loss", "2.0", "--saving", "0.1")
    many = _json(run_cli, "breakeven", "--loss", "2.0,2.1", "--saving", "0.1")
    assert set(one) == set(many) and len(one["results"]) == 1 and len(many["results"]) == 2
    assert set(one["results"][0]) == set(many["results"][0])
    assert one["results"][0] == pytest.approx(many["results"][0], rel=1e-12)
    log = _json(run_cli, "breakeven", "--loss", "1.9:2.5:3", "--log", "--saving", "0.1")
    assert [r["loss"] for r in log["results"]] == pytest.approx([1.9, (1.9 * 2.5) ** 0.5, 2.5], rel=1e-12)


def test_breakeven_and_budget_verify_at_a_chosen_precision(run_cli):
    data = _json(run_cli, "breakeven", "--loss", "2.0", "--saving", "0.1", "--verify", "--dps", "30")
    assert data["results"][0]["verification"]["dps"] == 30 and data["results"][0]["verification"]["ok"]
    data = _json(run_cli, "budget", "--total-flops", "1e23", "--verify", "--dps", "30")
    assert data["verification"]["dps"] == 30 and data["verification"]["ok"]
    code, _, err = run_cli("budget", "--total-flops", "1e23", "--verify", "--dps", "5")
    assert code == 2 and err.count("\n") == 1


def test_overhead_cost_objective_prices_each_model(run_cli):
    data = _json(run_cli, "overhead", "--chinchilla-params", "70B", "--size-ratio", "0.5", "--objective", "cost",
                 "--requests", "1e10")
    row = data["results"][0]
    assert data["objective"] == "cost" and data["inference_tokens"] == pytest.approx(2.85e12)
    assert row["total_cost_ratio"] == pytest.approx(row["model"]["total_cost"] / data["chinchilla"]["total_cost"])
    assert row["model"]["train_cost"] == pytest.approx(data["chinchilla"]["train_cost"] * row["compute_ratio"])
