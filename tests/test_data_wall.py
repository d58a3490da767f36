"""The data wall: the muennighoff-2023 law, the data-limited solver, hard limits, floors, derive.

The optimum is checked against an independent mpmath minimisation along the iso-loss curve written
here (the issue's formula typed by hand; N from L = loss by bisection + mpmath.findroot at each D;
the objective minimised over a grid in ln D and then by golden section) -- no symscale solver code.
"""

from __future__ import annotations

import json
import math

import mpmath as mp
import numpy as np
import pytest

from symscale.base.errors import InputError
from symscale.laws.registry import get
from symscale.solvers import data_limited as dl

LAW = get("muennighoff-2023")
VALUES = LAW.preset("muennighoff-2023")
CHINCHILLA = get("chinchilla")
CHIN_VALUES = CHINCHILLA.preset("chinchilla")
PUBLISHED = dict(A=("exp", 6.255414), B=("exp", 7.3049974), E=("exp", 0.6254804), alpha=0.3526596, beta=0.3526596,
                 Rstar_D=15.387756, Rstar_N=5.309743)
REL = 1e-8


# --- the formula by hand (mpmath) -------------------------------------------------------
def hand_loss(N, D, U, c):
    """L(N, D, U) exactly as the issue writes it."""
    N, D, U = mp.mpf(N), mp.mpf(D), mp.mpf(U)
    a, b, A, B, E = (mp.mpf(c[k]) for k in ("alpha", "beta", "A", "B", "E"))
    rd, rn = mp.mpf(c["Rstar_D"]), mp.mpf(c["Rstar_N"])
    u_d = min(U, D)
    r_d = max(D / u_d - 1, 0)
    d_eff = u_d + u_d * rd * (1 - mp.exp(-r_d / rd))
    g = (a * A / (b * B)) ** (1 / (a + b))
    n_opt = g * (u_d * g) ** (b / a)
    u_n = min(N, n_opt)
    r_n = max(N / u_n - 1, 0)
    n_eff = u_n + u_n * rn * (1 - mp.exp(-r_n / rn))
    return E + A / n_eff**a + B / d_eff**b


def hand_chinchilla(N, D, U, c):
    return mp.mpf(c["E"]) + mp.mpf(c["A"]) / mp.mpf(N) ** c["alpha"] + mp.mpf(c["B"]) / mp.mpf(D) ** c["beta"]


def n_opt(U, c):
    g = (c["alpha"] * c["A"] / (c["beta"] * c["B"])) ** (1 / (c["alpha"] + c["beta"]))
    return g * (U * g) ** (c["beta"] / c["alpha"])


def _ln_params(law, x, U, loss, c):
    """ln N with law(N, e^x, U) = loss: bisection to 1e-12, then mpmath.findroot (bisection if it strays)."""
    def f(y):
        return law(mp.exp(y), mp.exp(x), U, c) - loss

    lo, hi = mp.mpf(0), mp.mpf(600)
    if f(hi) >= 0:
        return None
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    try:
        y = mp.findroot(f, (lo, hi), solver="anderson")
        if lo <= y <= hi:
            return y
    except (ZeroDivisionError, ValueError):
        pass
    for _ in range(70):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


def independent_optimum(law, loss, k_train, k_inf, U, c, x_max=None, n_max=None, points=120):
    """(N, D, objective) minimising k_train*N*D + k_inf*N on law = loss, D <= e^x_max, N <= n_max (mpmath)."""
    with mp.workdps(30):
        loss, kt, ki, U = (mp.mpf(v) for v in (loss, k_train, k_inf, U))

        def bisect_down(fn):          # the x where a decreasing fn(x) crosses 0, in [0, 600]
            a, b = mp.mpf(0), mp.mpf(600)
            for _ in range(120):
                mid = (a + b) / 2
                a, b = (mid, b) if fn(mid) >= 0 else (a, mid)
            return b

        x0 = bisect_down(lambda x: law(mp.exp(560), mp.exp(x), U, c) - loss)
        if n_max is not None:
            x0 = max(x0, bisect_down(lambda x: law(mp.mpf(n_max), mp.exp(x), U, c) - loss))
        x1 = x0 + 30 if x_max is None else min(x0 + 30, mp.mpf(x_max))

        def phi(x):
            y = _ln_params(law, x, U, loss, c)
            return mp.inf if y is None else y + mp.log(kt * mp.exp(x) + ki)

        xs = [x0 + (x1 - x0) * (mp.mpf(i) / points) ** 2 for i in range(points + 1)]
        values = [phi(x) for x in xs]
        i = min(range(len(xs)), key=lambda j: values[j])
        a, b = xs[max(i - 1, 0)], xs[min(i + 1, points)]
        r = (mp.sqrt(5) - 1) / 2
        p, q = b - r * (b - a), a + r * (b - a)
        fp, fq = phi(p), phi(q)
        while b - a > mp.mpf(10) ** -13:
            if fp < fq:
                b, q, fq = q, p, fp
                p = b - r * (b - a)
                fp = phi(p)
            else:
                a, p, fp = p, q, fq
                q = a + r * (b - a)
                fq = phi(q)
        x = (a + b) / 2
        y = _ln_params(law, x, U, loss, c)
        return float(mp.exp(y)), float(mp.exp(x)), float(mp.exp(phi(x)))


