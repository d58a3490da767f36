"""Planning questions: budget (dual) problem, break-even demand, overhead, sensitivities; generated kernels."""

from __future__ import annotations

import types

import numpy as np
import pytest
import sympy as sp

from symscale.base.errors import InputError
from symscale.kernels import planning as PK
from symscale.laws.coefficients import Coefficients, preset
from symscale.scenarios import planning as P
from symscale.solvers import solve as S
from symscale.solvers.costs import CostSettings, solve_cost_optimal

CHIN = preset("chinchilla")
RNG_SEED = 20240117


def random_coefficients(rng, n: int) -> tuple:
    """Plausible law coefficients, one scenario per entry."""
    return (rng.uniform(0.2, 0.6, n), rng.uniform(0.2, 0.6, n), rng.uniform(100, 1000, n),
            rng.uniform(100, 1000, n), rng.uniform(1.0, 2.0, n))


def as_coefficients(cs: tuple, i: int) -> Coefficients:
    return Coefficients(*(float(c[i]) for c in cs))


# --- symbolic facts -----------------------------------------------------------------------------
def test_budget_kkt_gives_eq11_and_monotone_reduced_equation():
    from symscale.problems import chinchilla as s
    from symscale.problems import planning as ps

    m = ps.budget_model()
    assert sp.simplify(m.param_term - s.derive().param_term) == 0
    expected_slope = s.alpha + s.beta + (1 - s.alpha) * s.rho / (s.rho + sp.exp(s.x))
    assert sp.simplify(m.reduced_log_slope - expected_slope) == 0
    assert sp.simplify(m.reduced_log_curvature - (s.alpha - 1) * s.rho * sp.exp(s.x) / (s.rho + sp.exp(s.x)) ** 2) == 0
    # rho = 0: the root is Chinchilla's compute-optimal ln D.
    chin = sp.expand_log(sp.log(s.chinchilla().tokens_of_compute), force=True)
    at_six = m.start_log_tokens.subs({s.k_train: 6, ps.budget: s.C})
    assert sp.simplify(sp.expand_log(at_six - chin, force=True)) == 0


def test_overhead_and_breakeven_closed_forms():
    from symscale.problems import chinchilla as s
    from symscale.problems import planning as ps

    over, brk = ps.overhead_model(), ps.breakeven_model()
    assert over.critical_fraction == (s.beta / (s.alpha + s.beta)) ** (1 / s.alpha)
    assert sp.diff(over.log_token_ratio, ps.gap) == 0            # the ratio does not depend on the loss
    assert over.log_token_ratio.subs(ps.fraction, 1) == 0
    assert sp.simplify(brk.max_saving - (1 - over.critical_fraction)) == 0
    assert brk.rho_of_size_ratio.subs(ps.fraction, 1) == 0
    assert all(isinstance(label, str) for name in ("budget", "overhead", "breakeven")
               for label, _ in ps.PROBLEMS[name]())
    assert [label for label, _ in ps.budget_derivation()][1].startswith("Lagrangian")


def _exec_module(text: str) -> types.ModuleType:
    module = types.ModuleType("regenerated_planning_kernels")
    exec(compile(text, "<regenerated>", "exec"), module.__dict__)
    return module


def test_generated_kernels_match_the_symbolic_model():
    from symscale.kernels import planning_codegen

    text = planning_codegen.render()
    if PK.SYMPY_VERSION == sp.__version__:
        assert text == planning_codegen.KERNELS_PATH.read_text(), "run `python -m symscale.codegen`"
        return
    fresh = _exec_module(text)  # another sympy prints differently: compare values instead
    rng = np.random.default_rng(RNG_SEED)
    for kernel in planning_codegen.kernel_definitions():
        args = [rng.uniform(0.2, 0.6, 8) for _ in kernel.args]
        with np.errstate(all="ignore"):
            got, want = getattr(PK, kernel.name)(*args), getattr(fresh, kernel.name)(*args)
        got, want = (np.broadcast_arrays(*v) if isinstance(v, tuple) else v for v in (got, want))
        np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-12, atol=1e-300)


# --- 1. budget ----------------------------------------------------------------------------------
def test_budget_without_demand_is_chinchilla_compute_optimal():
    flops = np.logspace(18, 28, 11)
    optimum, model = P.compute_budget_optimum(flops, 0.0, CHIN)
    chin = S.chinchilla(compute=flops, coefficients=CHIN)
    np.testing.assert_allclose(optimum.params, chin.params, rtol=1e-12)
    np.testing.assert_allclose(optimum.tokens, chin.tokens, rtol=1e-12)
    np.testing.assert_allclose(model.total_flops, flops, rtol=1e-13)


