"""Planning for any law (budget, overhead, breakeven, sensitivities): the generic route against the
Chinchilla fast path, and Kaplan's law against independent mpmath computations written here."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest

from symscale.laws.coefficients import resolve
from symscale.laws.registry import custom, get
from symscale.laws.values import LawCoefficients, law_coefficients
from symscale.scenarios import planning as P

CHINCHILLA_TEXT = "E + A/N**alpha + B/D**beta"
KAPLAN = {"alpha_N": 0.076, "alpha_D": 0.103, "N_c": 6.4e13, "D_c": 1.8e13}
REL = 1e-10


@pytest.fixture(scope="module")
def pair():
    """Chinchilla's preset (fast path) and the same law typed as a formula (generic route)."""
    fast = resolve("chinchilla")
    return fast, LawCoefficients(custom(CHINCHILLA_TEXT), fast.as_dict())


@pytest.fixture(scope="module")
def kaplan():
    return law_coefficients(get("kaplan-2020"))


def _close(a, b, rel=REL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rel, atol=0)


# --- generic route == fast path on Chinchilla's law ------------------------------------------------
@pytest.mark.parametrize("k_train", [6.0, 3.7e-17])           # FLOPs, and dollars per parameter-token
def test_budget_generic_matches_fast_path(pair, k_train):
    rng = np.random.default_rng(1)
    flops = 10 ** rng.uniform(20, 27, 12)
    demand = np.where(rng.random(12) < 0.2, 0.0, 10 ** rng.uniform(9, 15, 12))
    budget, k_inf = flops * k_train / 6, 2 * demand * k_train / 6 * rng.uniform(0.5, 3, 12)
    fast, generic = (P.budget_optimum(budget, k_train, k_inf, c) for c in pair)
    for key in ("params", "tokens", "loss"):
        _close(getattr(generic, key), getattr(fast, key))
    _close(generic.total_cost, budget, 1e-12)
    assert np.all(generic.minima == 1)


def test_overhead_generic_matches_fast_path(pair):
    fast, generic = (P.overhead([0.2, 0.5, 0.9, 2.0], [1.9, 2.0, 2.3, 2.6], c, 1e12) for c in pair)
    for a, b in ((fast.model.tokens, generic.model.tokens), (fast.chinchilla.params, generic.chinchilla.params),
                 (fast.token_ratio, generic.token_ratio), (fast.compute_ratio, generic.compute_ratio),
                 (fast.critical_params, generic.critical_params), (fast.critical_fraction, generic.critical_fraction)):
        _close(b, a)


@pytest.mark.parametrize("target", [{"size_ratio": 0.3}, {"size_ratio": 0.8}, {"saving": 0.05}, {"saving": 0.3}])
def test_breakeven_generic_matches_fast_path(pair, target):
    fast, generic = (P.breakeven([1.85, 2.0, 2.4], c, **target) for c in pair)
    for key in ("rho", "params", "tokens", "chinchilla_params", "saving", "size_ratio"):
        _close(getattr(generic, key), getattr(fast, key), 1e-9 if key == "rho" else REL)
    _close(P.max_saving(pair[1], 2.2), P.max_saving(pair[0]))
    _close(P.critical_fraction(pair[1], 2.2), P.critical_fraction(pair[0]))


def test_sensitivities_generic_match_fast_path(pair):
    fast, generic = (P.sensitivities([1.9, 2.2], 6.0, [0.0, 2e13], c) for c in pair)
    for row in ("ln_params", "ln_tokens"):
        for key, value in fast[row].items():
            scale = max(np.max(np.abs(value)), 1e-3)          # d/dA and d/dB are small: compare on the row's scale
            assert np.max(np.abs(generic[row][key] - value)) <= REL * scale, (row, key)


# --- Kaplan's law against independent mpmath computations ------------------------------------------
def _kaplan_loss(n, d):
    """L = ((N_c/N)**(alpha_N/alpha_D) + D_c/D)**alpha_D, typed here from the paper's formula."""
    k = {key: mpmath.mpf(v) for key, v in KAPLAN.items()}
    return ((k["N_c"] / n) ** (k["alpha_N"] / k["alpha_D"]) + k["D_c"] / d) ** k["alpha_D"]


