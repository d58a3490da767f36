"""The proof's steps evaluated at numbers: the symbols replaced by the inputs, each step's test re-run there.

For every step of :mod:`symscale.verify.proof` this gives the lines shown beside the symbols (``numbers``),
the step's test at the inputs (``check``) and, for a step that fails or is imprecise, the reason
with numbers (``reason``): the counterexample to 'c > 0', two roots or none for a negative ``a``,
the Galois group of the beta = 1/4 instance.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import sympy as sp

from symscale.problems import chinchilla as S
from symscale.verify.proof import TOLERANCE, Check, Inputs, Step, num

DIGITS = 6


def evaluate(step: Step, inputs: Inputs) -> dict:
    """numbers, check and reason of one step at the inputs (the fields :class:`proof.Step` carries)."""
    handler = _HANDLERS.get(step.id, _equations)
    return handler(step, inputs)


# --- helpers -----------------------------------------------------------------------------------
def _put(expr: Any, values: dict) -> Any:
    """The expression with the numbers put in, rounded for reading."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: _put(e, values))
    return sp.sympify(expr).subs(values).evalf(DIGITS)


def _value(expr: Any, values: dict) -> float:
    return float(sp.sympify(expr).subs(values).evalf(30))


def _scale(expr: Any, values: dict) -> float:
    """Size of an expression's terms (so that a residual of an equation '... = 0' is measured against them)."""
    expr = sp.sympify(expr)
    terms = expr.args if isinstance(expr, sp.Add) else (expr,)
    return sum(abs(_value(term, values)) for term in terms)


def _residual(eq: sp.Equality, values: dict) -> float:
    """|lhs - rhs| relative to the size of the terms on both sides."""
    scale = _scale(eq.lhs, values) + _scale(eq.rhs, values)
    return 0.0 if scale == 0 else abs(_value(eq.lhs, values) - _value(eq.rhs, values)) / scale


def _relative(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def _parts(obj: Any) -> list[tuple[str, Any]]:
    """(label, expression or equation) pairs of a step's derived object."""
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (tuple, list)):
        return [(f"({i})", o) for i, o in enumerate(obj, start=1)]
    if isinstance(obj, sp.MatrixBase):
        return [(f"[{i}]", e) for i, e in enumerate(obj, start=1)]
    return [("", obj)]


def _point_line(point: dict) -> str:
    return f"at the optimum N* = {num(point[S.N])}, D* = {num(point[S.D])}, lambda* = {num(point[S.lam])}:"


def _substituted(step: Step, values: dict) -> list[str]:
    """The derived object with the coefficients, loss and demand put in."""
    lines = []
    for label, part in _parts(step.derived):
        shown = (f"{sp.sstr(_put(part.lhs, values))} = {sp.sstr(_put(part.rhs, values))}"
                 if isinstance(part, sp.Equality) else sp.sstr(_put(part, values)))
        lines.append(re.sub(r"e\+(\d+)", r"e\1", f"{label + ' ' if label else ''}{shown}"))
    return lines


def _unreachable(inputs: Inputs) -> str:
    return (f"no optimum: loss {num(inputs.loss)} is not above E = {num(inputs.coefficients.E)} "
            "(the law cannot reach it)")


