"""The budget problem with limited unique data (a law in U, e.g. muennighoff-2023) or hard limits, any law.

The best loss a lifetime budget buys is the loss whose least lifetime cost within the limits equals
the budget: c*(L) = min {k_train*N*D + k_inf*N : L(N, D[, U]) = L, D <= K*U, N <= N_max} falls strictly
as L rises, from +inf at the floor the limits allow. So the budget problem is solved as a root of
ln c*(L) - ln budget in L (bracketed; regula falsi with the Illinois step, bisection while an end is
infinite), each c*(L) by :func:`symscale.solvers.data_limited.solve_limited`, which compares every
regime's stationary points, the kinks between regimes and the active limits. The answer is therefore
exactly the optimum `solve` gives at that loss with the same limits, regime and constraint states included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from symscale.base.errors import InputError
from symscale.laws.law import Law
from symscale.laws.limits import Limits
from symscale.solvers.data_limited import LimitedOptimum, best_loss, solve_limited

MAX_ITERATIONS = 200
REL_TOL = 1e-15


@dataclass(frozen=True)
class LimitedBudget:
    """The best loss a budget buys within the limits, and the optimum (with regime and constraints) there."""

    budget: float
    k_train: float
    k_inf: float
    loss: float
    optimum: LimitedOptimum
    iterations: int


def _cost(law: Law, values: dict, loss: float, k_train: float, k_inf: float, limits: Limits) -> LimitedOptimum | None:
    """The least lifetime cost of ``loss`` within the limits (None where no model reaches it in float range)."""
    try:
        return solve_limited(law, values, loss, k_train, k_inf, limits)
    except (InputError, ValueError):   # unreachable, beyond float range, or a scan without a finite point
        return None


def limited_budget(law: Law, values: dict, budget: float, k_train: float, k_inf: float,
                   limits: Limits | None = None) -> LimitedBudget:
    """Minimise L(N, D[, U]) subject to k_train*N*D + k_inf*N = budget within ``limits`` (one scenario)."""
    limits = Limits() if limits is None else limits
    if not (budget > 0 and k_train > 0 and k_inf >= 0):
        raise InputError("budget and k_train must be > 0 and the inference weight >= 0")
    if budget < k_train + k_inf:                     # one parameter trained on one token, then served
        raise InputError(f"budget {budget:.4g} is too small for any model at this demand: one parameter on one "
                         f"training token already costs {k_train + k_inf:.4g}")
    floor = best_loss(law, values, limits)
    target = math.log(budget)

    def f(loss: float) -> tuple[float, LimitedOptimum | None]:
        optimum = _cost(law, values, loss, k_train, k_inf, limits)
        return (math.inf if optimum is None else math.log(optimum.objective) - target), optimum

    a, fa = floor, math.inf
    gap = max(0.05 * abs(floor), 1e-3)
    b, (fb, _) = floor + gap, f(floor + gap)
    for _ in range(80):                              # the upper end: a loss the budget more than buys
        if fb < 0:
            break
        a, fa = b, fb
        gap *= 2
        b, (fb, _) = floor + gap, f(floor + gap)
    else:
        raise InputError(f"budget {budget:.4g} buys no loss within floating-point range under the law {law.name}")
    side, iterations = 0, 0
    while iterations < MAX_ITERATIONS:
        iterations += 1
        if math.isfinite(fa):
            c = b - fb * (b - a) / (fb - fa)
            if not a < c < b:
                c = 0.5 * (a + b)
        else:
            c = 0.5 * (a + b)
        fc, _ = f(c)
        if fc == 0 or (b - a) <= REL_TOL * abs(c):
            break
        if fc > 0:
            a, fa = c, fc
            if side == 1:
                fb *= 0.5                            # Illinois: keep the stale end from stalling the step
            side = 1
        else:
            b, fb = c, fc
            if side == -1 and math.isfinite(fa):
                fa *= 0.5
            side = -1
        if abs(fc) <= 1e-15:
            break
    _, optimum = f(c)
    if optimum is None or optimum.params < 1 or optimum.tokens < 1:
        raise InputError(f"budget {budget:.4g} is too small for any model at this demand under the law {law.name}: "
                         "the best it buys has fewer than one parameter or one training token")
    return LimitedBudget(budget, k_train, k_inf, c, optimum, iterations)
