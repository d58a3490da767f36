"""The lifetime problem of any law, derived by sympy, and the expressions its numeric kernels are made of.

minimise k_train*N*D + k_inf*N subject to L(N, D) = loss. With the elasticities a_N = -N dL/dN and
a_D = -D dL/dD, eliminating the multiplier from the KKT system leaves D*a_N = (D + rho)*a_D
(rho = k_inf/k_train), which for Chinchilla's law is the paper's Eq. 11. The numeric system, in
y = ln N and x = ln D, is F1 = L - loss and F2 = ln a_N - ln a_D + ln D - ln(D + rho).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symscale.base.errors import InputError
from symscale.laws.law import Law

N, D = sp.symbols("N D", positive=True)
loss = sp.Symbol("loss", positive=True)
rho = sp.Symbol("rho", nonnegative=True)
lam = sp.Symbol("lambda", real=True)
k_train, k_inf = sp.symbols("k_train k_inf", positive=True)


@dataclass(frozen=True)
class Problem:
    """The symbolic pieces of the lifetime problem of one law."""

    law: Law
    coefficients: tuple        # sympy symbols, in the law's order
    expr: sp.Expr              # L(N, D)
    lagrangian: sp.Expr
    kkt: tuple                 # three sympy Eq: stationarity in N, in D, and the constraint
    a_N: sp.Expr               # -N dL/dN
    a_D: sp.Expr               # -D dL/dD
    eliminated: sp.Eq          # D*a_N = (D + rho)*a_D
    residual: tuple            # (F1, F2)
    jacobian: tuple            # dF/d(ln N, ln D), row-major
    along_curve: sp.Expr       # dF2/d ln D along L = loss: > 0 at a minimum

    @property
    def arguments(self) -> tuple:
        return (N, D, loss, rho, *self.coefficients)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Cancel N*N**-a-1 style products (cheap; simplify() may take long on a user's law)."""
    return sp.powsimp(sp.expand(expr))


