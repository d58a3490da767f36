"""Planning questions for any law: budget, overhead of a smaller model, break-even demand, sensitivities.

The Chinchilla law keeps its fast paths in :mod:`symscale.scenarios.planning`; these are the generic routes,
built on the law's kernels (loss and elasticities, :mod:`symscale.kernels.generic`), the budget and
sensitivity problems sympy derives (:mod:`symscale.problems.planning_generic`) and the generic lifetime
solver (:mod:`symscale.solvers.generic`). The baseline is the law's training-compute-optimal model of the
same loss (the lifetime optimum with no demand). All functions broadcast over their array inputs.
"""

from __future__ import annotations

import numpy as np

from symscale.base.errors import InputError
from symscale.kernels.generic import kernels
from symscale.laws.law import Law
from symscale.solvers.data_limited import SMOOTH_REGIMES, check_regime, smooth_regime
from symscale.solvers.generic import LN_SMALL, critical_params, ln_tokens_at, safe_newton, solve_law

SCAN_POINTS = 256
_TOL = 4e-15


def _values(coefficients) -> tuple[Law, list[np.ndarray]]:
    """The law of a LawCoefficients and its values as arrays, in the law's order (a law in U: its smooth regime)."""
    if coefficients.law.uses_unique_tokens and coefficients.law not in SMOOTH_REGIMES:
        coefficients = smooth_regime(coefficients)
    law = coefficients.law
    return law, [np.asarray(coefficients.values[name], float) for name in law.names]


def baseline(law: Law, cs, loss) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) of the law's training-compute-optimal model of ``loss`` (the lifetime optimum with no demand)."""
    result = solve_law(law, dict(zip(law.names, cs)), loss, 6.0, 0.0)
    return result.params, result.tokens


# --- the budget problem -------------------------------------------------------------------------
def law_budget_optimum(budget, k_train, k_inf, coefficients):
    """Minimise L(N, D) subject to k_train*N*D + k_inf*N = budget for any law (a planning.BudgetOptimum).

    Along the budget curve N = budget/(k_train*(D + rho)), x = ln D in [0, ln(budget/k_train - rho)]
    (at least one token and one parameter), a scan brackets every rise of h through zero (a local
    minimum of the loss), safeguarded Newton refines each, and the lowest loss wins.
    """
    from symscale.problems.planning_generic import budget_kernels
    from symscale.scenarios.planning import BudgetOptimum

    law, cs = _values(coefficients)
    reduced, ln_params = budget_kernels(law)
    budget, k_train, k_inf, *cs = np.broadcast_arrays(*(np.asarray(v, float) for v in (budget, k_train, k_inf)), *cs)
    shape = budget.shape
    budget, k_train, k_inf, *cs = (np.atleast_1d(v).ravel() for v in (budget, k_train, k_inf, *cs))
    rho = k_inf / k_train
    with np.errstate(all="ignore"):
        room = budget / k_train - rho
        x_max = np.log(np.where(room > 1, room, np.nan))
    _refuse_small(budget, k_inf, room > 1)
    t = np.linspace(0.0, 1.0, SCAN_POINTS)
    grid = LN_SMALL + (x_max - LN_SMALL)[:, None] * t[None, :]
    col = [v[:, None] for v in (budget, k_train, rho, *cs)]
    with np.errstate(all="ignore"):
        h = np.asarray(reduced(grid, *col)[0], float) * np.ones_like(grid)
    rising = (h[:, :-1] < 0) & (h[:, 1:] >= 0)
    minima = rising.sum(axis=1)
    if np.any(minima == 0):
        i = int(np.flatnonzero(minima == 0)[0])
        edge = "one training token" if h[i, 0] >= 0 else "one parameter"
        raise InputError(f"budget {budget[i]:.4g} is too small for any model at this demand under the law {law.name}: "
                         f"the loss keeps falling toward a model of {edge} (no optimum with at least one parameter "
                         "and one training token); give a larger budget")
    best_x, best_loss = np.full(budget.shape, np.nan), np.full(budget.shape, np.inf)
    k = kernels(law)
    rows, cols = np.nonzero(rising)
    with np.errstate(all="ignore"):
        x = safe_newton(lambda v: tuple(np.asarray(o, float) for o in reduced(v, *(c[rows] for c in
                                                                                   (budget, k_train, rho, *cs)))),
                         grid[rows, cols], grid[rows, cols + 1], 0.5 * (grid[rows, cols] + grid[rows, cols + 1]))
        n = np.exp(ln_params(x, budget[rows], k_train[rows], rho[rows]))
        value = np.asarray(k.loss(n, np.exp(x), *(c[rows] for c in cs)), float) * np.ones_like(x)
    order = np.lexsort((value, rows))                   # by scenario, lowest loss first
    first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]] if rows.size else order
    best_loss[rows[first]], best_x[rows[first]] = value[first], x[first]
    with np.errstate(all="ignore"):
        params = np.exp(ln_params(best_x, budget, k_train, rho)) * np.ones_like(best_x)
    tokens = np.exp(best_x)
    check_regime(law, [c for c in cs], params, tokens)
    return BudgetOptimum(*(v.reshape(shape) for v in (budget, k_train, k_inf, params, tokens, best_loss)),
                         iterations=0, minima=minima.reshape(shape))