# --- Eqs. 7-12: the equations hold at the solver's optimum and agree with the printed forms ----
def _equations(step: Step, inputs: Inputs) -> dict:
    values = inputs.values()
    numbers = _substituted(step, values)
    point = inputs.optimum()
    if point is None:
        return {"numbers": tuple(numbers), "check": Check(None, (_unreachable(inputs),))}
    at = {**values, **point}
    numbers.append(_point_line(point))
    worst, lines = 0.0, []  # the larger of the equations' residuals and the derived-vs-printed differences
    derived, paper = _parts(step.derived), _parts(step.paper) if step.paper is not None else []
    for (label, part), (_, printed) in zip(derived, paper or [(None, None)] * len(derived)):
        if isinstance(part, sp.Equality):
            lhs, rhs = _value(part.lhs, at), _value(part.rhs, at)
            residual = _residual(part, at)
            worst = max(worst, residual)
            numbers.append(f"  {label + ' ' if label else ''}{num(lhs)} = {num(rhs)} (relative residual "
                           f"{residual:.1e})")
            if printed is not None:
                worst = max(worst, abs(lhs - _value(printed.lhs, at)) / (_scale(part.lhs, at) or 1.0),
                            abs(rhs - _value(printed.rhs, at)) / (_scale(part.rhs, at) or 1.0))
        else:
            mine = _value(part, at)
            numbers.append(f"  {label + ' ' if label else ''}{num(mine)}")
            if printed is not None:
                theirs = _value(printed, at)
                worst = max(worst, _relative(mine, theirs))
    ok = worst < TOLERANCE
    lines.append(f"derived and printed forms agree and every equation holds at the optimum: largest relative "
                 f"difference {worst:.1e} (tolerance {TOLERANCE:g})" if ok else
                 f"largest relative difference {worst:.1e} exceeds {TOLERANCE:g} at the optimum")
    return {"numbers": tuple(numbers), "check": Check(ok, tuple(lines))}


# --- Appendix A's numeric form and its claims -------------------------------------------------
def _coefficients_of_form(inputs: Inputs) -> dict:
    """a, k and c of a x^(-beta-1) + k x^(-beta) + c = 0 at the inputs."""
    model, values = S.derive(), inputs.values()
    return {"a": _value(S.compute_instance(model.reduced_k2), values),
            "k": _value(S.compute_instance(model.reduced_k1), values),
            "c": inputs.coefficients.E - inputs.loss}


@lru_cache(maxsize=1)
def _general_peak() -> tuple:
    """Eq. 12 with rho -> a real r, and the D where its slope vanishes (linear in D once times D^(beta+2))."""
    model, r = S.derive(), sp.Symbol("r", real=True)
    g = model.reduced.subs(S.rho, r)
    slope = sp.expand(sp.powsimp(sp.expand(sp.diff(g, S.D) * S.D ** (S.beta + 2)), force=True))
    return r, g, sp.solve(slope, S.D)[0]


def _form_peak(inputs: Inputs, a: float) -> tuple[float, float]:
    """(D, g(D)) at the top of Eq. 12's left side when the demand is chosen so that its D^(-beta-1) coefficient is a."""
    r, g, peak = _general_peak()
    values = {key: value for key, value in inputs.values().items() if key != S.rho}
    rho_for_a = sp.solve(sp.Eq(S.derive().reduced_k2.subs(S.rho, r).subs(values), a), r)[0]
    at = {**values, r: rho_for_a}
    x = float(peak.subs(at))
    return x, float(g.subs(at).subs(S.D, x))


def _numeric_form(step: Step, inputs: Inputs) -> dict:
    f = _coefficients_of_form(inputs)
    beta = inputs.coefficients.beta
    numbers = (f"a = beta*B*D_inf/(3*alpha) = {num(f['a'])}", f"k = beta*B/alpha + B = {num(f['k'])}",
               f"c = E - loss = {num(f['c'])}",
               f"{num(f['a'])}*x^{num(-beta - 1, 4)} + {num(f['k'])}*x^{num(-beta, 4)} + ({num(f['c'])}) = 0")
    paper_k = step.extra["coefficient"]
    lines = (f"with the Appendix A constants k = {paper_k:.4f}, printed as 756.6 "
             f"({'agrees' if round(paper_k, 1) == 756.6 else 'disagrees'} to 4 digits); at the inputs k = "
             f"{num(f['k'])}",)
    return {"numbers": numbers, "check": Check(step.holds, lines)}


def _claim_a(step: Step, inputs: Inputs) -> dict:
    f = _coefficients_of_form(inputs)
    numbers = (f"a = {num(f['a'])} at {num(inputs.inference_tokens)} inference tokens (a >= 0 for every D_inf >= 0)",)
    check = Check(f["a"] >= 0, (f"a = {num(f['a'])} >= 0: the equation's family has a >= 0",))
    return {"numbers": numbers, "check": check, "reason": _negative_a(inputs, f)}


