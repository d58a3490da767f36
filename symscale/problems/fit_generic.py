"""The fit objective of any law, derived by sympy: the log residual and its derivatives in the fitted parameters.

For runs (N_i, D_i, L_i) the objective is sum_i Huber_delta(r_i), r_i = ln L(N_i, D_i; c(theta)) - ln L_i
(the paper's Eq. 4 for any law). Each coefficient c_k is fitted either as it is (c_k = theta_k) or on a
log scale (c_k = exp(theta_k), which keeps it positive); see :func:`parametrisation`. The residual, its
gradient and the upper triangle of its Hessian in theta are differentiated here and lambdified once per
(law, parametrisation); numeric code never writes a derivative of a law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from symscale.base.errors import InputError
from symscale.laws.law import Law

N, D = sp.symbols("N D", positive=True)
z = sp.Dummy("z", real=True)  # ln of the observed loss (a Dummy: no clash with a coefficient named z)


def exponent_coefficients(law: Law) -> frozenset[str]:
    """Coefficients that occur in an exponent (of a power or inside exp): these are fitted as they are."""
    found: set[str] = set()
    for node in sp.preorder_traversal(law.expr):
        if isinstance(node, sp.Pow):
            found |= {s.name for s in node.exp.free_symbols}
        elif isinstance(node, sp.exp):
            found |= {s.name for s in node.args[0].free_symbols}
    return frozenset(found & set(law.names))


def fit_range(law: Law, name: str, bounds: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """The range a coefficient is fitted in: --bound if given, else its domain; a custom law's scales are positive."""
    if name in bounds:
        return bounds[name]
    c = law.coefficient(name)
    if math.isinf(c.lower) and c.lower < 0 and name not in exponent_coefficients(law):
        return 0.0, c.upper  # a custom law declares no domains: its scales are taken positive
    return max(c.lower, 0.0) if -1e-200 < c.lower < 0 else c.lower, c.upper  # E's domain (-1e-300, inf) is E >= 0


def parametrisation(law: Law, bounds: dict[str, tuple[float, float]] | None = None) -> tuple[bool, ...]:
    """Per coefficient: fitted as ln c (True) or as c (False).

    A scale (a coefficient in no exponent) whose fitting range is positive is fitted as ln c, so it stays
    positive and its wide range (N_c ~ 1e13, A ~ 400) is searched evenly; exponents, and scales allowed
    to reach zero or below by --bound, are fitted as they are, within their range.
    """
    bounds = bounds or {}
    exponents = exponent_coefficients(law)
    return tuple(name not in exponents and fit_range(law, name, bounds)[0] >= 0 for name in law.names)


@dataclass(frozen=True)
class FitProblem:
    """The symbolic fit residual of one law in its fitted parameters."""

    law: Law
    log_scale: tuple[bool, ...]
    theta: tuple[sp.Symbol, ...]      # fitted parameters, in the law's coefficient order
    residual: sp.Expr                 # r = ln L(N, D; c(theta)) - z
    gradient: tuple[sp.Expr, ...]     # dr/dtheta_k
    hessian: tuple[sp.Expr, ...]      # d2r/dtheta_i dtheta_j, i <= j, row by row
    elasticities: tuple[sp.Expr, sp.Expr]  # -d ln L/d ln N, -d ln L/d ln D: > 0 where the law decreases

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the fitted parameters: ln_A for a coefficient fitted on a log scale, else its name."""
        return tuple(t.name for t in self.theta)


def parameter_name(name: str, log_scale: bool) -> str:
    return f"ln_{name}" if log_scale else name


@lru_cache(maxsize=32)
def derive_fit(law: Law, log_scale: tuple[bool, ...]) -> FitProblem:
    """Derive the residual, gradient and Hessian of the fit of ``law`` (cached per parametrisation)."""
    if law.expr.has(sp.Symbol("U", positive=True)):
        raise InputError(f"law {law.name}: fitting a law of U (unique tokens) is not available yet")
    theta = tuple(sp.Dummy(parameter_name(n, s), real=True) for n, s in zip(law.names, log_scale))
    subs = {sp.Symbol(n, positive=True): (sp.exp(t) if s else t) for n, s, t in zip(law.names, log_scale, theta)}
    subs.update({sp.Symbol("N", positive=True): N, sp.Symbol("D", positive=True): D})
    residual = sp.log(law.expr.xreplace(subs)) - z
    gradient = tuple(sp.diff(residual, t) for t in theta)
    hessian = tuple(sp.diff(gradient[i], theta[j]) for i in range(len(theta)) for j in range(i, len(theta)))
    elasticities = (-N * sp.diff(residual, N), -D * sp.diff(residual, D))
    return FitProblem(law, log_scale, theta, residual, gradient, hessian, elasticities)


@dataclass(frozen=True)
class FitKernels:
    """numpy functions of (*theta, N, D, z): r, [r, dr/dtheta...] and [r, dr/dtheta..., d2r (upper)...];
    elasticities of (*theta, N, D)."""

    names: tuple[str, ...]
    residual: object
    first: object
    second: object
    elasticities: object


@lru_cache(maxsize=32)
def fit_kernels(law: Law, log_scale: tuple[bool, ...]) -> FitKernels:
    """Lambdify the fit problem of ``law`` to numpy once per process (common subexpressions shared)."""
    p = derive_fit(law, log_scale)
    args = (*p.theta, N, D, z)
    residual = sp.lambdify(args, p.residual, modules="numpy", cse=True)
    first = sp.lambdify(args, [p.residual, *p.gradient], modules="numpy", cse=True)
    second = sp.lambdify(args, [p.residual, *p.gradient, *p.hessian], modules="numpy", cse=True)
    elasticities = sp.lambdify((*p.theta, N, D), list(p.elasticities), modules="numpy", cse=True)
    return FitKernels(p.names, residual, first, second, elasticities)
