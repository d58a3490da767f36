"""Laws as objects: the safe parser, the registry, the generic solver against the fast path, verification."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import symscale
from symscale.base.errors import InputError
from symscale.laws.parse import names_in, parse
from symscale.laws.registry import custom, get, resolve_law
from symscale.laws.values import LawCoefficients
from symscale.solvers.costs import CostSettings, solve_cost_optimal
from symscale.solvers.generic import solve_law

CHINCHILLA_TEXT = "E + A/N**alpha + B/D**beta"
INTERACTION = "E + A/N**alpha + B/D**beta + C/(N**gamma * D**delta)"
PRESET = dict(alpha=0.336, beta=0.283, A=406.4, B=410.7, E=1.69)


# --- the parser ---------------------------------------------------------------------------------
def test_parser_builds_the_expression():
    import sympy as sp

    expr = parse("E + A/N**alpha + B/D**beta", ["E", "A", "alpha", "B", "beta"])
    N, D, E, A, alpha, B, beta = sp.symbols("N D E A alpha B beta", positive=True)
    assert sp.simplify(expr - (E + A * N**-alpha + B * D**-beta)) == 0
    assert names_in("exp(-a*log(N)) + max(b, c/D) + sqrt(U)") == ["a", "b", "c"]


@pytest.mark.parametrize("text, message", [
    ("E + A/N**alpha +", "syntax error"),
    ("E + A/N**alpha + Z", "unknown name 'Z'"),
    ("E + N.real", "Attribute is not allowed"),
    ("E + N[0]", "Subscript is not allowed"),
    ("__import__('os').system('touch x')", "not allowed"),
    ("E + open('x')", "call of 'open' is not allowed"),
    ("E + (lambda: 1)()", "not allowed"),
    ("E + exp(N, 2)", "exp takes one argument"),
    ("E + max(N)", "max takes two or more arguments"),
    ("E + 'text'", "is not a number"),
    ("E + 2**10**10", "constant exponent above 64"),
    ("E + N if E else D", "IfExp is not allowed"),
    ("E + " + "(" * 300 + "N" + ")" * 300, "syntax error"),
    ("E + " + "-" * 100 + "N", "nested deeper than 60"),
    ("E + N" + " + N" * 600, "longer than 2000"),
    ("", "empty formula"),
    ("E + N²", "ASCII"),
])
def test_parser_refuses_everything_else(text, message):
    with pytest.raises(InputError, match=re_escape(message)):
        parse(text, ["E", "A", "alpha"])


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_malicious_law_executes_nothing(tmp_path):
    marker = tmp_path / "pwned"
    payloads = [f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')",
                "().__class__.__bases__[0].__subclasses__() + N", f"exec('open(\"{marker}\", \"w\")')"]
    for text in payloads:
        result = subprocess.run([sys.executable, "-m", "symscale", "solve", "--law", text, "--loss", "2"],
                                capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert not marker.exists()


# --- the registry -------------------------------------------------------------------------------
def test_registry_has_chinchilla_and_kaplan(run_cli):
    code, out, _ = run_cli("laws", "--json")
    laws = {law["name"]: law for law in json.loads(out)["laws"]}
    assert code == 0 and set(laws) >= {"chinchilla", "kaplan-2020"}
    kaplan = laws["kaplan-2020"]
    assert kaplan["expression"] == "((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D"
    assert kaplan["presets"]["kaplan-2020"]["values"] == {"alpha_N": 0.076, "alpha_D": 0.103, "N_c": 6.4e13,
                                                          "D_c": 1.8e13}
    assert "non-embedding" in kaplan["notes"]
    assert laws["chinchilla"]["presets"]["chinchilla"]["values"] == PRESET
    code, out, _ = run_cli("laws")
    assert code == 0 and "kaplan-2020:  L(N, D) = ((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D" in out


def test_kaplan_loss_is_the_published_formula(run_cli):
    code, out, _ = run_cli("calc", "--law", "kaplan-2020", "--params", "1e9", "--tokens", "2e10", "--json")
    hand = ((6.4e13 / 1e9) ** (0.076 / 0.103) + 1.8e13 / 2e10) ** 0.103
    assert code == 0 and json.loads(out)["loss"] == pytest.approx(hand, rel=1e-14)


def test_names_and_formulas_resolve():
    assert resolve_law("kaplan-2020") is get("kaplan-2020")
    assert resolve_law("CHINCHILLA").is_chinchilla
    assert resolve_law(CHINCHILLA_TEXT).name == "custom"
    with pytest.raises(InputError, match="unknown law 'kaplan'"):
        resolve_law("kaplan")


# --- the generic solver against the proven fast path -------------------------------------------
def _random_scenarios(rng, n):
    alpha, beta = rng.uniform(0.15, 0.6, n), rng.uniform(0.15, 0.6, n)
    A, B, E = 10 ** rng.uniform(1, 3.5, n), 10 ** rng.uniform(1, 3.5, n), rng.uniform(0.5, 2.5, n)
    loss = E + rng.uniform(0.05, 1.5, n)
    demand = np.where(rng.random(n) < 0.2, 0.0, 10 ** rng.uniform(6, 16, n))
    return dict(alpha=alpha, beta=beta, A=A, B=B, E=E), loss, demand


def test_generic_solver_agrees_with_the_fast_path_compute():
    rng = np.random.default_rng(7)
    values, loss, demand = _random_scenarios(rng, 400)
    law = custom(CHINCHILLA_TEXT)
    generic = solve_law(law, values, loss, 6.0, 2.0 * demand)
    fast = symscale.solve_optimal(loss, 6.0, 2.0 * demand, tuple(values[k] for k in ("alpha", "beta", "A", "B", "E")))
    assert np.max(np.abs(generic.params / fast.params - 1)) < 1e-10
    assert np.max(np.abs(generic.tokens / fast.tokens - 1)) < 1e-10
    assert np.all(generic.minima == 1) and np.all(generic.second_order > 0)


def test_generic_solver_agrees_with_the_fast_path_cost():
    law_values = LawCoefficients(custom(CHINCHILLA_TEXT), PRESET)
    settings = CostSettings(requests=np.geomspace(1e6, 1e12, 25))
    generic = solve_cost_optimal(2.1, settings, law_values)
    fast = solve_cost_optimal(2.1, settings, "chinchilla")
    for key in ("params", "tokens", "total_cost"):
        assert np.max(np.abs(getattr(generic.optimal, key) / getattr(fast.optimal, key) - 1)) < 1e-10
    assert np.max(np.abs(generic.baseline.params / fast.baseline.params - 1)) < 1e-12


def test_the_public_api_takes_a_law():
    law_values = LawCoefficients(custom(CHINCHILLA_TEXT), PRESET)
    sol = symscale.solve_compute_optimal(1.947, 2e12, law_values)
    assert float(sol.params) == pytest.approx(24183560851.527, rel=1e-11)
    kaplan = LawCoefficients(get("kaplan-2020"), get("kaplan-2020").preset("kaplan-2020"))
    sol = symscale.solve_compute_optimal(2.5, 2e12, kaplan)
    # the law holds at the optimum, and the optimum beats nearby points on the curve
    assert float(symscale.solvers.solve.loss_of(sol.params, sol.tokens, kaplan)) == pytest.approx(2.5, rel=1e-13)
    assert float(sol.ratio["total_flops"]) < 1


def test_solver_answer_does_not_depend_on_the_batch():
    law = custom(INTERACTION)
    values = dict(PRESET, C=100.0, gamma=0.1, delta=0.1)
    loss = np.array([2.0, 2.3, 1.95, 2.7])
    demand = np.array([1e12, 0.0, 5e14, 3e9])
    batch = solve_law(law, values, loss, 6.0, 2 * demand)
    for i in range(loss.size):
        alone = solve_law(law, values, loss[i], 6.0, 2 * demand[i])
        assert alone.params == pytest.approx(batch.params[i], rel=1e-13)


def test_unreachable_loss_and_bad_laws_are_named():
    law = custom(CHINCHILLA_TEXT)
    with pytest.raises(InputError, match="not above the floor of the law custom"):
        solve_law(law, PRESET, 1.5, 6.0, 1e12)
    with pytest.raises(InputError, match="does not decrease in D"):
        symscale.solve_compute_optimal(2.0, 1e12, LawCoefficients(custom("E + A/N**alpha - B/D**beta"), PRESET))
    with pytest.raises(InputError, match="no value for coefficient"):
        LawCoefficients(custom(CHINCHILLA_TEXT), {"E": 1.69})


# --- verification ------------------------------------------------------------------------------
def test_mpmath_verification_of_a_custom_law(run_cli):
    code, out, _ = run_cli("solve", "--law", INTERACTION, *sum((["--set", f"{k}={v}"] for k, v in
                           dict(PRESET, C=100.0, gamma=0.1, delta=0.1).items()), []),
                           "--loss", "2.0", "--inference-tokens", "1e12", "--verify", "--json")
    data = json.loads(out)
    v = data["verification"]
    assert code == 0 and v["ok"] and v["law"] == "custom"
    assert min(v["digits"].values()) >= 12 and v["kkt_residual_relative"] < 1e-45
    assert v["second_order"]["bordered_hessian_sign"] == -1
    assert data["coefficients"]["law"]["expression"] == INTERACTION


def test_verification_of_the_chinchilla_string_matches_the_fast_path(run_cli):
    args = ["--loss", "1.947", "--inference-tokens", "2e12", "--verify", "--json"]
    sets = sum((["--set", f"{k}={v}"] for k, v in PRESET.items()), [])
    _, out_custom, _ = run_cli("solve", "--law", CHINCHILLA_TEXT, *sets, *args)
    _, out_fast, _ = run_cli("solve", *args)
    custom_v, fast_v = json.loads(out_custom)["verification"], json.loads(out_fast)["verification"]
    assert custom_v["params_precise"][:40] == fast_v["params_precise"][:40]
    assert custom_v["tokens_precise"][:40] == fast_v["tokens_precise"][:40]


# --- the command line -------------------------------------------------------------------------
def test_solve_with_a_custom_law_names_the_baseline(run_cli):
    sets = sum((["--set", f"{k}={v}"] for k, v in dict(PRESET, C=100.0, gamma=0.1, delta=0.1).items()), [])
    code, out, err = run_cli("solve", "--law", INTERACTION, *sets, "--loss", "2.0", "--inference-tokens", "1e12")
    assert code == 0, err
    assert "Training-optimal" in out and "law custom: " + INTERACTION in out


def test_coefficients_file_with_a_law(run_cli, tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"law": INTERACTION, "coefficients": dict(PRESET, C=100.0, gamma=0.1, delta=0.1)}))
    code, out, _ = run_cli("solve", "--coefficients", str(path), "--loss", "2.0", "--inference-tokens", "1e12",
                           "--json")
    data = json.loads(out)
    sets = sum((["--set", f"{k}={v}"] for k, v in dict(PRESET, C=100.0, gamma=0.1, delta=0.1).items()), [])
    _, out2, _ = run_cli("solve", "--law", INTERACTION, *sets, "--loss", "2.0", "--inference-tokens", "1e12",
                         "--json")
    assert code == 0 and data["optimal"] == json.loads(out2)["optimal"]
    assert data["coefficients"]["name"] == "mine"


@pytest.mark.parametrize("args, message", [
    (["--law", "kaplan-2020", "--alpha", "0.3"], "use --set NAME=VALUE"),
    (["--law", CHINCHILLA_TEXT, "--set", "E"], "write NAME=VALUE"),
    (["--law", CHINCHILLA_TEXT, "--set", "E=1", "--set", "E=2"], "E given twice"),
    (["--law", CHINCHILLA_TEXT, "--set", "E=abc"], "is not a number"),
    (["--set", "gamma=1"], "the chinchilla law has coefficients"),
    (["--law", "E + A/N**alpha + B/D**beta + Q"] + sum((["--set", f"{k}={v}"] for k, v in PRESET.items()), []),
     "no value for coefficient(s) Q"),
])
def test_law_option_errors_are_one_line(run_cli, args, message):
    code, out, err = run_cli("solve", *args, "--loss", "2.0")
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_derive_prints_the_kkt_system_of_a_custom_law(run_cli):
    code, out, _ = run_cli("derive", "--law", "E + A/N**a + B/D**b + C/(N*D)**g", "--format", "text")
    assert code == 0
    assert "Eq(6*D + 2*D_inf, lambda*" in out or "Eq(2*D_inf + 6*D, lambda*" in out
    assert "Eq(a_N, A*a/N**a + C*g*(1/(D*N))**g)" in out
    code, out, _ = run_cli("derive", "--law", "chinchilla", "--json")
    keys = [step["key"] for step in json.loads(out)["steps"]]
    assert code == 0 and "eq12" in keys and "eq11" in keys


def test_generic_solve_finite_and_second_order_for_kaplan():
    kaplan = get("kaplan-2020")
    values = kaplan.preset("kaplan-2020")
    result = solve_law(kaplan, values, np.array([2.2, 2.5, 3.0]), 6.0, 2 * np.array([1e9, 1e12, 1e15]))
    assert np.all(np.isfinite(result.params)) and np.all(result.second_order > 0)
    assert math.isclose(float(symscale.solvers.solve.loss_of(result.params[1], result.tokens[1],
                                                     LawCoefficients(kaplan, values))), 2.5, rel_tol=1e-13)


def test_bootstrap_samples_of_a_custom_law_are_solved_with_that_law(run_cli, tmp_path):
    values = dict(PRESET, C=50.0, g=0.1)
    boot = {"E": [1.6, 1.7, 1.75, 2.5], "A": [400, 410, 420, 406], "alpha": [0.33, 0.34, 0.335, 0.336],
            "B": [400, 410, 420, 411], "beta": [0.28, 0.29, 0.285, 0.283], "C": [40, 50, 60, 50], "g": [0.1] * 4}
    path = tmp_path / "law.json"
    law_text = "E + A/N**alpha + B/D**beta + C/(N*D)**g"
    path.write_text(json.dumps({"law": law_text, "coefficients": values, "bootstrap": boot}))
    code, out, err = run_cli("solve", "--coefficients", str(path), "--loss", "2.0", "--inference-tokens", "1e12",
                             "--json")
    u = json.loads(out)["uncertainty"]
    assert code == 0, err
    assert u["samples"]["used"] == 3 and u["samples"]["excluded"] == {"unreachable": 1}
    law = custom(law_text)
    alone = [float(solve_law(law, {k: v[i] for k, v in boot.items()}, 2.0, 6.0, 2e12).params) for i in range(3)]
    assert u["ci95"]["params"] == pytest.approx([np.percentile(alone, 2.5), np.percentile(alone, 97.5)], rel=1e-12)


@pytest.mark.parametrize("command", [["reproduce", "claims"]])
def test_commands_derived_for_chinchilla_only_say_so(run_cli, command, tmp_path):
    code, out, err = run_cli(*command, "--law", "kaplan-2020")
    assert code == 2 and out == "" and "derived for the chinchilla law only" in err
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"law": "kaplan-2020", "coefficients": get("kaplan-2020").preset("kaplan-2020")}))
    code, out, err = run_cli(*command, "--coefficients", str(path))
    assert code == 2 and "derived for the chinchilla law only" in err and len(err.strip().splitlines()) == 1


def test_sweep_takes_any_law(run_cli):
    code, out, _ = run_cli("sweep", "--law", "kaplan-2020", "--loss", "2.4,2.6", "--inference-tokens", "1e12",
                           "--json")
    assert code == 0
    data = json.loads(out)
    rows = data["rows"]
    assert data["coefficients"]["law"]["name"] == "kaplan-2020"
    alone = symscale.solve_compute_optimal(2.6, 1e12, LawCoefficients(get("kaplan-2020"),
                                                                       get("kaplan-2020").preset("kaplan-2020")))
    assert rows[-1]["optimal_params"] == pytest.approx(float(alone.params), rel=1e-9)  # printed to 10 digits