def _peak(inputs: Inputs, a: float) -> tuple[float, float, int]:
    """(x, g(x), roots) at the top of Eq. 12's left side when its D^(-beta-1) coefficient is a < 0."""
    peak, top = _form_peak(inputs, a)
    return peak, top, 2 if top > 0 else (1 if top == 0 else 0)


def _roots_words(a: float, peak: float, top: float, roots: int) -> str:
    return (f"with a = {num(a)} it rises to {num(top)} at x = {num(peak)} and has {roots} positive "
            f"root{'s' if roots != 1 else ''}")


def _negative_a(inputs: Inputs, f: dict) -> str:
    """The counterexample: with a < 0 the left side rises from -inf and falls back to c, so two roots or none."""
    a = -(f["a"] if f["a"] > 0 else 1.0)
    cases = [(a, *_peak(inputs, a))]
    while cases[-1][3] == 0 and len(cases) < 40:      # shrink |a| until the top is above zero: two roots
        smaller = cases[-1][0] / 10
        cases.append((smaller, *_peak(inputs, smaller)))
    shown = [cases[0]] + ([cases[-1]] if len(cases) > 1 else [])
    return (f"'for arbitrary a' includes a < 0, which Eq. 12 never produces (a = beta*B*D_inf/(3*alpha) = "
            f"{num(f['a'])} >= 0). For a < 0 the left side tends to -inf as x -> 0+ and to c = {num(f['c'])} as "
            f"x -> inf, so it is not monotone and there is not exactly one root (k = {num(f['k'])}): "
            + "; ".join(_roots_words(*case) for case in shown) + ".")


def _claim_c(step: Step, inputs: Inputs) -> dict:
    c = inputs.coefficients.E - inputs.loss
    numbers = (f"c = E - loss = {num(inputs.coefficients.E)} - {num(inputs.loss)} = {num(c)}",)
    point = inputs.optimum()
    if point is None:
        reason = (f"At these inputs c = {num(c)} >= 0, but then loss {num(inputs.loss)} <= E: every term of Eq. 12 "
                  "is positive for D > 0 and there is no root, no model reaches the loss. So c > 0 never describes "
                  "a problem with a solution.")
        return {"numbers": numbers, "check": Check(False, (f"c = {num(c)} >= 0 and the loss is unreachable",)),
                "reason": reason}
    d = point[S.D]
    reason = (f"Counterexample to 'c > 0': at loss {num(inputs.loss)} (E = {num(inputs.coefficients.E)}) the optimum "
              f"exists (N* = {num(point[S.N])}, D* = {num(d)}) and c = E - loss = {num(c)} < 0. It has to be: loss - E "
              f"= A/N^alpha + B/D^beta > 0 at every finite N, D. With c > 0 all three terms would be positive and "
              "Eq. 12 would have no root.")
    check = Check(False, (f"c = {num(c)} < 0 at a reachable loss: 'c > 0' is false",))
    return {"numbers": numbers, "check": check, "reason": reason}


def _root(step: Step, inputs: Inputs) -> dict:
    import numpy as np

    f = _coefficients_of_form(inputs)
    beta = inputs.coefficients.beta
    grid = np.geomspace(1.0, 1e30, 301)
    g_of = sp.lambdify(S.D, S.compute_instance(S.derive().reduced).subs(inputs.values()), "numpy")
    g = g_of(grid)
    changes = int(np.sum(np.diff(np.sign(g)) != 0))
    decreasing = bool(np.all(np.diff(g) < 0))
    numbers = [f"g(D) = {num(f['c'])} + {num(f['k'])}*D^{num(-beta, 4)} + {num(f['a'])}*D^{num(-beta - 1, 4)}",
               f"g(1) = {num(g[0])}, g(1e30) = {num(g[-1])} (-> c = {num(f['c'])})"]
    point = inputs.optimum()
    if point is not None:
        d = float(point[S.D])
        g_star = float(g_of(d))
        numbers.append(f"g(D*) = {g_star:.2e} at D* = {num(d)} (relative to |c|: {abs(g_star / f['c']):.1e})")
    expected = 1 if inputs.reachable else 0
    ok = decreasing and changes == expected
    line = (f"g decreases on [1, 1e30] and changes sign {changes} time{'s' if changes != 1 else ''} "
            f"({'one root' if expected else 'no root'}, as loss {'>' if inputs.reachable else '<='} E)")
    return {"numbers": tuple(numbers), "check": Check(ok, (line,))}


