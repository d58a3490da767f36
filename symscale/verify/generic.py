"""High-precision verification of an optimum of any law: mpmath re-solves the sympy system.

The float solver scans and refines in numpy; here the same sympy expressions are lambdified to
mpmath and Newton's method runs in (ln N, ln D) at ``dps`` digits from the float answer, then the
KKT residuals (with lambda from the D-equation), the bordered Hessian and the objective on both
sides along the iso-loss curve are evaluated at that precision. No float code is shared.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from symscale.base.errors import InputError
from symscale.laws.law import Law
from symscale.laws.limits import Limits
from symscale.problems.generic import D, N, derive, k_inf, k_train, lam, loss, rho
from symscale.solvers.data_limited import UNLIMITED, LimitedOptimum, _symbols, regimes

GUARD = 10


@lru_cache(maxsize=32)
def _mp_functions(law: Law) -> dict:
    p = derive(law)
    cs = p.coefficients
    args = (N, D, loss, k_train, k_inf, *cs)
    rho_expr = k_inf / k_train
    residual = [f.subs(rho, rho_expr) for f in p.residual]
    jac = [N * sp.diff(r, N) for r in residual] + [D * sp.diff(r, D) for r in residual]
    lam_of = sp.solve(p.kkt[1], lam)[0]
    kkt = [eq.lhs - eq.rhs for eq in p.kkt]
    g = p.expr - loss
    border = [sp.diff(g, v) for v in (N, D)]
    hess = [[0, *border]] + [[border[i], *[sp.diff(p.lagrangian, vi, vj) for vj in (N, D)]]
                             for i, vi in enumerate((N, D))]

    def mp(expr):
        return sp.lambdify(args, expr, modules="mpmath")

    return {
        "residual": mp(residual), "jacobian": mp([jac[0], jac[2], jac[1], jac[3]]),
        "lam": mp(lam_of), "kkt": sp.lambdify((N, D, lam, loss, k_train, k_inf, *cs), kkt, modules="mpmath"),
        "hessian": sp.lambdify((N, D, lam, loss, k_train, k_inf, *cs), sp.Matrix(hess), modules="mpmath"),
        "loss": sp.lambdify((N, D, *cs), p.expr, modules="mpmath"),
    }


def _newton(fns, y, x, args, dps: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    tol = mpmath.mpf(10) ** -(dps + 2)
    for _ in range(200):
        n, d = mpmath.exp(y), mpmath.exp(x)
        f1, f2 = fns["residual"](n, d, *args)
        j11, j12, j21, j22 = fns["jacobian"](n, d, *args)
        det = j11 * j22 - j12 * j21
        dy = (-f1 * j22 + f2 * j12) / det
        dx = (-f2 * j11 + f1 * j21) / det
        y, x = y + dy, x + dx
        if abs(dy) <= tol * (1 + abs(y)) and abs(dx) <= tol * (1 + abs(x)):
            return y, x
    raise InputError("verification: mpmath Newton did not converge from the float optimum")


def _params_on_curve(fns, x, target, cs, y) -> mpmath.mpf:
    """ln N with L(N, e^x) = loss, by mpmath's root finder from y."""
    return mpmath.findroot(lambda t: fns["loss"](mpmath.exp(t), mpmath.exp(x), *cs) - target, y)


def verify_law_optimum(law: Law, values: dict, loss_value, k_train_value, k_inf_value, params, tokens,
                       dps: int = 50, min_digits: float = 12.0) -> dict:
    """Verify one float optimum of any law; the result has the keys of
    :func:`symscale.verify.chinchilla.verify_optimum`."""
    fns = _mp_functions(law)
    with mpmath.workdps(int(dps) + GUARD):
        cs = [mpmath.mpf(float(values[name])) for name in law.names]
        target, kt, ki = (mpmath.mpf(float(v)) for v in (loss_value, k_train_value, k_inf_value))
        args = (target, kt, ki, *cs)
        y, x = _newton(fns, mpmath.log(mpmath.mpf(float(params))),
                       mpmath.log(mpmath.mpf(float(tokens))), args, int(dps))
        n, d = mpmath.exp(y), mpmath.exp(x)
        lam_value = fns["lam"](n, d, *args)
        absolute = [abs(r) for r in fns["kkt"](n, d, lam_value, target, kt, ki, *cs)]
        scales = [abs(kt * d + ki), abs(kt * n), abs(target)]
        relative = [a / s for a, s in zip(absolute, scales)]
        nf, df = mpmath.mpf(float(params)), mpmath.mpf(float(tokens))
        lam_float = fns["lam"](nf, df, *args)
        float_relative = [abs(r) / s for r, s in zip(fns["kkt"](nf, df, lam_float, target, kt, ki, *cs), scales)]
        det = mpmath.det(fns["hessian"](n, d, lam_value, target, kt, ki, *cs))
        rises = _rises_both_sides(fns, x, y, target, kt, ki, cs)
        digits = {"params": _digits(params, n, dps), "tokens": _digits(tokens, d, dps)}
        result = {
            "dps": int(dps), "law": law.name, "digits": digits,
            "kkt_residual": float(max(absolute)), "kkt_residual_relative": float(max(relative)),
            "kkt_residuals": {name: float(r) for name, r in zip(("eq10a", "eq10b", "eq10c"), absolute)},
            "float_kkt_residual_relative": float(max(float_relative)),
            "second_order": {"bordered_hessian_sign": int(mpmath.sign(det)), "objective_rises_both_sides": rises,
                             "ok": bool(det < 0 and rises)},
            "in_bracket": True,
            "params_precise": mpmath.nstr(n, int(dps)), "tokens_precise": mpmath.nstr(d, int(dps)),
        }
    failures = [f"{key}: only {value:g} agreeing digits (< {min_digits:g})"
                for key, value in digits.items() if value < min_digits]
    if not result["kkt_residual_relative"] <= 10.0 ** (1 - int(dps)):
        failures.append(f"KKT relative residual {result['kkt_residual_relative']:.2e} above 1e{1 - int(dps)}")
    if not result["second_order"]["ok"]:
        failures.append("second-order check: not a constrained minimum")
    result["ok"], result["failures"] = not failures, failures
    return result