def test_budget_round_trip_with_solve_randomised():
    rng = np.random.default_rng(RNG_SEED)
    n = 400
    cs = random_coefficients(rng, n)
    flops = 10 ** rng.uniform(19, 28, n)
    demand = np.where(rng.random(n) < 0.1, 0.0, 10 ** rng.uniform(8, 16, n))
    optimum, model = P.compute_budget_optimum(flops, demand, cs)
    for i in range(n):  # solve takes a Coefficients; one scenario at a time is still fast
        sol = S.solve_compute_optimal(optimum.loss[i], demand[i], as_coefficients(cs, i))
        assert sol.params == pytest.approx(optimum.params[i], rel=1e-10)
        assert sol.tokens == pytest.approx(optimum.tokens[i], rel=1e-10)
        assert sol.total_flops == pytest.approx(flops[i], rel=1e-10)
    assert optimum.iterations < 20


def test_budget_in_dollars_round_trip():
    settings = CostSettings(requests=np.array([0.0, 1e9, 1e10, 1e11]))
    optimum = P.cost_budget_optimum(5e6, settings, CHIN)
    sol = solve_cost_optimal(optimum.loss, settings, CHIN)
    np.testing.assert_allclose(sol.optimal.params, optimum.params, rtol=1e-10)
    np.testing.assert_allclose(sol.optimal.total_cost, 5e6, rtol=1e-10)
    np.testing.assert_allclose(optimum.total_cost, 5e6, rtol=1e-12)


def test_budget_too_small_is_an_input_error():
    floor = P.minimum_budget(6.0, 4e12, CHIN)
    assert 4e12 < floor < 4.1e12   # serving 2e12 tokens with one parameter costs 4e12 FLOPs
    optimum = P.budget_optimum(floor * (1 + 1e-9), 6.0, 4e12, CHIN)
    assert min(optimum.params, optimum.tokens) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(InputError, match="too small for any model"):
        P.compute_budget_optimum(1e12, 2e12, CHIN)
    with pytest.raises(InputError, match="budget must be > 0"):
        P.compute_budget_optimum(0.0, 0.0, CHIN)


# --- 2. break-even ------------------------------------------------------------------------------
def test_breakeven_saving_round_trip_randomised():
    rng = np.random.default_rng(RNG_SEED + 1)
    n = 60
    cs = random_coefficients(rng, n)
    loss = cs[4] + rng.uniform(0.05, 1.0, n)
    top = PK.max_saving(cs[0], cs[1])
    target = top * rng.uniform(0.001, 0.99, n)
    result = P.breakeven(loss, cs, saving=target)
    np.testing.assert_allclose(result.saving, target, rtol=1e-10)
    for i in range(0, n, 3):
        sol = S.solve_compute_optimal(loss[i], result.inference_tokens[i], as_coefficients(cs, i))
        assert 1 - sol.ratio["total_flops"] == pytest.approx(target[i], rel=1e-10)


def test_breakeven_size_ratio_round_trip_randomised():
    rng = np.random.default_rng(RNG_SEED + 2)
    n = 60
    cs = random_coefficients(rng, n)
    loss = cs[4] + rng.uniform(0.05, 1.0, n)
    low = PK.critical_fraction(cs[0], cs[1])
    target = low + (1 - low) * rng.uniform(0.01, 0.99, n)
    result = P.breakeven(loss, cs, size_ratio=target)
    np.testing.assert_allclose(result.size_ratio, target, rtol=1e-10)
    for i in range(0, n, 3):
        sol = S.solve_compute_optimal(loss[i], result.inference_tokens[i], as_coefficients(cs, i))
        assert sol.ratio["params"] == pytest.approx(target[i], rel=1e-10)


def test_breakeven_in_dollars_gives_requests():
    settings = CostSettings(input_tokens=1000.0, output_tokens=250.0)
    result, requests = P.breakeven_demand(2.0, CHIN, saving=0.2, settings=settings)
    sol = solve_cost_optimal(2.0, CostSettings(requests=requests, input_tokens=1000.0, output_tokens=250.0), CHIN)
    assert 1 - sol.ratio["total_cost"] == pytest.approx(0.2, rel=1e-10)


def test_saving_rises_to_the_limit_and_beyond_it_is_an_error():
    top = P.max_saving(CHIN)
    assert top == pytest.approx(1 - (0.283 / 0.619) ** (1 / 0.336), rel=1e-14)
    demand = np.logspace(8, 40, 60)
    sol = S.solve_compute_optimal(2.0, demand, CHIN)
    saving = 1 - sol.ratio["total_flops"]
    assert np.all(np.diff(saving) > 0) and saving[-1] < top and saving[-1] > top - 1e-3
    with pytest.raises(InputError, match=r"largest reachable saving") as info:
        P.breakeven(2.0, CHIN, saving=0.95)
    assert "0.90264" in str(info.value)
    with pytest.raises(InputError, match="critical size"):
        P.breakeven(2.0, CHIN, size_ratio=0.05)