def assert_close(optimum, reference, rel=REL):
    n, d, obj = reference
    assert optimum.params == pytest.approx(n, rel=rel)
    assert optimum.tokens == pytest.approx(d, rel=rel)
    assert optimum.objective == pytest.approx(obj, rel=rel)


# --- the law ------------------------------------------------------------------------------------
def test_muennighoff_is_registered_with_the_published_fit(run_cli):
    code, out, _ = run_cli("laws", "--json")
    assert code == 0
    entry = next(law for law in json.loads(out)["laws"] if law["name"] == "muennighoff-2023")
    values = entry["presets"]["muennighoff-2023"]["values"]
    for key, value in PUBLISHED.items():
        expected = math.exp(value[1]) if isinstance(value, tuple) else value
        assert values[key] == pytest.approx(expected, rel=1e-15)
    assert "Muennighoff" in entry["source"] and "C4" in entry["notes"]


def _points():
    u = 1e11
    nu = n_opt(u, VALUES)
    return [
        (0.3 * n_opt(5e10, VALUES), 5e10, u, (0,)),        # D < U, N < N_opt(D): Chinchilla's law
        (4.0 * n_opt(5e10, VALUES), 5e10, u, (2,)),        # D < U, excess parameters
        (0.5 * nu, 7e11, u, (4,)),                          # repeated data, N < N_opt(U)
        (8.0 * nu, 3e12, u, (8,)),                          # repeated data and excess parameters
        (0.5 * nu, u, u, (0, 4)),                           # on the kink D = U
        (n_opt(4e10, VALUES), 4e10, u, (0, 2)),             # on the kink N = N_opt(D)
    ]


@pytest.mark.parametrize("n, d, u, regime", _points())
def test_loss_is_the_hand_evaluated_formula(n, d, u, regime):
    assert float(dl.law_loss(LAW, VALUES, n, d, u)) == pytest.approx(float(hand_loss(n, d, u, VALUES)), rel=1e-14)
    curve = dl._Curve(LAW, VALUES, u)
    assert curve.regimes[int(curve.regime_at(n, d))].index in regime


