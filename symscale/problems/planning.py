"""The sympy side of the planning questions: budgets, break-even demand, smaller models, sensitivities.

Each question gets its own derivation from the law and the objective of ``problems/chinchilla.py``:

- the *budget* (dual) problem, minimise ``L(N, D)`` subject to ``k_train*N*D + k_inf*N = budget``,
  with its Lagrangian, KKT system and a reduced monotone equation in ``x = ln D``;
- the *overhead* of a model a fraction ``k`` of the Chinchilla size (extra data and compute for the
  same loss) and the critical fraction below which no amount of data reaches that loss;
- the *break-even* demand: the closed-form demand at which the optimum is a given fraction of the
  Chinchilla size, the saving of an allocation, and the largest saving any demand reaches;
- the *sensitivities* of the optimum: the KKT system and its derivatives for the implicit function
  theorem.

``kernels/planning_codegen.py`` turns these expressions into ``kernels/planning.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symscale.problems import chinchilla as s

# --- symbols of the planning questions -------------------------------------------------------
budget = sp.Symbol("budget", positive=True)          # lifetime budget (FLOPs or dollars)
mu = sp.Symbol("mu", real=True)                      # multiplier of the budget constraint
fraction = sp.Symbol("k", positive=True)             # model size as a fraction of Chinchilla's
gap = sp.Symbol("gap", positive=True)                # loss - E, the reducible part of the target loss
w = sp.Symbol("w", real=True)                        # ln(-lam), the KKT multiplier on a log scale
N_c, D_c = sp.symbols("N_c D_c", positive=True)      # the Chinchilla-style model of the same loss

THETA = (*s.COEFFICIENTS, sp.Symbol("ln_k_inf", real=True))
"""The quantities the sensitivities are taken with respect to (ln k_inf is ln demand up to a constant)."""


def _at_gap(expr: sp.Expr) -> sp.Expr:
    """Write ``loss = E + gap`` (gap > 0) and denest powers, which is valid for positive bases."""
    return sp.powdenest(sp.powsimp(sp.sympify(expr).subs(s.loss, s.E + gap), force=True), force=True)


# --- the budget problem -----------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetModel:
    """The dual problem: best loss for a lifetime budget; all sympy expressions."""

    lagrangian: sp.Expr
    kkt: tuple                   # three sympy Eq: stationarity in N, in D, the budget constraint
    mu_solution: sp.Expr         # mu from the D-equation
    param_term: sp.Expr          # A/N**alpha at the optimum as a function of D (Eq. 11 again)
    params_of_budget: sp.Expr    # N from the budget constraint, given D
    reduced_log: sp.Expr         # h(x) = 0 at x = ln D*: Eq. 11 with N taken from the constraint
    reduced_log_slope: sp.Expr   # dh/dx (positive: one root)
    reduced_log_curvature: sp.Expr  # d2h/dx2 (sign of alpha - 1: Newton is monotone after one step)
    start_log_tokens: sp.Expr    # the root of h at rho = 0 (Chinchilla's compute-optimal ln D)


@lru_cache(maxsize=1)
def budget_model() -> BudgetModel:
    """Derive the budget problem from the law and the objective (cached)."""
    lagrangian = s.law - mu * (s.objective - budget)
    variables = (s.N, s.D)
    kkt = (
        sp.Eq(sp.diff(s.law, variables[0]), mu * sp.diff(s.objective, variables[0])),
        sp.Eq(sp.diff(s.law, variables[1]), mu * sp.diff(s.objective, variables[1])),
        sp.Eq(s.objective, budget),
    )
    mu_solution = sp.solve(kkt[1], mu)[0]
    in_p = kkt[0].subs(mu, mu_solution).subs(s.N, (s.A / s.P) ** (1 / s.alpha))
    param_term = sp.factor(sp.solve(in_p, s.P)[0].subs(s.k_inf, s.rho * s.k_train))
    params_of_budget = sp.factor(sp.solve(kkt[2], s.N)[0].subs(s.k_inf, s.rho * s.k_train))
    # At the optimum A/N**alpha equals the Eq. 11 term; with N from the constraint that is one equation in D.
    balance = sp.log(s.A * params_of_budget ** (-s.alpha)) - sp.log(param_term)
    reduced_log = sp.expand_log(balance.subs(s.D, sp.exp(s.x)), force=True)
    slope = sp.simplify(sp.diff(reduced_log, s.x))
    curvature = sp.factor(sp.diff(reduced_log, s.x, 2))
    start = sp.solve(sp.expand_log(reduced_log.subs(s.rho, 0), force=True), s.x)[0]
    start = sp.expand_log(start, force=True)
    return BudgetModel(lagrangian, kkt, mu_solution, param_term, params_of_budget, reduced_log, slope, curvature,
                       start)


def budget_derivation() -> list[tuple[str, object]]:
    """The budget problem's Lagrangian, KKT system and reduction, as (label, sympy expr) for `derive`."""
    m = budget_model()
    return [
        ("Budget problem: minimise L(N, D) subject to", sp.Eq(s.objective, budget)),
        ("Lagrangian (mu: multiplier of the budget)", m.lagrangian),
        ("KKT: stationarity in N", m.kkt[0]),
        ("KKT: stationarity in D", m.kkt[1]),
        ("KKT: the budget constraint", m.kkt[2]),
        ("mu from the D-equation", sp.Eq(mu, m.mu_solution)),
        ("Eliminating mu: A/N**alpha at the optimum (the same relation as Eq. 11)",
         sp.Eq(s.A / s.N**s.alpha, m.param_term)),
        ("N from the budget constraint (rho = k_inf/k_train)", sp.Eq(s.N, m.params_of_budget)),
        ("Reduced equation h(x) = 0 in x = ln D", sp.Eq(m.reduced_log, 0)),
        ("dh/dx (positive: exactly one root)", m.reduced_log_slope),
        ("d2h/dx2 (sign of alpha - 1: Newton converges monotonically)", m.reduced_log_curvature),
        ("Root at rho = 0 (Chinchilla's compute-optimal ln D)", sp.Eq(s.x, m.start_log_tokens)),
    ]


