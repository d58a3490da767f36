"""The vectorised solver: the authors' examples, randomised optimality checks, edge cases."""

import numpy as np
import pytest

from symscale import InputError, solve_compute_optimal, solve_optimal
from symscale.kernels import chinchilla as kernels
from symscale.laws.coefficients import Coefficients
from symscale.solvers.solve import chinchilla, loss_of, model_from


def test_readme_example_compute_optimal():
    sol = solve_compute_optimal(1.947, 2e12)
    assert f"{float(sol.params):.3e}" == "2.418e+10"
    assert f"{float(sol.tokens):.3e}" == "2.657e+12"
    assert round(100 * float(sol.ratio["params"]), 2) == 70.96
    assert round(100 * float(sol.ratio["tokens"]), 2) == 146.77
    assert round(100 * float(sol.ratio["total_flops"]), 2) == 95.22


def test_readme_calculator_examples():
    assert loss_of(70e9, 1e12) == pytest.approx(1.94727, abs=5e-6)
    model = chinchilla(compute=1e24)
    assert f"{float(model.params):.3e}" == "5.368e+10"
    assert f"{float(model.tokens):.3e}" == "3.105e+12"
    assert round(float(loss_of(model.params, model.tokens)), 4) == 1.9106


def test_figure1_13b_with_2t_demand():
    """Section 1: a 13B Chinchilla model with 2T tokens of demand -> about 7B, saving 1.7e22 FLOPs (17 %)."""
    base = chinchilla(params=13e9)
    sol = solve_compute_optimal(loss_of(base.params, base.tokens), 2e12)
    assert round(float(sol.params) / 1e9) == 7
    saving = float(sol.baseline.total_flops - sol.optimal.total_flops)
    assert round(saving / 1e22, 1) == 1.7
    assert round(100 * (1 - float(sol.ratio["total_flops"]))) == 17


def test_zero_demand_is_chinchilla():
    sol = solve_compute_optimal(2.1, 0.0)
    np.testing.assert_allclose(sol.params, sol.baseline.params, rtol=1e-13)
    np.testing.assert_allclose(sol.tokens, sol.baseline.tokens, rtol=1e-13)


def _random_draws(n: int, seed: int):
    rng = np.random.default_rng(seed)
    alpha, beta = rng.uniform(0.1, 1.5, n), rng.uniform(0.1, 1.5, n)
    A, B, E = 10 ** rng.uniform(0, 4, n), 10 ** rng.uniform(0, 4, n), rng.uniform(0, 3, n)
    loss = E + 10 ** rng.uniform(-1.5, 1, n)
    demand = np.where(rng.random(n) < 0.05, 0.0, 10 ** rng.uniform(0, 20, n))
    return loss, demand, (alpha, beta, A, B, E)


def _solve_draws(loss, demand, coeffs):
    """Solve scenarios whose coefficients differ: the solver broadcasts coefficient arrays too."""
    from symscale.solvers.solve import solve_log_tokens

    rho = demand / 3
    ln_d, _ = solve_log_tokens(loss, rho, coeffs)
    d = np.exp(ln_d)
    n = np.exp(kernels.log_params_of_tokens(d, rho, *coeffs))
    return n, d, rho


def test_random_scenarios_satisfy_eq12_and_the_constraint():
    loss, demand, coeffs = _random_draws(5000, seed=0)
    n, d, rho = _solve_draws(loss, demand, coeffs)
    alpha, beta, A, B, E = coeffs
    assert np.all(np.isfinite(n)) and np.all(np.isfinite(d))
    scale = loss - E   # g = (E - loss) + positive terms: residual relative to loss - E
    assert np.max(np.abs(kernels.reduced(d, loss, rho, *coeffs)) / scale) < 1e-12
    assert np.max(np.abs(kernels.law(n, d, *coeffs) - loss) / scale) < 1e-11