def _refuse_small(budget, k_inf, ok) -> None:
    if not np.all(ok):
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(f"budget {budget[i]:.4g} is too small for any model at this demand: the best it buys has "
                         "fewer than one parameter or one training token (serving the demand alone with a "
                         f"one-parameter model costs {k_inf[i]:.4g})")


def law_overhead(fraction, loss, coefficients, inference_tokens=0.0):
    """Data and training compute a model ``fraction`` x the law's training-optimal size needs (planning.Overhead)."""
    from symscale.scenarios.planning import Overhead
    from symscale.solvers.solve import ComputeModel

    law, cs = _values(coefficients)
    fraction, loss, demand, *cs = np.broadcast_arrays(*(np.asarray(v, float) for v in (fraction, loss,
                                                                                          inference_tokens)), *cs)
    if np.any(fraction <= 0):
        raise InputError(f"size fraction must be > 0, got {fraction[fraction <= 0].flat[0]:g}")
    base_n, base_d = baseline(law, cs, loss)
    n_min = critical_params(law, cs, loss)
    crit = n_min / base_n
    bad = fraction <= crit
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise InputError(f"no amount of data brings a model of {fraction.ravel()[i]:g} x the training-optimal size "
                         f"to loss {loss.ravel()[i]:g} under the law {law.name}: the critical size is "
                         f"{crit.ravel()[i]:.6g} x ({n_min.ravel()[i]:.4g} params); ask for a larger fraction")
    params = fraction * base_n
    ln_d = ln_tokens_at(law, cs, params, loss)
    if np.any(~np.isfinite(ln_d)):
        i = np.flatnonzero(~np.isfinite(ln_d).ravel())[0]
        raise InputError(f"a model of {fraction.ravel()[i]:g} x the training-optimal size reaches loss "
                         f"{loss.ravel()[i]:g} with less than one training token; ask for a smaller fraction")
    tokens = np.exp(ln_d)
    check_regime(law, cs, params, tokens)
    check_regime(law, cs, base_n, base_d)
    return Overhead(fraction, loss, ComputeModel(base_n, base_d, demand), ComputeModel(params, tokens, demand),
                    tokens / base_d, fraction * tokens / base_d, crit, n_min)


# --- break-even demand ---------------------------------------------------------------------------
def _stationary_rho(law: Law, cs, params, tokens) -> np.ndarray:
    """The weight ratio rho at which (params, tokens) satisfies the tangency D*a_N = (D + rho)*a_D."""
    a_n, a_d = kernels(law).elasticities(params, tokens, *cs)
    return tokens * np.expm1(np.log(a_n) - np.log(a_d))


def _saving_at_size(law: Law, cs, ln_n, loss, base_n, base_d):
    """(saving, rho, D) of the optimum of size e^ln_n: D from the iso-loss curve, rho from the tangency."""
    n = np.exp(ln_n)
    d = np.exp(ln_tokens_at(law, cs, n, loss))
    rho = _stationary_rho(law, cs, n, d)
    return 1 - n * (d + rho) / (base_n * (base_d + rho)), rho, d