def _kaplan_tokens(n, loss):
    """D on the iso-loss curve at N (solved by hand from the formula)."""
    k = {key: mpmath.mpf(v) for key, v in KAPLAN.items()}
    return k["D_c"] / (mpmath.mpf(loss) ** (1 / k["alpha_D"]) - (k["N_c"] / n) ** (k["alpha_N"] / k["alpha_D"]))


def _argmin(fn, start):
    """x where fn'(x) = 0, with mpmath's numerical derivative (no sympy, no float code of symscale).

    ``start`` is a point or a bracket (a, b) over which fn' changes sign."""
    if not isinstance(start, tuple):
        return mpmath.findroot(lambda t: mpmath.diff(fn, t), start)
    lo, hi = start
    assert mpmath.diff(fn, lo) < 0 < mpmath.diff(fn, hi)
    for _ in range(100):                                  # bisection on fn': 2^-100 of the bracket
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mpmath.diff(fn, mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def _kaplan_optimum(loss, rho):
    """ln N minimising N*(D(N) + rho) on the iso-loss curve, at 30 digits (bracket: just above the critical size
    where D diverges, up to N = e^40 where the data term has vanished)."""
    with mpmath.workdps(30):
        critical = mpmath.log(mpmath.mpf(KAPLAN["N_c"]) / mpmath.mpf(loss) ** (1 / mpmath.mpf(KAPLAN["alpha_N"])))
        return _argmin(lambda y: y + mpmath.log(_kaplan_tokens(mpmath.exp(y), loss) + rho),
                       (critical + mpmath.mpf("1e-6"), mpmath.mpf(40)))


def test_kaplan_budget_against_mpmath(kaplan):
    budget, k_inf = 1e24, 2 * 2e12
    got = P.budget_optimum(budget, 6.0, k_inf, kaplan)
    with mpmath.workdps(30):
        rho = mpmath.mpf(k_inf) / 6

        def loss_along(x):                                       # x = ln D on the budget curve
            return _kaplan_loss(mpmath.mpf(budget) / (6 * (mpmath.exp(x) + rho)), mpmath.exp(x))

        x = _argmin(loss_along, mpmath.log(got.tokens.item()) + mpmath.mpf("0.3"))
        assert float(mpmath.exp(x)) == pytest.approx(got.tokens.item(), rel=1e-9)
        assert float(loss_along(x)) == pytest.approx(got.loss.item(), rel=1e-12)
        params = mpmath.mpf(budget) / (6 * (mpmath.exp(x) + rho))
        assert float(params) == pytest.approx(got.params.item(), rel=1e-9)
    assert got.loss.item() == pytest.approx(1.645616, abs=1e-6)       # the figure the README shows


def test_kaplan_overhead_against_mpmath(kaplan):
    loss, fractions = 2.0, np.array([0.5, 0.8, 1.5])
    got = P.overhead(fractions, loss, kaplan)
    with mpmath.workdps(30):
        n0 = mpmath.exp(_kaplan_optimum(loss, 0))
        d0 = _kaplan_tokens(n0, loss)
        critical = mpmath.mpf(KAPLAN["N_c"]) / mpmath.mpf(loss) ** (1 / mpmath.mpf(KAPLAN["alpha_N"]))
        for i, k in enumerate(fractions):
            d = _kaplan_tokens(k * n0, loss)
            assert float(d / d0) == pytest.approx(got.token_ratio[i], rel=1e-10)
            assert float(k * d / d0) == pytest.approx(got.compute_ratio[i], rel=1e-10)
        assert float(n0) == pytest.approx(got.chinchilla.params[0], rel=1e-10)
        assert float(critical) == pytest.approx(got.critical_params[0], rel=1e-10)
        assert float(critical / n0) == pytest.approx(got.critical_fraction[0], rel=1e-10)


def test_kaplan_breakeven_against_mpmath(kaplan):
    got = P.breakeven(2.0, kaplan, size_ratio=0.6)
    with mpmath.workdps(30):
        n0 = mpmath.exp(_kaplan_optimum(2.0, 0))
        n = mpmath.exp(_kaplan_optimum(2.0, mpmath.mpf(got.rho.item())))
        assert float(n / n0) == pytest.approx(0.6, rel=1e-9)
    assert got.size_ratio.item() == pytest.approx(0.6, rel=1e-10)


# --- the command line -------------------------------------------------------------------------------
def _json(run_cli, *args):
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


CUSTOM = ("--law", CHINCHILLA_TEXT, "--set", "alpha=0.336", "--set", "beta=0.283", "--set", "A=406.4",
          "--set", "B=410.7", "--set", "E=1.69")


@pytest.mark.parametrize("command", [
    ("budget", "--total-flops", "1e24", "--inference-tokens", "2T"),
    ("budget", "--objective", "cost", "--total-dollars", "5e6", "--requests", "1e10"),
    ("overhead", "--loss", "2.0", "--size-ratio", "0.5", "--inference-tokens", "1e12"),
    ("breakeven", "--loss", "2.0", "--saving", "0.1"),
    ("breakeven", "--loss", "2.0", "--size-ratio", "0.5", "--objective", "cost"),
])
def test_commands_generic_match_fast_path(run_cli, command):
    fast, generic = _json(run_cli, *command), _json(run_cli, *command, *CUSTOM)
    assert generic["coefficients"]["law"]["name"] == "custom"
    for key in ("loss", "params", "tokens", "rho", "critical_fraction", "max_saving"):
        if key in fast:
            assert generic[key] == pytest.approx(fast[key], rel=1e-9), key
    for side in ("baseline", "optimal"):  # budget: solve's keys
        for key in fast.get(side, {}):
            assert generic[side][key] == pytest.approx(fast[side][key], rel=1e-9), (side, key)
    assert len(fast.get("results", [])) == len(generic.get("results", []))
    for a, b in zip(fast.get("results", []), generic.get("results", [])):
        if "model" in a:  # overhead rows
            assert b["model"]["tokens"] == pytest.approx(a["model"]["tokens"], rel=1e-10)
            assert b["compute_overhead"] == pytest.approx(a["compute_overhead"], rel=1e-9)
        else:  # breakeven rows
            for key in ("inference_tokens", "params", "tokens", "saving", "size_ratio"):
                assert b[key] == pytest.approx(a[key], rel=1e-9), key


def test_solve_sensitivity_any_law(run_cli):
    args = ("solve", "--loss", "2.0", "--inference-tokens", "1e12", "--sensitivity")
    fast, generic = _json(run_cli, *args)["sensitivity"], _json(run_cli, *args, *CUSTOM)["sensitivity"]
    for row in fast:
        for key, value in fast[row].items():
            assert generic[row][key] == pytest.approx(value, rel=1e-8, abs=1e-12), (row, key)
    kaplan = _json(run_cli, *args, "--law", "kaplan-2020")["sensitivity"]
    assert set(kaplan["ln_params"]) == {"alpha_N", "alpha_D", "N_c", "D_c", "ln_inference_tokens"}
    assert -1 < kaplan["ln_params"]["ln_inference_tokens"] < 0 < kaplan["ln_tokens"]["ln_inference_tokens"]


def test_text_names_the_training_optimal_baseline(run_cli):
    code, out, err = run_cli("budget", "--total-flops", "1e24", "--inference-tokens", "2T", "--law", "kaplan-2020",
                             "--verify")
    assert code == 0, err
    assert "Training-optimal" in out and "Chinchilla" not in out and "Verified at 50 digits: ok" in out
    code, out, err = run_cli("overhead", "--loss", "2.0", "--size-ratio", "0.6", "--law", "kaplan-2020")
    assert code == 0 and "training-optimal under the law kaplan-2020" in out


@pytest.mark.parametrize("command, message", [
    (("budget", "--total-flops", "1e3", "--inference-tokens", "1e3"), "too small for any model"),
    (("overhead", "--loss", "2.0", "--size-ratio", "0.3"), "critical size is 0.47"),
    (("breakeven", "--loss", "2.0", "--size-ratio", "0.2"), "no demand gives a size ratio of 0.2"),
    (("breakeven", "--loss", "2.0", "--saving", "0.6"), "no demand gives a saving of 0.6"),
])
def test_unreachable_cases_exit_2_in_one_line(run_cli, command, message):
    code, out, err = run_cli(*command, "--law", "kaplan-2020")
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err


def test_loss_below_a_custom_law_floor_exits_2(run_cli):
    code, out, err = run_cli("overhead", "--loss", "1.5", "--size-ratio", "0.5", *CUSTOM)
    assert code == 2 and out == "" and "unreachable" in err and len(err.strip().splitlines()) == 1, err


# --- verify and plot ---------------------------------------------------------------------------------
def test_tokens_for_loss_and_scenario_curve_generic_match_fast_path(pair):
    from symscale.report.plots import scenario_curve
    from symscale.solvers.solve import tokens_for_loss

    params = np.geomspace(2e9, 1e12, 7)
    _close(tokens_for_loss(params, 2.0, pair[1]), tokens_for_loss(params, 2.0, pair[0]))
    fast, generic = (scenario_curve(2.0, 2e12, "compute", c, points=50) for c in pair)
    for key in ("params", "tokens", "total"):
        _close(getattr(generic, key), getattr(fast, key), 1e-9)
    assert generic.optimal["params"] == pytest.approx(fast.optimal["params"], rel=1e-10)


@pytest.mark.parametrize("law", [("--law", "kaplan-2020"), CUSTOM])
def test_verify_command_any_law(run_cli, law):
    data = _json(run_cli, "verify", "--random", "8", *law)
    assert data["summary"]["verified"] == 8 and data["summary"]["all_minima"]
    assert data["summary"]["min_digits_params"] >= 12 and data["summary"]["max_kkt_residual_relative"] < 1e-45
    row = data["scenarios"][0]
    assert row["verification"]["law"] == ("kaplan-2020" if law[1] == "kaplan-2020" else "custom")


def test_plot_scenario_any_law(run_cli, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "s.png"
    data = _json(run_cli, "plot", "scenario", "--loss", "2.2", "--inference-tokens", "2T", "--law", "kaplan-2020",
                 "-o", str(out))
    assert out.stat().st_size > 0
    optimal = data["data"]["optimal"]
    from symscale.solvers.solve import solve_compute_optimal

    alone = solve_compute_optimal(2.2, 2e12, law_coefficients(get("kaplan-2020")))
    assert optimal["params"] == pytest.approx(float(alone.params), rel=1e-12)


# --- budget with limited unique data (issue 14) and hard limits -----------------------------------
def _muennighoff(n, d, u, c):
    """The data-constrained law typed from Muennighoff et al.'s definition (numpy; not symscale's code)."""
    u_d = np.minimum(u, d)
    g = (c["alpha"] * c["A"] / (c["beta"] * c["B"])) ** (1 / (c["alpha"] + c["beta"]))
    n_opt = g * (u_d * g) ** (c["beta"] / c["alpha"])
    u_n = np.minimum(n, n_opt)
    r_d, r_n = np.maximum(d / u_d - 1, 0), np.maximum(n / u_n - 1, 0)
    d_eff = u_d + u_d * c["Rstar_D"] * (1 - np.exp(-r_d / c["Rstar_D"]))
    n_eff = u_n + u_n * c["Rstar_N"] * (1 - np.exp(-r_n / c["Rstar_N"]))
    return c["E"] + c["A"] / n_eff ** c["alpha"] + c["B"] / d_eff ** c["beta"]


@pytest.mark.parametrize("budget, demand, unique", [(1e23, 2e12, 1e11), (1e22, 0.0, 3e10), (1e24, 1e13, 1e13)])
def test_muennighoff_budget_against_a_dense_scan(budget, demand, unique):
    from symscale.laws.limits import Limits
    from symscale.solvers.limited_budget import limited_budget

    c = law_coefficients(get("muennighoff-2023"))
    got = limited_budget(c.law, c.values, budget, 6.0, 2 * demand, Limits(unique))
    x = np.linspace(0, np.log(budget / 6 - demand / 3), 400001)        # ln D along the budget curve
    d = np.exp(x)
    scan = _muennighoff(budget / (6 * (d + demand / 3)), d, unique, c.values)
    best = int(np.argmin(scan))
    assert got.loss <= scan[best] + 1e-13 and got.loss == pytest.approx(scan[best], rel=1e-9)
    assert got.optimum.tokens == pytest.approx(d[best], rel=2e-3)
    hand = _muennighoff(got.optimum.params, got.optimum.tokens, unique, c.values)
    assert hand == pytest.approx(got.loss, rel=1e-12)
    assert got.optimum.objective == pytest.approx(budget, rel=1e-12)


def test_chinchilla_budget_with_max_epochs_sits_on_the_limit():
    from symscale.laws.limits import Limits
    from symscale.solvers.limited_budget import limited_budget

    c = resolve("chinchilla")
    values = c.as_dict()
    free = limited_budget(c.law, values, 1e24, 6.0, 4e12, Limits())
    fast = P.budget_optimum(1e24, 6.0, 4e12, c)
    assert free.loss == pytest.approx(fast.loss.item(), rel=1e-12)
    assert free.optimum.params == pytest.approx(fast.params.item(), rel=1e-9)
    bound = limited_budget(c.law, values, 1e24, 6.0, 4e12, Limits(1e12, 2.0))     # D* = 3.7T > 2T: binds
    d = 2e12
    n = 1e24 / (6 * (d + 4e12 / 6))
    by_hand = values["E"] + values["A"] / n ** values["alpha"] + values["B"] / d ** values["beta"]
    assert bound.optimum.where == "max_tokens" and bound.optimum.tokens == pytest.approx(d, rel=1e-12)
    assert bound.loss == pytest.approx(by_hand, rel=1e-12) and bound.loss > free.loss


def test_budget_unique_tokens_command(run_cli):
    args = ("budget", "--total-flops", "1e23", "--inference-tokens", "2e12", "--law", "muennighoff-2023",
            "--unique-tokens", "1e11")
    data = _json(run_cli, *args)
    assert data["optimal"]["epochs"] > 1 and data["loss"] > data["unlimited_loss"]
    back = _json(run_cli, "solve", "--loss", repr(data["loss"]), "--inference-tokens", "2e12", "--law",
                 "muennighoff-2023", "--unique-tokens", "1e11")
    assert back["optimal"]["total"] == pytest.approx(1e23, rel=1e-9)
    assert back["optimal"]["params"] == pytest.approx(data["optimal"]["params"], rel=1e-9)
    code, out, err = run_cli("budget", "--total-flops", "1e23", "--unique-tokens", "1e11")
    assert code == 2 and out == "" and "needs --max-epochs" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli("budget", "--total-flops", "1e3", "--inference-tokens", "1e3", "--law",
                             "muennighoff-2023", "--unique-tokens", "1e11")
    assert code == 2 and out == "" and "too small" in err and len(err.strip().splitlines()) == 1, err


def test_derive_planning_problems_of_any_law(run_cli, kaplan):
    import sympy as sp

    from symscale.problems.planning_generic import steps

    got = P.breakeven(2.0, kaplan, size_ratio=0.7)
    rho_step = dict((key, expr) for key, _, expr in steps(kaplan.law, "breakeven"))["rho"]
    values = {sp.Symbol(k, positive=True): v for k, v in kaplan.values.items()}
    values.update({sp.Symbol("N", positive=True): got.params.item(), sp.Symbol("D", positive=True): got.tokens.item()})
    assert float(rho_step.rhs.subs(values)) == pytest.approx(got.rho.item(), rel=1e-9)
    for problem in ("budget", "overhead", "breakeven"):
        data = _json(run_cli, "derive", "--law", "kaplan-2020", "--problem", problem)
        assert data["law"] == "kaplan-2020" and len(data["steps"]) >= 3
    data = _json(run_cli, "derive", "--law", "kaplan-2020", "--problem", "budget")
    assert "budget/(k_train*(rho + D))" in [s for s in data["steps"] if s["key"] == "params_of_budget"][0]["text"]


def test_verify_command_law_in_unique_tokens(run_cli):
    data = _json(run_cli, "verify", "--loss", "2.2:2.4:2", "--inference-tokens", "0:1e13:2", "--law",
                 "muennighoff-2023")
    assert data["summary"]["verified"] == 4 and data["summary"]["all_minima"]
    rows = {(r["loss"], r["inference_tokens"]): r for r in data["scenarios"]}
    on_kink = rows[(2.2, 0.0)]["verification"]                  # no demand: the training optimum, N = N_opt(D)
    assert on_kink["where"] == "kink" and on_kink["kkt_residual_relative"] is None
    inside = rows[(2.2, 1e13)]["verification"]
    assert inside["where"] == "stationary" and inside["kkt_residual_relative"] < 1e-45
    assert min(inside["digits"].values()) >= 12


# --- a law in U with unlimited unique data: planned in its smooth regime -------------------------------
@pytest.fixture(scope="module")
def muennighoff():
    return law_coefficients(get("muennighoff-2023"))


def _chinchilla_part(c):
    from symscale.laws.coefficients import Coefficients

    return Coefficients(**{k: c.values[k] for k in ("alpha", "beta", "A", "B", "E")})


def test_muennighoff_overhead_and_sensitivity_match_its_chinchilla_part(muennighoff):
    part = _chinchilla_part(muennighoff)      # with unlimited data and N <= N_opt(D) the law is E + A/N^a + B/D^b
    got, ref = P.overhead([0.5, 0.8], 2.3, muennighoff), P.overhead([0.5, 0.8], 2.3, part)
    _close(got.model.tokens, ref.model.tokens)
    _close(got.critical_params, ref.critical_params)
    got, ref = P.sensitivities(2.3, 6.0, 2e12, muennighoff), P.sensitivities(2.3, 6.0, 2e12, part)
    assert set(got["ln_params"]) == {"alpha", "beta", "A", "B", "E", "Rstar_D", "Rstar_N", "ln_inference_tokens"}
    assert got["ln_params"]["Rstar_D"] == 0 and got["ln_tokens"]["Rstar_N"] == 0
    for key in ("alpha", "beta", "E", "ln_inference_tokens"):
        assert got["ln_params"][key] == pytest.approx(ref["ln_params"][key], rel=1e-9)
        assert got["ln_tokens"][key] == pytest.approx(ref["ln_tokens"][key], rel=1e-9)


def test_muennighoff_breakeven_against_the_data_limited_solver(muennighoff):
    from symscale.solvers.data_limited import solve_limited

    got = P.breakeven(2.3, muennighoff, size_ratio=0.5)
    law, values = muennighoff.law, muennighoff.values
    base = solve_limited(law, values, 2.3, 6.0, 0.0)
    at = solve_limited(law, values, 2.3, 1.0, got.rho.item())        # the whole law, regime by regime
    assert at.params / base.params == pytest.approx(0.5, rel=1e-8) and at.where == "stationary"
    assert got.chinchilla_params.item() == pytest.approx(base.params, rel=1e-9)


def test_muennighoff_outside_its_smooth_regime_exits_2(run_cli):
    code, out, err = run_cli("overhead", "--loss", "2.3", "--size-ratio", "1.5", "--law", "muennighoff-2023")
    assert code == 2 and out == "" and "leaves the regime" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli("solve", "--loss", "2.3", "--inference-tokens", "1e12", "--law", "muennighoff-2023",
                             "--sensitivity", "--unique-tokens", "1e11")
    assert code == 2 and out == "" and "--sensitivity is not available with --unique-tokens" in err
    data = _json(run_cli, "solve", "--loss", "2.3", "--inference-tokens", "1e12", "--law", "muennighoff-2023",
                 "--sensitivity")
    assert data["sensitivity"]["ln_params"]["ln_inference_tokens"] < 0