def _minimum(step: Step, inputs: Inputs) -> dict:
    from symscale.solvers.solve import solve_compute_optimal
    from symscale.verify.chinchilla import verify_compute_solution
    from symscale.verify.proof import bordered_determinant

    point = inputs.optimum()
    if point is None:
        return {"numbers": (), "check": Check(None, (_unreachable(inputs),))}
    det = _value(bordered_determinant(), {**inputs.values(), **point})
    solution = solve_compute_optimal(inputs.loss, inputs.inference_tokens, inputs.coefficients)
    second = verify_compute_solution(solution, inputs.coefficients, dps=30)["second_order"]
    rises = second["objective_rises_both_sides"]
    numbers = (_point_line(point), f"  bordered Hessian determinant = {num(det)} (< 0)",
               f"  objective along the constraint rises on both sides (mpmath, 30 digits): {'yes' if rises else 'no'}")
    ok = det < 0 and bool(second["ok"])
    return {"numbers": numbers, "check": Check(ok, (f"determinant {num(det)} < 0 and the objective rises on both "
                                                    f"sides: {'yes' if ok else 'no'}",))}


def _chinchilla(step: Step, inputs: Inputs) -> dict:
    from symscale.solvers.solve import solve_compute_optimal

    values = inputs.values()
    if not inputs.reachable:
        return {"numbers": (), "check": Check(None, (_unreachable(inputs),))}
    d_loss = _value(step.derived["D*(loss)"], values)
    sol = solve_compute_optimal(inputs.loss, 0.0, inputs.coefficients)
    n, d = float(sol.params), float(sol.tokens)
    budget = 6 * n * d
    n_c = _value(step.paper["N_opt(C)"], {**values, S.C: budget})
    d_c = _value(step.paper["D_opt(C)"], {**values, S.C: budget})
    worst = max(_relative(d_loss, d), _relative(n_c, n), _relative(d_c, d))
    numbers = (f"D*(loss {num(inputs.loss)}) = {num(d_loss)}; the solver with no inference: N = {num(n)}, D = {num(d)}",
               f"Hoffmann et al. at C = 6ND = {num(budget)} FLOPs: N_opt = {num(n_c)}, D_opt = {num(d_c)}")
    ok = worst < TOLERANCE
    return {"numbers": numbers, "check": Check(ok, (f"closed forms and solver agree to {worst:.1e} (relative)",))}


def _theorem(step: Step, inputs: Inputs) -> dict:
    rows = step.extra["instances"]
    numbers = tuple(step.derived)
    quartic = [b for b, r in rows.items() if r["solvable"]]
    digits = ", ".join(f"beta = {b}: {r['radical_digits']:.0f} digits" for b, r in rows.items()
                       if r["radical_digits"] is not None)
    unsolvable = [f"beta = {b} (degree {r['degree']}, group {r['group']})" for b, r in rows.items()
                  if r["solvable"] is False]
    lines = (f"radical roots agree with mpmath ({digits}); not solvable in radicals: "
             f"{', '.join(unsolvable) or 'none'}",)
    reason = (f"At these inputs the betas {', '.join(quartic)} give equations solvable in radicals, and "
              f"{', '.join(unsolvable) or 'no instance'} has a Galois group that is not solvable, so no formula in "
              "radicals covers every beta: true for 'analytic' read as 'in radicals'. Imprecise because D* is an "
              "analytic function of the inputs (implicit function theorem), the paper gives no argument, and its own "
              "beta = 0.283 (degree 1283) is not decided.")
    return {"numbers": numbers, "check": Check(step.holds and bool(unsolvable), lines), "reason": reason}


_HANDLERS = {"numeric-form": _numeric_form, "claim-a": _claim_a, "claim-c": _claim_c, "root": _root,
             "minimum": _minimum, "chinchilla-limit": _chinchilla, "theorem": _theorem}