def test_calc_reports_the_law_with_unique_tokens(run_cli):
    code, out, _ = run_cli("calc", "--law", "muennighoff-2023", "--params", "7e9", "--tokens", "2e12",
                           "--unique-tokens", "5e11", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["loss"] == pytest.approx(float(hand_loss(7e9, 2e12, 5e11, VALUES)), rel=1e-14)
    assert report["epochs"] == pytest.approx(4.0)
    rd = VALUES["Rstar_D"]
    assert report["effective_tokens"] == pytest.approx(5e11 * (1 + rd * (1 - math.exp(-3 / rd))), rel=1e-14)
    assert report["effective_params"] == pytest.approx(7e9, rel=1e-14)


def test_the_regimes_are_the_four_smooth_pieces():
    live = dl.live_regimes(LAW, VALUES)
    assert [tuple(str(r) for r in reg.relations) for reg in live] == [
        ("D <= U", "N <= N_opt(D)"), ("D <= U", "N_opt(D) <= N"), ("U <= D", "N <= N_opt(U)"),
        ("U <= D", "N_opt(U) <= N")]


# --- the optimum against the independent minimisation --------------------------------------------
def _random_scenarios(count: int = 5, seed: int = 14):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        u = float(np.exp(rng.uniform(math.log(3e9), math.log(3e12))))
        n0 = float(np.exp(rng.uniform(math.log(3e8), math.log(3e10))))
        d0 = u * float(np.exp(rng.uniform(math.log(0.2), math.log(20))))
        loss = float(hand_loss(n0, d0, u, VALUES))
        demand = float(np.exp(rng.uniform(math.log(1e9), math.log(1e14))))
        out.append((loss, u, demand))
    return out + [(float(hand_loss(7e9, 2e12, 1e300, VALUES)), 1e13, 3.65e12)]     # fresh data: D < U


@pytest.mark.parametrize("loss, u, demand", _random_scenarios())
def test_optimum_matches_independent_minimisation(loss, u, demand):
    optimum = dl.solve_limited(LAW, VALUES, loss, 6.0, 2.0 * demand, dl.Limits(unique_tokens=u))
    assert_close(optimum, independent_optimum(hand_loss, loss, 6.0, 2.0 * demand, u, VALUES))


def test_optimum_on_the_kink_n_equals_n_opt():
    """With no demand the optimum sits exactly on N = N_opt(D) (Chinchilla's allocation), a regime boundary."""
    u = 7.7e10
    optimum = dl.solve_limited(LAW, VALUES, 2.3, 6.0, 0.0, dl.Limits(unique_tokens=u))
    assert optimum.where == "kink"
    reference = independent_optimum(hand_loss, 2.3, 6.0, 0.0, u, VALUES)
    assert_close(optimum, reference)
    assert reference[0] == pytest.approx(n_opt(reference[1], VALUES), rel=1e-7)


def test_optimum_on_the_kink_d_equals_u_with_one_epoch():
    """At most one epoch: the optimum sits on D = U, the law's kink, and the limit is active."""
    u = 3e11
    loss = float(hand_loss(7e9, 2e12, 1e300, VALUES))
    free = dl.solve_limited(LAW, VALUES, loss, 6.0, 2 * 3.65e12, dl.Limits(unique_tokens=u))
    assert free.tokens > u
    optimum = dl.solve_limited(LAW, VALUES, loss, 6.0, 2 * 3.65e12, dl.Limits(u, 1.0))
    assert optimum.tokens == pytest.approx(u, rel=1e-14) and optimum.where == "max_tokens"
    assert optimum.constraints[0].active and optimum.constraints[0].multiplier > 0
    assert_close(optimum, independent_optimum(hand_loss, loss, 6.0, 2 * 3.65e12, u, VALUES, x_max=mp.log(u)))


def test_the_data_limit_costs_compute():
    loss = float(hand_loss(7e9, 2e12, 1e300, VALUES))
    unlimited = dl.solve_limited(LAW, VALUES, loss, 6.0, 2 * 3.65e12)
    costs = [dl.solve_limited(LAW, VALUES, loss, 6.0, 2 * 3.65e12, dl.Limits(u)).objective for u in (3e11, 1e12, 3e12)]
    assert costs[0] > costs[1] > unlimited.objective * (1 - 1e-12)
    assert costs[2] == pytest.approx(unlimited.objective, rel=1e-12)   # 3T unique tokens: the limit does not bind


# --- hard limits with any law --------------------------------------------------------------------
def _chinchilla(**limits):
    return dl.solve_limited(CHINCHILLA, CHIN_VALUES, 2.0, 6.0, 4e12, dl.Limits(**limits))


def test_max_epochs_binds_for_chinchilla():
    optimum = _chinchilla(unique_tokens=1e11, max_epochs=2.0)
    assert optimum.where == "max_tokens" and optimum.tokens == pytest.approx(2e11, rel=1e-14)
    assert_close(optimum, independent_optimum(hand_chinchilla, 2.0, 6.0, 4e12, 1.0, CHIN_VALUES,
                                              x_max=mp.log(2e11)))
    h = 1e-6
    up, down = (_chinchilla(unique_tokens=1e11 * (1 + s * h), max_epochs=2.0).objective for s in (1, -1))
    assert optimum.constraints[0].multiplier == pytest.approx(-(up - down) / (2 * h * 2e11), rel=1e-5)


def test_max_params_binds_for_chinchilla():
    optimum = _chinchilla(max_params=5e9)
    assert optimum.where == "max_params" and optimum.params == pytest.approx(5e9, rel=1e-12)
    assert_close(optimum, independent_optimum(hand_chinchilla, 2.0, 6.0, 4e12, 1.0, CHIN_VALUES, n_max=5e9))
    h = 1e-6
    up, down = (_chinchilla(max_params=5e9 * (1 + s * h)).objective for s in (1, -1))
    assert optimum.constraints[0].multiplier == pytest.approx(-(up - down) / (2 * h * 5e9), rel=1e-5)


def test_inactive_limits_change_nothing():
    free = _chinchilla()
    loose = _chinchilla(unique_tokens=1e13, max_epochs=4.0, max_params=1e12)
    assert loose.params == pytest.approx(free.params, rel=1e-13)
    assert loose.tokens == pytest.approx(free.tokens, rel=1e-13)
    assert [(c.active, c.multiplier) for c in loose.constraints] == [(False, 0.0), (False, 0.0)]


def test_unique_token_value_is_the_derivative_of_the_optimum():
    u, demand = 1e11, 1e12
    optimum = dl.solve_limited(LAW, VALUES, 2.3, 6.0, 2 * demand, dl.Limits(u))
    value = dl.unique_token_value(LAW, VALUES, optimum, 6.0, 2 * demand, u)
    h = 1e-6
    up, down = (dl.solve_limited(LAW, VALUES, 2.3, 6.0, 2 * demand, dl.Limits(u * (1 + s * h))).objective
                for s in (1, -1))
    assert value == pytest.approx(-(up - down) / (2 * h * u), rel=1e-5)


def test_both_limits_infeasible_is_the_best_loss_they_allow():
    with pytest.raises(InputError, match="best loss these limits allow is 2.08127"):
        _chinchilla(unique_tokens=1e11, max_epochs=4.0, max_params=1e10)
    assert dl.best_loss(CHINCHILLA, CHIN_VALUES, dl.Limits(1e11, 4.0, 1e10)) == pytest.approx(
        float(hand_chinchilla(1e10, 4e11, 1, CHIN_VALUES)), rel=1e-14)


# --- the floor of finite data --------------------------------------------------------------------
def hand_floor(u, c):
    """As N and D grow with U fixed: N' -> N_opt(U) (1 + R_N*), D' -> U (1 + R_D*)."""
    return (c["E"] + c["A"] / (n_opt(u, c) * (1 + c["Rstar_N"])) ** c["alpha"]
            + c["B"] / (u * (1 + c["Rstar_D"])) ** c["beta"])


@pytest.mark.parametrize("u", [1e9, 1e11, 1e13])
def test_floor_is_the_saturated_law(u):
    assert dl.data_floor(LAW, VALUES, u) == pytest.approx(hand_floor(u, VALUES), rel=1e-12)


def test_unique_tokens_for_a_loss_inverts_the_floor(run_cli):
    code, out, _ = run_cli("unique-tokens", "--law", "muennighoff-2023", "--loss", "2.1", "--json")
    assert code == 0
    need = json.loads(out)["unique_tokens"]
    assert hand_floor(need, VALUES) == pytest.approx(2.1, rel=1e-12)
    code, out, _ = run_cli("calc", "--law", "muennighoff-2023", "--unique-tokens", "1e12", "--floor", "--json")
    assert code == 0 and json.loads(out)["floor"] == pytest.approx(hand_floor(1e12, VALUES), rel=1e-12)


def test_solve_below_the_floor_is_exit_2_with_floor_and_needed_data(run_cli):
    code, _, err = run_cli("solve", "--law", "muennighoff-2023", "--loss", "1.94", "--unique-tokens", "1e12",
                           "--inference-tokens", "1e12")
    assert code == 2 and len(err.strip().splitlines()) == 1
    floor = hand_floor(1e12, VALUES)
    assert f"{floor:.6g}" in err and "--unique-tokens 1e+12" in err
    need = float(err.split("needs more than ")[1].split()[0])
    assert hand_floor(need, VALUES) == pytest.approx(1.94, rel=1e-3)


# --- the command line ----------------------------------------------------------------------------
def test_solve_with_unique_tokens_reports_the_wall(run_cli):
    code, out, _ = run_cli("solve", "--law", "muennighoff-2023", "--loss", "2.3", "--inference-tokens", "1e12",
                           "--unique-tokens", "1e10", "--json")
    assert code == 0
    report = json.loads(out)
    opt, free = report["optimal"], report["unlimited"]
    assert opt["epochs"] == pytest.approx(opt["tokens"] / 1e10)
    assert report["data_limit_binds"] and free["tokens"] > 1e10
    assert report["limit_cost"]["ratio"] == pytest.approx(opt["total"] / free["total"])
    rd = VALUES["Rstar_D"]
    assert opt["effective_tokens"] == pytest.approx(1e10 * (1 + rd * (1 - math.exp(-(opt["epochs"] - 1) / rd))))
    assert opt["regime"]["conditions"] == ["U <= D", "N_opt(U) <= N"]
    assert opt["params"] > opt["n_opt"]


def test_solve_with_hard_limits_text_and_errors(run_cli):
    code, out, _ = run_cli("solve", "--loss", "2.0", "--inference-tokens", "2e12", "--unique-tokens", "1e11",
                           "--max-epochs", "2")
    assert code == 0 and "Constraint D <= K*U (200.0B): active, multiplier" in out
    for args, message in [(("--max-epochs", "2"), "--max-epochs 2 needs --unique-tokens"),
                          (("--unique-tokens", "1e12"), "needs --max-epochs K with the law chinchilla"),
                          (("--max-params", "0"), "--max-params"),
                          (("--unique-tokens", "1e308", "--max-epochs", "1e308"), "beyond floating-point range")]:
        code, _, err = run_cli("solve", "--loss", "2.0", *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_derive_shows_pieces_regimes_and_slackness(run_cli):
    code, out, _ = run_cli("derive", "--law", "muennighoff-2023", "--format", "text")
    assert code == 0
    assert "Eq(U_D, Piecewise((D, D <= U), (U, True)))" in out
    assert "Regime 0 (D <= U and N <= N_opt(D))" in out and "Regime 8 (U <= D and N_opt(U) <= N)" in out
    assert "Eq(A*D*alpha/N**alpha, B*beta*(D + D_inf/3)/D**beta)" in out     # regime 0: the paper's Eq. 11
    code, out, _ = run_cli("derive", "--max-epochs", "--max-params", "--format", "text")
    assert code == 0
    assert "Eq(mu_D*(D - D_max), 0)" in out and "Eq(mu_N*(N - N_max), 0)" in out
    assert "mu_D >= 0" in out


def test_plot_data_wall(run_cli, tmp_path):
    pytest.importorskip("matplotlib")
    out_file = tmp_path / "wall.png"
    code, out, _ = run_cli("plot", "data-wall", "--law", "muennighoff-2023", "--loss", "2.3", "--inference-tokens",
                           "1e12", "--unique-tokens-grid", "1e9,1e10,1e13", "-o", out_file, "--json")
    assert code == 0 and out_file.stat().st_size > 0
    data = json.loads(out)["data"]
    series, free = data["series"], data["unlimited"]
    assert series["params"][0] is None                       # 1e9 unique tokens: below the floor of loss 2.3
    direct = dl.solve_limited(LAW, VALUES, 2.3, 6.0, 2e12, dl.Limits(1e10))
    assert series["params"][1] == pytest.approx(direct.params, rel=1e-12)
    assert series["epochs"][1] == pytest.approx(direct.tokens / 1e10, rel=1e-12)
    assert series["total_flops"][2] == pytest.approx(free["total_flops"], rel=1e-12)   # plenty of data
    code, _, err = run_cli("plot", "data-wall", "--loss", "2.3", "--inference-tokens", "1e12", "-o", out_file)
    assert code == 2 and "add --max-epochs K" in err


@pytest.mark.parametrize("args, where", [
    (("--law", "muennighoff-2023", "--loss", "2.3", "--inference-tokens", "1e12", "--unique-tokens", "1e10"),
     "stationary"),
    (("--law", "muennighoff-2023", "--loss", "2.3", "--unique-tokens", "7.7e10"), "kink"),
    (("--loss", "2.0", "--inference-tokens", "2e12", "--unique-tokens", "1e11", "--max-epochs", "2"), "max_tokens"),
])
def test_verify_re_solves_in_the_regime(run_cli, args, where):
    code, out, _ = run_cli("solve", *args, "--verify", "--json")
    assert code == 0
    report = json.loads(out)
    v = report["verification"]
    assert v["ok"] and v["where"] == where and min(v["digits"].values()) >= 13
    assert float(v["params_precise"]) == pytest.approx(report["optimal"]["params"], rel=1e-13)


def test_plot_data_wall_takes_every_compute_demand_form(run_cli, tmp_path):
    """Requests per day x days x tokens per request give the same figure data as the tokens they make."""
    import json

    base = ("plot", "data-wall", "--law", "muennighoff-2023", "--loss", "2.1131", "--unique-tokens-grid", "1e11,1e12",
            "--json", "-o", tmp_path / "w.png")
    code, tokens, _ = run_cli(*base, "--inference-tokens", "3.65e12")
    code2, days, _ = run_cli(*base, "--requests-per-day", "1e7", "--days", "365", "--tokens-per-request", "1000")
    assert code == code2 == 0 and json.loads(tokens)["data"] == json.loads(days)["data"]
    code, out, _ = run_cli(*base)
    assert code == 0 and json.loads(out)["data"]["inference_tokens"] == 0