# --- the path of optima (for the smallest meaningful budget) -----------------------------------
@dataclass(frozen=True)
class PathModel:
    """Along the optima of Eq. 11: ln N and the lifetime budget as functions of x = ln D."""

    log_params: sp.Expr          # ln N*(x)
    log_params_slope: sp.Expr    # d ln N*/dx (positive)
    log_budget: sp.Expr          # ln(k_train*N*(D + rho)) along the path


@lru_cache(maxsize=1)
def path_model() -> PathModel:
    """ln N and ln budget along the optimal path, derived from Eq. 11 and the objective."""
    n_of_d = s.derive().params_of_tokens
    log_params = sp.expand_log(sp.log(n_of_d.subs(s.D, sp.exp(s.x))), force=True)
    cost = s.objective.subs(s.k_inf, s.rho * s.k_train).subs(s.N, n_of_d).subs(s.D, sp.exp(s.x))
    log_budget = sp.expand_log(sp.log(sp.factor(cost)), force=True)
    return PathModel(log_params, sp.simplify(sp.diff(log_params, s.x)), log_budget)


# --- the overhead of a smaller (or larger) model ---------------------------------------------
@dataclass(frozen=True)
class OverheadModel:
    """A model of k times the Chinchilla size at the same loss: its data, compute and the critical k."""

    chinchilla_params: sp.Expr   # N_c(gap)
    chinchilla_tokens: sp.Expr   # D_c(gap)
    tokens: sp.Expr              # D_k(gap): the data that brings k*N_c to the same loss
    log_token_ratio: sp.Expr     # ln(D_k/D_c): depends on k, alpha, beta only
    log_compute_ratio: sp.Expr   # ln(k*D_k/D_c): training compute relative to Chinchilla's
    overhead: sp.Expr            # k*D_k/D_c - 1
    min_params: sp.Expr          # N reaching the loss with infinite data
    critical_fraction: sp.Expr   # k at which D_k diverges


@lru_cache(maxsize=1)
def overhead_model() -> OverheadModel:
    """Derive the data and compute overhead of a model k times the Chinchilla size."""
    ch = s.chinchilla()
    n_c, d_c = _at_gap(ch.params_of_loss), _at_gap(ch.tokens_of_loss)
    target = s.E + gap
    tokens = sp.solve(sp.Eq(s.law.subs(s.N, fraction * n_c), target), s.D)[0]
    log_token_ratio = sp.simplify(sp.expand_log(sp.log(tokens) - sp.log(d_c), force=True))
    log_compute_ratio = sp.log(fraction) + log_token_ratio
    infinite_data = sp.limit(s.law, s.D, sp.oo)
    min_params = sp.solve(sp.Eq(infinite_data, target), s.N)[0]
    critical = sp.solve(sp.Eq(infinite_data.subs(s.N, fraction * n_c), target), fraction)[0]
    overhead = sp.exp(log_compute_ratio) - 1
    return OverheadModel(n_c, d_c, tokens, log_token_ratio, log_compute_ratio, overhead, min_params,
                         sp.simplify(critical))


def overhead_derivation() -> list[tuple[str, object]]:
    """The overhead question, as (label, sympy expr) for `derive`."""
    m = overhead_model()
    return [
        ("Chinchilla-optimal params at loss = E + gap", sp.Eq(N_c, m.chinchilla_params)),
        ("Chinchilla-optimal tokens at loss = E + gap", sp.Eq(D_c, m.chinchilla_tokens)),
        ("Tokens that bring k*N_c to the same loss", sp.Eq(s.D, m.tokens)),
        ("ln(D_k/D_c) (independent of the loss)", m.log_token_ratio),
        ("Training compute overhead k*D_k/D_c - 1", m.overhead),
        ("Smallest model reaching the loss with unlimited data", sp.Eq(s.N, m.min_params)),
        ("Critical fraction k_crit = N_min/N_c (D_k diverges)", sp.Eq(fraction, m.critical_fraction)),
    ]


