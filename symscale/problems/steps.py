"""The labelled steps `symscale derive` prints, each taken from the sympy model (never typed)."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symscale.problems import chinchilla as s


@dataclass(frozen=True)
class Step:
    """One labelled result of the derivation."""

    key: str
    label: str
    expr: object   # a sympy Expr, Eq, Matrix or tuple of Eq

    def latex(self) -> str:
        """The expression in LaTeX (several equations joined by commas)."""
        return render(self.expr, "latex").replace("\n", r",\quad ")

    def _repr_latex_(self) -> str:
        return rf"$\displaystyle {self.latex()}$"


class Derivation(list):
    """The derived steps (a list of Step) that display in a notebook as one aligned block of equations."""

    def latex(self) -> str:
        """An ``aligned`` block: one labelled row per step (compiles with amsmath)."""
        rows = [rf"&{tex_text(st.label)} \\ &\quad {st.latex()}" for st in self]
        return "\\begin{aligned}\n" + " \\\\[4pt]\n".join(rows) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$" + self.latex() + "$$"


_MATH_FOR = {"\\": r"\backslash ", "_": r"\_", "^": r"{}^{\wedge}", "&": r"\&", "%": r"\%", "#": r"\#",
             "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\sim ", "<": "<", ">": ">", "*": r"\ast ", "|": r"\vert "}


def tex_text(text: str) -> str:
    """Plain text as math-mode LaTeX: runs of ordinary characters in \\text{...}, the rest as math symbols.

    Safe both for pdflatex and for MathJax (no underscore or caret inside \\text, which only one of them accepts).
    """
    out, run = [], ""
    for ch in str(text):
        if ch in _MATH_FOR:
            out += [rf"\text{{{run}}}"] if run else []
            out.append(_MATH_FOR[ch])
            run = ""
        else:
            run += ch
    out += [rf"\text{{{run}}}"] if run else []
    return "".join(out)


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
        from symscale.problems.planning import PROBLEMS

        raw = [Step(f"{problem}_{i}", label, expr) for i, (label, expr) in enumerate(PROBLEMS[problem]())]
    return Derivation(Step(st.key, st.label, _display(st.key, _specialise_all(st.expr, objective), objective))
                      for st in raw)


def _display(key: str, expr, objective: str):
    """The printed form: Eq. 9 with each power combined, Eq. 12 grouped in powers of D as the paper prints it."""
    if key in ("eq9", "eq10", "bordered_hessian"):
        return combine_powers(expr)
    if key == "eq12":
        return sp.Eq(grouped_reduced(objective), 0)
    return expr


def combine_powers(expr):
    """N*N**alpha written N**(alpha + 1), in an expression, equation, matrix or tuple of equations."""
    if isinstance(expr, tuple):
        return tuple(combine_powers(e) for e in expr)
    if isinstance(expr, sp.Eq):
        return sp.Eq(combine_powers(expr.lhs), combine_powers(expr.rhs))
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: sp.powsimp(e, force=True))
    return sp.powsimp(expr, force=True)


def grouped_reduced(objective: str = "compute") -> sp.Expr:
    """Eq. 12 as (E - loss) + k1*D**-beta + k2*D**(-beta-1), unevaluated so that it prints in that order."""
    m = s.derive()
    k1 = sp.expand(_specialise(m.reduced_k1, objective))
    k2 = _specialise(m.reduced_k2, objective)
    return sp.Add(sp.Add(s.E, -s.loss, evaluate=False), sp.Mul(k1, s.D**-s.beta, evaluate=False),
                  sp.Mul(k2, s.D ** (-s.beta - 1), evaluate=False), evaluate=False)


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
        return s.latex(expr, order="none")
    if fmt == "pretty":
        shown = expr.subs(s.lam, sp.Symbol("lambda", real=True)) if isinstance(expr, sp.Basic) else expr
        return sp.pretty(shown, use_unicode=True, order="none")
    return sp.sstr(expr, order="none")