# --- 3. overhead --------------------------------------------------------------------------------
def test_overhead_at_one_is_zero_and_matches_the_law():
    result = P.overhead(np.array([1.0, 0.8, 0.5, 0.3, 2.0]), 2.0, CHIN)
    assert result.compute_overhead[0] == pytest.approx(0.0, abs=1e-14)
    assert result.token_ratio[0] == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_allclose(S.loss_of(result.model.params, result.model.tokens, CHIN), 2.0, rtol=1e-13)
    assert result.compute_overhead[3] == pytest.approx(1.0556, abs=1e-4)   # ~100 % at ~30 % (De Vries 2023)
    assert np.all(result.compute_overhead[1:] > 0)


def test_critical_size_matches_closed_form_and_data_diverges():
    rng = np.random.default_rng(RNG_SEED + 3)
    cs = random_coefficients(rng, 20)
    crit = PK.critical_fraction(cs[0], cs[1])
    np.testing.assert_allclose(crit, (cs[1] / (cs[0] + cs[1])) ** (1 / cs[0]), rtol=1e-14)
    loss = cs[4] + 0.3
    np.testing.assert_allclose(np.exp(PK.log_min_params(loss, *cs)), crit * S.chinchilla(
        loss=loss, coefficients=cs).params, rtol=1e-12)
    tokens = [P.overhead(crit * (1 + eps), loss, cs).model.tokens for eps in (1e-2, 1e-4, 1e-6)]
    assert np.all(tokens[1] > 10 * tokens[0]) and np.all(tokens[2] > 10 * tokens[1])
    with pytest.raises(InputError, match="critical size"):
        P.overhead(crit[0], loss[0], tuple(c[0] for c in cs))


# --- 4. sensitivities ---------------------------------------------------------------------------
def _log_optimum(coefficients: Coefficients, loss: float, demand: float) -> np.ndarray:
    sol = S.solve_compute_optimal(loss, demand, coefficients)
    return np.log([float(sol.params), float(sol.tokens)])


@pytest.mark.parametrize(("loss", "demand"), [(2.0, 2e12), (1.9, 1e14), (2.3, 1e9)])
def test_sensitivities_match_central_finite_differences(loss, demand):
    report = P.sensitivity_report(loss, demand, CHIN)
    for key in ("alpha", "beta", "A", "B", "E"):
        value = getattr(CHIN, key)
        h = 1e-5 * value
        up = _log_optimum(CHIN.with_values(**{key: value + h}), loss, demand)
        down = _log_optimum(CHIN.with_values(**{key: value - h}), loss, demand)
        fd = (up - down) / (2 * h)
        assert report["ln_params"][key] == pytest.approx(fd[0], rel=1e-6, abs=1e-9)
        assert report["ln_tokens"][key] == pytest.approx(fd[1], rel=1e-6, abs=1e-9)
    h = 1e-5
    fd = (_log_optimum(CHIN, loss, demand * np.exp(h)) - _log_optimum(CHIN, loss, demand * np.exp(-h))) / (2 * h)
    assert report["ln_params"]["ln_inference_tokens"] == pytest.approx(fd[0], rel=1e-6)
    assert report["ln_tokens"]["ln_inference_tokens"] == pytest.approx(fd[1], rel=1e-6)


def test_sensitivities_are_vectorised_and_render():
    values = P.sensitivities(np.array([1.9, 2.0]), 6.0, np.array([0.0, 4e12]), CHIN)
    assert values["ln_params"]["ln_inference_tokens"][0] == 0.0
    assert values["ln_tokens"]["A"] == pytest.approx([0.0, 0.0], abs=1e-15)   # Eq. 12 has no A
    text = P.render_sensitivity(P.sensitivity_report(2.0, 2e12, CHIN))
    assert "ln(demand)" in text and "-0.25177" in text


# --- verification hooks ---------------------------------------------------------------------------
def test_budget_and_breakeven_verify_at_high_precision():
    optimum, _ = P.compute_budget_optimum(1e24, 2e12, CHIN)
    check = P.verify_budget(optimum, CHIN)
    assert check["ok"] and check["budget_digits"] > 13
    result = P.breakeven(2.0, CHIN, saving=0.1)
    check = P.verify_breakeven(result, CHIN)
    assert check["ok"] and check["saving_precise"] == pytest.approx(0.1, rel=1e-12)
