"""The labelled steps `symscale derive` prints, each taken from the sympy model (never typed)."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import symbolic as s


@dataclass(frozen=True)
class Step:
    """One labelled result of the derivation."""

    key: str
    label: str
    expr: object   # a sympy Expr, Eq, Matrix or tuple of Eq


def _specialise(expr, objective: str):
    """Put the chosen objective's weights into a general expression."""
    if objective == "general":
        return expr
    if objective == "compute":
        return s.compute_instance(expr)
    rho_cost = s.COST_WEIGHTS[s.k_inf] / s.COST_WEIGHTS[s.k_train]
    return sp.sympify(expr).subs(s.rho, sp.simplify(rho_cost)).subs(s.COST_WEIGHTS)


def _specialise_all(expr, objective: str):
    if isinstance(expr, tuple):
        return tuple(sp.Eq(_specialise(e.lhs, objective), _specialise(e.rhs, objective)) for e in expr)
    if isinstance(expr, sp.Eq):
        return sp.Eq(_specialise(expr.lhs, objective), _specialise(expr.rhs, objective))
    return _specialise(expr, objective)


def steps(objective: str = "compute", problem: str = "optimum") -> list[Step]:
    """The derived steps of a problem, specialised to an objective (see `derive --help`)."""
    if problem == "optimum":
        raw = _optimum_steps()
    else:
        from .planning_symbolic import PROBLEMS

        raw = [Step(f"{problem}_{i}", label, expr) for i, (label, expr) in enumerate(PROBLEMS[problem]())]
    return [Step(st.key, st.label, _specialise_all(st.expr, objective)) for st in raw]


def _optimum_steps() -> list[Step]:
    """The Lagrangian, Eqs. 8-12, Chinchilla's closed forms and the bordered Hessian, derived."""
    m, ch = s.derive(), s.chinchilla()
    d_chin = sp.Symbol("D_chin", positive=True)
    return [
        Step("objective", "Objective (Eq. 3 / 6 / 7)", m.lagrangian.subs(s.lam, 0)),
        Step("constraint", "Constraint (Eq. 1 = loss)", sp.Eq(s.law, s.loss)),
        Step("lagrangian", "Lagrangian", m.lagrangian),
        Step("eq8", "Eq. 8: gradient of the objective", m.grad_objective),
        Step("eq9", "Eq. 9: gradient of the law", m.grad_law),
        Step("eq10", "Eq. 10: KKT system (grad objective = lambda * grad law, and the constraint)", m.kkt),
        Step("lambda", "lambda from the D-equation of Eq. 10", sp.Eq(s.lam, m.lam_solution)),
        Step("eq11", "Eq. 11: lambda eliminated", sp.Eq(s.A / s.N**s.alpha, m.param_term)),
        Step("eq12", "Eq. 12: reduced equation in D", sp.Eq(m.reduced, 0)),
        Step("params", "N* from Eq. 11", sp.Eq(s.N, m.params_of_tokens)),
        Step("chinchilla_tokens", "Chinchilla limit (no inference): D from loss", sp.Eq(d_chin, ch.tokens_of_loss)),
        Step("chinchilla_params", "Chinchilla: N from D", sp.Eq(s.N, ch.params_of_tokens)),
        Step("chinchilla_compute", "Chinchilla: N and D from training compute C",
             (sp.Eq(s.N, sp.simplify(ch.params_of_compute)), sp.Eq(s.D, sp.simplify(ch.tokens_of_compute)))),
        Step("bordered_hessian", "Bordered Hessian (minimum when its determinant is negative)", m.bordered_hessian),
    ]


def render(expr, fmt: str) -> str:
    """An expression as pretty (unicode), latex or plain text."""
    if isinstance(expr, tuple):
        return "\n".join(render(e, fmt) for e in expr)
    if fmt == "latex":
        return sp.latex(expr)
    if fmt == "pretty":
        return sp.pretty(expr, use_unicode=True)
    return sp.sstr(expr)