def law_breakeven(loss, coefficients, *, saving=None, size_ratio=None):
    """The rho at which the optimum saves ``saving`` or has ``size_ratio`` of the training-optimal size (any law).

    Parametrised by the optimum's size N in (N_crit, N_opt): D follows from the iso-loss curve and rho
    from the tangency, rho = D*(a_N/a_D - 1); a size ratio is one evaluation, a saving a bisection in
    ln N. The answer is then re-solved by the generic lifetime solver at that rho (a planning.Breakeven).
    """
    from symscale.scenarios.planning import Breakeven

    if (saving is None) == (size_ratio is None):
        raise InputError("give exactly one of saving, size_ratio")
    law, cs = _values(coefficients)
    target = np.asarray(saving if saving is not None else size_ratio, float)
    loss, target, *cs = np.broadcast_arrays(np.asarray(loss, float), target, *cs)
    base_n, base_d = baseline(law, cs, loss)
    crit = critical_params(law, cs, loss) / base_n
    if saving is not None:
        top = 1 - crit
        bad = ~((target > 0) & (target < top))
        if np.any(bad):
            i = np.flatnonzero(bad.ravel())[0]
            raise InputError(f"no demand gives a saving of {target.ravel()[i]:g} under the law {law.name}: savings "
                             f"lie strictly between 0 and {top.ravel()[i]:.6g} (approached as demand grows)")
        lo, hi = np.log(crit * base_n), np.log(base_n)
        with np.errstate(all="ignore"):
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                value = _saving_at_size(law, cs, mid, loss, base_n, base_d)[0]
                high = value > target                        # too small a model: move up
                lo, hi = np.where(high, mid, lo), np.where(high, hi, mid)
                if np.all(hi - lo <= _TOL * (1 + np.abs(mid))):
                    break
        ln_n = 0.5 * (lo + hi)
    else:
        bad = ~((target > crit) & (target < 1))
        if np.any(bad):
            i = np.flatnonzero(bad.ravel())[0]
            raise InputError(f"no demand gives a size ratio of {target.ravel()[i]:g} under the law {law.name}: the "
                             f"optimum shrinks from 1 (no demand) towards {crit.ravel()[i]:.6g} (the critical size) "
                             "as demand grows; ask for a ratio in between")
        ln_n = np.log(target * base_n)
    with np.errstate(all="ignore"):
        _, rho, _ = _saving_at_size(law, cs, ln_n, loss, base_n, base_d)
    result = solve_law(law, dict(zip(law.names, cs)), loss, 1.0, rho)
    params, tokens = result.params, result.tokens
    check_regime(law, cs, params, tokens)
    achieved = 1 - params * (tokens + rho) / (base_n * (base_d + rho))
    return Breakeven(loss, rho, params, tokens, base_n, base_d, achieved, params / base_n)


def law_max_saving(coefficients, loss) -> float:
    """The supremum of the saving over all demand at ``loss``: 1 - N_crit/N_opt (N* -> N_crit, D*/rho -> 0)."""
    return float(1 - law_critical_fraction(coefficients, loss))


def law_critical_fraction(coefficients, loss) -> float:
    """N_crit/N_opt at ``loss``: below it no amount of data reaches the loss."""
    law, cs = _values(coefficients)
    return float(np.ravel(critical_params(law, cs, loss) / baseline(law, cs, loss)[0])[0])


# --- sensitivities -------------------------------------------------------------------------------
def law_sensitivities(loss, k_train, k_inf, coefficients) -> dict:
    """d ln N*/d theta and d ln D*/d theta, theta = (the law's coefficients, ln k_inf), at fixed loss (any law).

    Implicit function theorem on the reduced lifetime system F(ln N, ln D; theta) = 0 (the KKT system
    with its multiplier eliminated): dz/dtheta = -J^-1 dF/dtheta, J and dF/dtheta derived by sympy.
    """
    from symscale.problems.planning_generic import sensitivity_kernel

    law, cs = _values(coefficients)
    loss, k_train, k_inf, *cs = np.broadcast_arrays(*(np.asarray(v, float) for v in (loss, k_train, k_inf)), *cs)
    rho = k_inf / k_train
    result = solve_law(law, dict(zip(law.names, cs)), loss, k_train, k_inf)
    n, d = result.params, result.tokens
    check_regime(law, cs, n, d)
    k = kernels(law)
    shape, m = n.shape, len(law.names) + 1
    with np.errstate(all="ignore"):
        _, _, *jac = k.system(n, d, loss, rho, *cs)
        jac = np.stack(np.broadcast_arrays(*jac), axis=-1).reshape(shape + (2, 2))
        par = sensitivity_kernel(law)(n, d, loss, rho, *cs)
        par = np.stack(np.broadcast_arrays(*par, n), axis=-1)[..., :-1].reshape(shape + (2, m))
    if not (np.isfinite(jac).all() and np.isfinite(par).all()):
        raise InputError(f"the sensitivities under the law {law.name} are beyond floating-point range at this loss "
                         "and demand")
    dz = -np.linalg.solve(jac, par)
    keys = (*law.names, "ln_inference_tokens")
    if law in SMOOTH_REGIMES:                         # a law in U: U is unlimited here, not a coefficient to vary
        keys = tuple("" if key == "U" else key for key in keys)
    return {"ln_params": {key: dz[..., 0, i] for i, key in enumerate(keys) if key},
            "ln_tokens": {key: dz[..., 1, i] for i, key in enumerate(keys) if key}}