def _log_derivative(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """d expr / d ln(var)."""
    return var * sp.diff(expr, var)


@lru_cache(maxsize=32)
def derive(law: Law) -> Problem:
    """Derive the lifetime problem of ``law`` (cached per law)."""
    expr = law.expr.subs({sp.Symbol("N", positive=True): N, sp.Symbol("D", positive=True): D})
    if expr.has(sp.Symbol("U", positive=True)) and "U" not in law.names:
        raise InputError(f"law {law.name} uses U (unique tokens): this command does not take it yet; "
                         "use `symscale solve --unique-tokens U`, `calc`, `unique-tokens` or `derive`")
    coefficients = tuple(sp.Symbol(name, positive=True) for name in law.names)
    objective = k_train * N * D + k_inf * N
    lagrangian = objective - lam * (expr - loss)
    kkt = (sp.Eq(sp.diff(objective, N), lam * sp.diff(expr, N)),
           sp.Eq(sp.diff(objective, D), lam * sp.diff(expr, D)),
           sp.Eq(expr, loss))
    a_N = _tidy(-_log_derivative(expr, N))
    a_D = _tidy(-_log_derivative(expr, D))
    f1 = expr - loss
    f2 = sp.log(a_N) - sp.log(a_D) + sp.log(D) - sp.log(D + rho)
    jac = tuple(_log_derivative(f, v) for f in (f1, f2) for v in (N, D))
    slope = -a_D / a_N                                   # d ln N / d ln D on the curve
    along = jac[3] + slope * jac[2]
    return Problem(law, coefficients, expr, lagrangian, kkt, a_N, a_D, sp.Eq(D * a_N, (D + rho) * a_D),
                   (f1, f2), jac, along)


def kernel_outputs(law: Law) -> dict[str, tuple[tuple, list]]:
    """name -> (argument symbols, output expressions) of every numeric kernel of ``law``.

    One definition for both the committed modules of built-in laws (``python -m symscale.codegen``)
    and the run-time lambdify of custom laws (:func:`symscale.kernels.generic.lambdified`).
    """
    p = derive(law)
    cs = p.coefficients
    return {
        "loss": ((N, D, *cs), [p.expr]),
        "elasticities": ((N, D, *cs), [p.a_N, p.a_D]),
        "system": (p.arguments, [*p.residual, *p.jacobian]),
        "along_curve": (p.arguments, [p.along_curve]),
    }


D_inf = sp.Symbol("D_inf", nonnegative=True)


def steps(law: Law, objective: str = "compute") -> list[tuple[str, str, object]]:
    """(key, label, sympy object) of the lifetime problem of ``law``, as ``symscale derive --law`` prints them.

    ``objective`` is 'compute' (k_train = 6, k_inf = 2*D_inf, Eq. 3) or 'general' (k_train, k_inf, rho)."""
    p = derive(law)
    subs = {k_train: 6, k_inf: 2 * D_inf, rho: D_inf / 3} if objective == "compute" else {}

    def put(expr):
        if isinstance(expr, tuple):
            return tuple(put(e) for e in expr)
        if isinstance(expr, sp.Eq):
            return sp.Eq(expr.lhs.subs(subs), expr.rhs.subs(subs))
        return expr.subs(subs)

    return [
        ("objective", "Objective", put(k_train * N * D + k_inf * N)),
        ("constraint", f"Constraint (the law {law.name} = loss)", sp.Eq(p.expr, loss)),
        ("lagrangian", "Lagrangian", put(p.lagrangian)),
        ("kkt", "KKT system (grad objective = lambda * grad law, and the constraint)", put(p.kkt)),
        ("elasticities", "Elasticities a_N = -N dL/dN, a_D = -D dL/dD",
         (sp.Eq(sp.Symbol("a_N"), p.a_N), sp.Eq(sp.Symbol("a_D"), p.a_D))),
        ("eliminated", "lambda eliminated (for Chinchilla's law: Eq. 11)", put(p.eliminated)),
        ("system", "Solved numerically in (ln N, ln D): F1 = 0, F2 = 0",
         (sp.Eq(sp.Symbol("F1"), put(p.residual[0])), sp.Eq(sp.Symbol("F2"), put(p.residual[1])))),
        ("second_order", "Second-order condition: dF2/d ln D along the iso-loss curve (checked > 0 at the optimum)",
         sp.Eq(sp.Symbol("dF2_dlnD"), put(p.along_curve))),
    ]


GRID_N = (1e6, 1e14)
GRID_D = (1e8, 1e16)


def check_decreasing(law: Law, values: dict) -> None:
    """Refuse a law that does not fall with N and with D: sympy decides it where it can, else a 32x32 grid does.

    With positive symbols sympy proves a_N = -N dL/dN > 0 for sums of power terms; otherwise the
    elasticities are evaluated with the given values over N in [1e6, 1e14] and D in [1e8, 1e16].
    """
    import numpy as np

    p = derive(law)
    proven = [p.a_N.is_positive, p.a_D.is_positive]
    if all(proven):
        return
    n, d = np.meshgrid(np.geomspace(*GRID_N, 32), np.geomspace(*GRID_D, 32), indexing="ij")
    args, outputs = kernel_outputs(law)["elasticities"]
    elasticities = sp.lambdify(args, outputs, modules="numpy", cse=True)  # this module is below the kernels
    with np.errstate(all="ignore"):
        a_n, a_d = elasticities(n, d, *(float(values[name]) for name in law.names))
    for label, a, known in (("N", np.broadcast_to(a_n, n.shape), proven[0]),
                            ("D", np.broadcast_to(a_d, n.shape), proven[1])):
        if known:
            continue
        bad = ~(np.isfinite(a) & (a > 0))
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise InputError(f"law {law.name} does not decrease in {label} with these coefficients: at "
                             f"N = {n.flat[i]:.3g}, D = {d.flat[i]:.3g} its elasticity -{label} dL/d{label} is "
                             f"{float(a.flat[i]):.3g} (it must be > 0 over N in [1e6, 1e14], D in [1e8, 1e16])")