def _rises_both_sides(fns, x, y, target, kt, ki, cs) -> bool:
    """The lifetime objective is higher a little to either side of the optimum along L = loss."""
    def objective(xx):
        yy = _params_on_curve(fns, xx, target, cs, y)
        return kt * mpmath.exp(yy + xx) + ki * mpmath.exp(yy)

    h = mpmath.mpf(10) ** -(mpmath.mp.dps // 4)
    centre = objective(x)
    return bool(objective(x - h) > centre and objective(x + h) > centre)


def _digits(approx, exact, dps: int) -> float:
    error = abs(mpmath.mpf(float(approx)) - exact) / abs(exact)
    if error == 0:
        return float(dps)
    return round(max(0.0, min(float(dps), float(-mpmath.log10(error)))), 2)


def verify_law_batch(loss, inference_tokens, coefficients, dps: int = 50, min_digits: float = 12.0) -> list[dict]:
    """Solve compute-objective scenarios of any law with the generic float solver and verify each with mpmath.

    ``coefficients`` is a LawCoefficients; the rows have the keys of :func:`symscale.verify.chinchilla.verify_batch`."""
    import numpy as np

    from symscale.solvers.generic import solve_law

    law, values = coefficients.law, coefficients.values
    loss, demand = np.broadcast_arrays(np.atleast_1d(np.asarray(loss, float)),
                                       np.atleast_1d(np.asarray(inference_tokens, float)))
    if law.uses_unique_tokens:
        return [_verify_limited_row(law, values, float(a), float(b), dps, min_digits) for a, b in zip(loss, demand)]
    solved = solve_law(law, values, loss, 6.0, 2.0 * demand)
    results = []
    for i in range(loss.size):
        check = verify_law_optimum(law, values, float(loss[i]), 6.0, 2.0 * float(demand[i]), float(solved.params[i]),
                                   float(solved.tokens[i]), dps, min_digits)
        results.append({"loss": float(loss[i]), "inference_tokens": float(demand[i]),
                        "params": float(solved.params[i]), "tokens": float(solved.tokens[i]),
                        "coefficients": dict(values), "verification": check})
    return results


def random_law_losses(count: int, rng, coefficients):
    """Random reachable losses of any law: its loss at N log-uniform in [1e8, 1e12] parameters and D = 20*N."""
    import numpy as np

    from symscale.kernels.generic import kernels

    law = coefficients.law
    params = 10 ** rng.uniform(8, 12, count)
    if law.uses_unique_tokens:                  # unlimited unique data
        from symscale.solvers.data_limited import law_loss

        return np.asarray(law_loss(law, coefficients.values, params, 20 * params), float)
    return np.asarray(kernels(law).loss(params, 20 * params, *(coefficients.values[n] for n in law.names)), float)


def _verify_limited_row(law: Law, values: dict, loss: float, demand: float, dps: int, min_digits: float) -> dict:
    """One scenario of a law in U with unlimited unique data: the data-limited solver, verified in its regime."""
    from symscale.solvers.data_limited import solve_limited

    optimum = solve_limited(law, values, loss, 6.0, 2.0 * demand)
    check = verify_limited(law, values, loss, 6.0, 2.0 * demand, None, optimum, dps, min_digits)
    check.setdefault("kkt_residual_relative", None)
    minimum = not any("second-order" in f or "does not rise" in f for f in check["failures"])
    check["second_order"] = {"ok": minimum}
    return {"loss": loss, "inference_tokens": demand, "params": optimum.params, "tokens": optimum.tokens,
            "coefficients": dict(values), "verification": check}


# --- mpmath verification, regime by regime --------------------------------------------------------
def verify_limited(law: Law, values: dict, loss: float, k_train: float, k_inf: float, limits: Limits | None,
                   optimum: LimitedOptimum, dps: int = 50, min_digits: float = 12.0) -> dict:
    """Re-solve the optimum with mpmath from the sympy expressions, in the regime that holds it.

    A stationary optimum: the regime's KKT system by :func:`verify_law_optimum`. An
    optimum on a kink or a limit: Newton on (L = loss, boundary = 0) in (ln N, ln D), then the objective
    along the iso-loss curve is checked to rise on each feasible side.
    """
    limits = Limits() if limits is None else limits
    unique = limits.unique_tokens if limits.unique_tokens is not None else UNLIMITED
    regime = regimes(law)[optimum.regime]
    full = {**{n: float(values[n]) for n in law.names}, "U": unique}
    base = {"regime": regime.index, "conditions": [str(r) for r in regime.relations], "where": optimum.where,
            "dps": int(dps)}
    if optimum.where == "stationary":
        result = verify_law_optimum(regime.law, full, loss, k_train, k_inf, optimum.params, optimum.tokens, dps,
                                    min_digits)
        return {**base, **{k: result[k] for k in ("ok", "failures", "digits", "kkt_residual_relative",
                                                   "params_precise", "tokens_precise")}}
    return {**base, **_verify_boundary(law, regime, full, loss, k_train, k_inf, limits, optimum, dps, min_digits)}


def _verify_boundary(law, regime, full, loss, k_train, k_inf, limits, optimum, dps, min_digits) -> dict:
    import mpmath
    import sympy as sp

    from symscale.problems.generic import D, N

    swap, args = _symbols(regime)
    expr = law.expr.xreplace(swap)
    coeffs = args[2:]
    law_mp = sp.lambdify((N, D, *coeffs), expr, modules="mpmath")
    with mpmath.workdps(int(dps) + 10):
        cs = [mpmath.mpf(full[str(c)]) for c in coeffs]
        target, kt, ki = mpmath.mpf(loss), mpmath.mpf(k_train), mpmath.mpf(k_inf)
        if optimum.where == "max_tokens":
            boundary = lambda y, x: x - mpmath.log(mpmath.mpf(limits.max_tokens))  # noqa: E731
        elif optimum.where == "max_params":
            boundary = lambda y, x: y - mpmath.log(mpmath.mpf(limits.max_params))  # noqa: E731
        else:
            fns = [sp.lambdify((N, D, *coeffs), g.xreplace(swap), modules="mpmath") for g in regime.conditions]
            at = [abs(float(f(optimum.params, optimum.tokens, *[float(c) for c in cs])))
                  / max(optimum.params, optimum.tokens) for f in fns]
            tight = fns[int(np.argmin(at))]
            boundary = lambda y, x: tight(mpmath.exp(y), mpmath.exp(x), *cs)  # noqa: E731

        def system(y, x):
            return [law_mp(mpmath.exp(y), mpmath.exp(x), *cs) - target, boundary(y, x)]

        y0, x0 = mpmath.log(mpmath.mpf(optimum.params)), mpmath.log(mpmath.mpf(optimum.tokens))
        y, x = mpmath.findroot(system, (y0, x0), tol=mpmath.mpf(10) ** (-2 * int(dps)))
        n, d = mpmath.exp(y), mpmath.exp(x)

        def objective(xx):
            yy = mpmath.findroot(lambda t: law_mp(mpmath.exp(t), mpmath.exp(xx), *cs) - target, y)
            return kt * mpmath.exp(yy + xx) + ki * mpmath.exp(yy)

        h = mpmath.mpf(10) ** -(int(dps) // 4)
        centre = objective(x)
        sides = {"below": objective(x - h) > centre, "above": objective(x + h) > centre}
        if optimum.where == "max_tokens":
            sides.pop("above")
        if optimum.where == "max_params":
            sides.pop("below")
        digits = {"params": _digits(optimum.params, n, dps), "tokens": _digits(optimum.tokens, d, dps)}
        out = {"digits": digits, "rises": {k: bool(v) for k, v in sides.items()},
               "params_precise": mpmath.nstr(n, int(dps)), "tokens_precise": mpmath.nstr(d, int(dps))}
    failures = [f"{k}: only {v:g} agreeing digits (< {min_digits:g})" for k, v in digits.items() if v < min_digits]
    if not all(out["rises"].values()):
        failures.append("the objective does not rise on each feasible side along the iso-loss curve")
    return {**out, "ok": not failures, "failures": failures}


def _digits(approx: float, exact, dps: int) -> float:
    import mpmath

    error = abs(mpmath.mpf(float(approx)) - exact) / abs(exact)
    if error == 0:
        return float(dps)
    return round(max(0.0, min(float(dps), float(-mpmath.log10(error)))), 2)