# --- break-even demand ------------------------------------------------------------------------
@dataclass(frozen=True)
class BreakevenModel:
    """Demand at which the optimum has a given size; the saving of an allocation and its supremum."""

    rho_of_size_ratio: sp.Expr   # rho at which N* = k*N_c (closed form from Eq. 11)
    log_rho_of_size_ratio: sp.Expr
    saving: sp.Expr              # 1 - cost(N, D)/cost(N_c, D_c) at weight ratio rho
    saving_log_slope: sp.Expr    # d saving/d ln rho at the optimum (envelope: allocation held fixed)
    max_saving: sp.Expr          # the supremum of the saving over all demand (rho -> oo)


@lru_cache(maxsize=1)
def breakeven_model() -> BreakevenModel:
    """Derive the closed-form size-ratio break-even and the saving of an allocation."""
    over = overhead_model()
    n_k, d_k = fraction * over.chinchilla_params, over.tokens
    eq11 = sp.Eq(s.A * n_k ** (-s.alpha), s.derive().param_term.subs(s.D, d_k))
    rho_k = sp.powdenest(sp.solve(eq11, s.rho)[0], force=True)
    per_token = sp.factor(sp.simplify(rho_k / d_k))
    rho_k = per_token * d_k
    # Both factors of rho/D_k are positive for k_crit < k < 1; expanded, neither log splits into a sign.
    numerator, denominator = (sp.expand(part) for part in sp.fraction(per_token))
    log_rho_k = sp.expand_log(sp.log(d_k), force=True) + sp.log(numerator) - sp.log(denominator)
    cost = s.objective.subs(s.k_inf, s.rho * s.k_train)
    saving = sp.simplify(1 - cost / cost.subs({s.N: N_c, s.D: D_c}))
    # Envelope theorem: at the optimum a first-order change of (N, D) along L = loss leaves the cost fixed,
    # so the derivative in rho is the partial derivative with the allocation held.
    slope = sp.simplify(s.rho * sp.diff(saving, s.rho))
    limit_ratio = sp.limit(cost / cost.subs({s.N: N_c, s.D: D_c}), s.rho, sp.oo)
    limit_ratio = limit_ratio.subs({s.N: over.min_params, N_c: over.chinchilla_params})
    max_saving = 1 - sp.powsimp(sp.cancel(sp.powsimp(limit_ratio, force=True)), force=True)
    return BreakevenModel(rho_k, log_rho_k, saving, slope, max_saving)


def breakeven_derivation() -> list[tuple[str, object]]:
    """The break-even question, as (label, sympy expr) for `derive`."""
    m = breakeven_model()
    return [
        ("rho at which the optimum has k*N_c params (Eq. 11 solved for rho)", sp.Eq(s.rho, m.rho_of_size_ratio)),
        ("Saving of the allocation (N, D) over (N_c, D_c) at weight ratio rho", m.saving),
        ("d saving / d ln rho at the optimum (envelope theorem)", m.saving_log_slope),
        ("Largest saving (rho -> oo, N* -> N_min)", m.max_saving),
    ]


# --- sensitivities by the implicit function theorem ------------------------------------------
@dataclass(frozen=True)
class SensitivityModel:
    """The scaled KKT residual F(ln N, ln D, w; theta) and its derivatives."""

    residual: tuple              # three expressions in N, D, w (lam = -exp(w)), each scaled to O(1)
    jacobian: sp.Matrix          # dF/d(ln N, ln D, w)
    parameters: sp.Matrix        # dF/d theta, theta = (alpha, beta, A, B, E, ln k_inf)
    log_multiplier: sp.Expr      # w = ln(-lam) at a point satisfying the D-equation


@lru_cache(maxsize=1)
def sensitivity_model() -> SensitivityModel:
    """Differentiate the KKT system (paper Eq. 10) for the implicit function theorem."""
    model = s.derive()
    lam_value = -sp.exp(w)
    # Stationarity rows divided by their objective side (nonzero), so each reads 1 - (...) and is O(1);
    # at a root, scaling rows by nonzero factors leaves the implicit derivatives unchanged.
    stationarity = tuple(1 - sp.expand(eq.rhs.subs(s.lam, lam_value) / eq.lhs) for eq in model.kkt[:2])
    residual = (*stationarity, model.kkt[2].lhs - model.kkt[2].rhs)
    columns = [s.N * sp.diff(f, s.N) for f in residual], [s.D * sp.diff(f, s.D) for f in residual], \
        [sp.diff(f, w) for f in residual]
    jacobian = sp.Matrix(columns).T
    by_theta = [[sp.diff(f, t) for t in s.COEFFICIENTS] + [s.k_inf * sp.diff(f, s.k_inf)] for f in residual]
    log_multiplier = sp.expand_log(sp.log(-model.lam_solution), force=True)
    return SensitivityModel(residual, sp.simplify(jacobian), sp.Matrix(by_theta), log_multiplier)


PROBLEMS = {
    "budget": budget_derivation,
    "overhead": overhead_derivation,
    "breakeven": breakeven_derivation,
}
"""Derivations `derive --problem NAME` can show: each returns a list of (label, sympy expr)."""
