"""The planning problems of any law, derived by sympy from the law and lambdified once per law.

- **Budget** (the dual of the lifetime problem): minimise L(N, D) subject to
  k_train*N*D + k_inf*N = budget. sympy solves the constraint for N, and eliminating the multiplier
  from the KKT system gives the same tangency as the lifetime problem, D*a_N = (D + rho)*a_D; along
  the budget curve (x = ln D) its log form h(x) has the sign of dL/dx, so a minimum of the loss is a
  rise of h through zero. h and dh/dx are derived here.
- **Sensitivities**: the reduced lifetime system F = (F1, F2) of :mod:`symscale.problems.generic` in
  (ln N, ln D) is differentiated with respect to every coefficient and to ln rho (= ln k_inf at a
  fixed k_train); the implicit function theorem then gives d ln N*/d theta and d ln D*/d theta.

The overhead and break-even questions need only the law's loss and elasticities (the kernels of
:mod:`symscale.kernels.generic`), so they have no derivation of their own here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symscale.laws.law import Law
from symscale.problems.generic import D, N, derive, k_train, loss, rho

x = sp.Symbol("x", real=True)                   # ln D
budget = sp.Symbol("budget", positive=True)     # lifetime budget (FLOPs or dollars)
mu = sp.Symbol("mu", real=True)                 # multiplier of the budget constraint


@dataclass(frozen=True)
class BudgetProblem:
    """The budget problem of one law: KKT system, N on the budget curve, the reduced condition h(x)."""

    law: Law
    objective: sp.Expr           # k_train*N*D + k_inf*N with k_inf = rho*k_train
    lagrangian: sp.Expr
    kkt: tuple                   # stationarity in N, in D, and the budget constraint
    params_of_budget: sp.Expr    # N from the constraint, as a function of D
    reduced: sp.Expr             # h(x): the tangency D*a_N = (D + rho)*a_D in logs, N on the budget curve
    reduced_slope: sp.Expr       # dh/dx


@lru_cache(maxsize=32)
def budget_problem(law: Law) -> BudgetProblem:
    """Derive the budget problem of ``law`` (cached per law)."""
    p = derive(law)
    objective = k_train * N * D + rho * k_train * N
    lagrangian = p.expr - mu * (objective - budget)
    kkt = (sp.Eq(sp.diff(p.expr, N), mu * sp.diff(objective, N)),
           sp.Eq(sp.diff(p.expr, D), mu * sp.diff(objective, D)),
           sp.Eq(objective, budget))
    params_of_budget = sp.solve(kkt[2], N)[0]
    reduced = p.residual[1].subs(N, params_of_budget).subs(D, sp.exp(x))
    return BudgetProblem(law, objective, lagrangian, kkt, params_of_budget, reduced, sp.diff(reduced, x))


def steps(law: Law, problem: str) -> list[tuple[str, str, object]]:
    """(key, label, sympy object) of the planning problem ``problem`` (budget, overhead, breakeven) of ``law``."""
    p = derive(law)
    if problem == "budget":
        b = budget_problem(law)
        return [
            ("objective", "Budget problem: minimise L(N, D) subject to", sp.Eq(b.objective, budget)),
            ("lagrangian", "Lagrangian (mu: multiplier of the budget)", b.lagrangian),
            ("kkt", "KKT system", b.kkt),
            ("params_of_budget", "N on the budget curve", sp.Eq(N, b.params_of_budget)),
            ("reduced", "Eliminating mu (the lifetime problem's tangency), x = ln D on the budget curve: h(x) = 0",
             sp.Eq(b.reduced, 0)),
        ]
    k, n_opt = sp.Symbol("k", positive=True), sp.Symbol("N_opt", positive=True)
    if problem == "overhead":
        return [
            ("tokens", "D of a model k*N_opt at the same loss (solved numerically, monotone in D)",
             sp.Eq(p.expr.subs(N, k * n_opt), loss)),
            ("slope", "Its slope in ln D: -a_D at N = k*N_opt", sp.Eq(sp.Symbol("dL_dlnD"), -p.a_D.subs(N, k * n_opt))),
            ("critical", "Critical size: no amount of data reaches the loss below N_crit",
             sp.Eq(sp.Limit(p.expr, D, sp.oo), loss)),
        ]
    if problem == "breakeven":
        rho_of = sp.solve(p.eliminated, rho)[0]
        return [
            ("tangency", "The lifetime optimum's tangency (lambda eliminated)", p.eliminated),
            ("rho", "The demand at which a model (N, D) on the iso-loss curve is optimal", sp.Eq(rho, rho_of)),
            ("saving", "Saving over the training-optimal (N_opt, D_opt) of the same loss",
             sp.Eq(sp.Symbol("saving"), 1 - N * (D + rho) / (n_opt * (sp.Symbol("D_opt", positive=True) + rho)))),
        ]
    raise ValueError(f"unknown planning problem {problem!r}")


@lru_cache(maxsize=32)
def budget_kernels(law: Law):
    """numpy functions (h, dh/dx)(x, budget, k_train, rho, *c) and ln N(x, budget, k_train, rho)."""
    b = budget_problem(law)
    cs = derive(law).coefficients
    args = (x, budget, k_train, rho, *cs)
    reduced = sp.lambdify(args, [b.reduced, b.reduced_slope], modules="numpy", cse=True)
    ln_params = sp.lambdify((x, budget, k_train, rho), sp.expand_log(sp.log(b.params_of_budget.subs(D, sp.exp(x))),
                                                                     force=True), modules="numpy")
    return reduced, ln_params


@dataclass(frozen=True)
class SensitivityProblem:
    """dF/d theta of the reduced lifetime system, theta = (coefficients..., ln rho)."""

    law: Law
    parameters: sp.Matrix        # rows F1, F2; columns the coefficients, then ln rho


@lru_cache(maxsize=32)
def sensitivity_problem(law: Law) -> SensitivityProblem:
    """Differentiate the reduced lifetime system of ``law`` with respect to its coefficients and ln rho."""
    p = derive(law)
    rows = [[sp.diff(f, c) for c in p.coefficients] + [rho * sp.diff(f, rho)] for f in p.residual]
    return SensitivityProblem(law, sp.Matrix(rows))


@lru_cache(maxsize=32)
def sensitivity_kernel(law: Law):
    """numpy function (N, D, loss, rho, *c) -> the entries of dF/d theta, row-major."""
    p = derive(law)
    entries = list(sensitivity_problem(law).parameters)
    return sp.lambdify((N, D, loss, rho, *p.coefficients), entries, modules="numpy", cse=True)