@pytest.mark.parametrize("factor", [0.99, 1.01])
def test_random_scenarios_beat_neighbours_on_the_constraint(factor):
    loss, demand, coeffs = _random_draws(3000, seed=1)
    n, d, _ = _solve_draws(loss, demand, coeffs)
    alpha, beta, A, B, E = coeffs
    d2 = d * factor
    n2 = kernels.params_on_constraint(d2, loss, *coeffs)   # stay on L(N, D) = loss
    ok = np.isfinite(n2) & (n2 > 0)
    flops = 6 * n * d + 2 * n * demand
    flops2 = 6 * n2 * d2 + 2 * n2 * demand
    assert np.all(flops2[ok] > flops[ok] * (1 - 1e-13))


def test_extreme_demand_range_converges():
    demand = np.logspace(0, 20, 41)
    for loss in (1.7, 1.947, 3.0, 10.0):
        sol = solve_compute_optimal(loss, demand)
        assert np.all(np.diff(sol.params) <= 0) and np.all(np.diff(sol.tokens) >= 0)
        assert sol.params[-1] < sol.params[0] and np.all(np.isfinite(sol.tokens))


def test_arrays_broadcast_and_match_scalars():
    loss = np.array([[1.9], [2.0]])
    demand = np.array([1e10, 1e12, 1e14])
    sol = solve_compute_optimal(loss, demand)
    assert sol.params.shape == (2, 3)
    one = solve_compute_optimal(2.0, 1e12)
    assert sol.params[1, 1] == pytest.approx(float(one.params), rel=1e-15)


def test_kkt_newton_agrees_with_reduced_newton():
    loss, demand, _ = _random_draws(300, seed=3)
    loss = 1.69 + (loss - loss.min()) % 2 + 0.05
    a = solve_optimal(loss, 6, 2 * demand)
    b = solve_optimal(loss, 6, 2 * demand, method="kkt")
    np.testing.assert_allclose(b.params, a.params, rtol=1e-10)
    np.testing.assert_allclose(b.tokens, a.tokens, rtol=1e-10)


def test_other_presets_solve():
    for name in ("chinchilla-rounded", "sardana-all", "epoch-2024", "sardana-le100"):
        sol = solve_compute_optimal(2.5, 1e12, name)
        assert float(sol.ratio["total_flops"]) < 1


def test_unreachable_loss_is_an_input_error():
    with pytest.raises(InputError, match="unreachable: the law's floor E is 1.69"):
        solve_compute_optimal(1.69, 1e12)
    with pytest.raises(InputError, match="inference tokens must be >= 0"):
        solve_compute_optimal(2.0, -1)
    with pytest.raises(InputError, match="finite"):
        solve_compute_optimal(float("nan"), 1)


def test_out_of_range_optimum_is_an_input_error():
    with pytest.raises(InputError, match="beyond floating-point range"):
        solve_compute_optimal(1e-200, 1e12, Coefficients(alpha=0.336, beta=0.283, A=406.4, B=410.7, E=0.0))


def test_bad_coefficients_rejected():
    with pytest.raises(InputError, match="alpha must be > 0"):
        Coefficients(alpha=0, beta=0.3, A=1, B=1, E=1)


def test_model_from_two_quantities():
    m = model_from(params=7e9, compute=1e23)
    assert float(m.tokens) == pytest.approx(1e23 / (6 * 7e9))
    with pytest.raises(InputError, match="exactly two"):
        model_from(params=7e9)


def test_iso_loss_curve_round_trip_and_unreachable():
    from symscale.solvers.solve import params_for_loss, tokens_for_loss

    tokens = tokens_for_loss(70e9, 1.947)
    assert float(loss_of(70e9, tokens)) == pytest.approx(1.947, rel=1e-14)
    assert float(params_for_loss(tokens, 1.947)) == pytest.approx(70e9, rel=1e-12)
    # 1e6 params cannot reach loss 1.947 with any amount of data: A/N**alpha alone exceeds loss - E
    assert np.isnan(tokens_for_loss(1e6, 1.947))
