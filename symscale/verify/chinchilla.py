"""High-precision verification: re-solve Eq. 12 with mpmath and check Eq. 10 and the second-order condition.

The functions evaluated here are lambdified (``modules='mpmath'``) from the symbolic model; none of
the float code (kernels, its Newton iteration) is used. The root of Eq. 12 is bracketed by the closed-form
bracket ``D_chin <= D* <= D_chin*(1 + rho*beta/((alpha+beta)*D_chin))**(1/beta)`` and located by
Newton steps on g(exp(x)) in x = ln D, safeguarded by bisection (a step leaving the current bracket
is replaced by the midpoint), at ``dps + GUARD`` digits. (The float solver instead runs unguarded
Newton on the log-transformed G(x) from the lower end; the two share only the symbolic model.)

Float inputs are converted with ``mpmath.mpf(float)``, which is exact (every binary double is a
finite binary fraction), so the high-precision problem is exactly the one the float solver got.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath

from symscale.base.precision import MAX_DPS, MIN_DPS
from symscale.laws.coefficients import NAMES, Coefficients, resolve

GUARD = 15
"""Extra decimal digits carried internally beyond the requested ``dps``."""

DEFAULT_DPS = 50
MAX_NEWTON_STEPS = 2000
"""Newton steps with bisection whenever two steps fail to halve the bracket: at most ~2 x log2(width / tol)."""
DEFAULT_MIN_DIGITS = 10.0
"""A float solution must agree with the high-precision one to this many significant digits."""

SIDE_STEP = mpmath.mpf("1e-6")
"""Relative step along the constraint used for the both-sides objective check."""


# --- the mpmath functions, lambdified once from the symbolic model ---------------------------
@lru_cache(maxsize=1)
def bracket_expressions():
    """(lower, upper): the closed-form bracket of D* as sympy expressions in loss, rho and the coefficients."""
    import sympy as sp

    from symscale.problems import chinchilla as S

    lower = S.chinchilla().tokens_of_loss
    upper = sp.exp(S.bracket().ln_upper_design.subs(S.ln_d_chin, sp.log(lower)))
    return lower, upper


@lru_cache(maxsize=1)
def _functions() -> dict:
    """mpmath callables for g, g', the bracket, N(D), lambda, the KKT sides and the bordered Hessian."""
    import sympy as sp

    from symscale.problems import chinchilla as S

    model = S.derive()
    coeffs = (S.alpha, S.beta, S.A, S.B, S.E)
    lower, upper = bracket_expressions()
    core = (S.loss, S.rho, *coeffs)
    point = (S.N, S.D, S.lam, S.loss, S.k_train, S.k_inf, *coeffs)
    on_constraint = S.iso_loss()[1]   # N along the constraint, for the objective-on-both-sides check

    def mp(args, expr):
        return sp.lambdify(args, expr, modules="mpmath")

    return {
        "g": mp((S.D, *core), model.reduced),
        "dg": mp((S.D, *core), sp.diff(model.reduced, S.D)),
        "lower": mp(core, lower),
        "upper": mp(core, upper),
        "params": mp((S.D, S.rho, *coeffs), model.params_of_tokens),
        "lam": mp((S.N, S.D, S.k_train, *coeffs), model.lam_solution),
        "kkt": [(mp(point, eq.lhs), mp(point, eq.rhs)) for eq in model.kkt],
        "det": mp(point, model.bordered_hessian.det()),
        "n_on_constraint": mp((S.D, S.loss, *coeffs), on_constraint),
        "objective": mp((S.N, S.D, S.k_train, S.k_inf), S.objective),
    }


def to_mp(value) -> mpmath.mpf:
    """An exact mpmath number: floats and ints convert exactly, sympy Rationals as p/q at working precision."""
    if hasattr(value, "p") and hasattr(value, "q"):  # sympy Rational / Integer
        return mpmath.mpf(int(value.p)) / int(value.q)
    return mpmath.mpf(value)


# --- the high-precision solution -------------------------------------------------------------
@dataclass(frozen=True)
class PreciseSolution:
    """D*, N*, lambda* and the bracket, as mpf numbers at the working precision."""

    tokens: mpmath.mpf
    params: mpmath.mpf
    lam: mpmath.mpf
    lower: mpmath.mpf
    upper: mpmath.mpf
    newton_steps: int


def solve_precise(loss, k_train, k_inf, coeffs: tuple, dps: int = DEFAULT_DPS) -> PreciseSolution:
    """Solve Eq. 12 for D* (then N*, lambda*) at ``dps + GUARD`` digits; call inside ``mpmath.workdps``.

    ``coeffs`` is (alpha, beta, A, B, E); every value is converted exactly with :func:`to_mp`.
    """
    f = _functions()
    loss, k_train, k_inf = to_mp(loss), to_mp(k_train), to_mp(k_inf)
    cs = tuple(to_mp(c) for c in coeffs)
    rho = k_inf / k_train
    core = (loss, rho, *cs)
    lower, upper = f["lower"](*core), f["upper"](*core)
    tokens, steps = _bracketed_newton(lambda d: f["g"](d, *core), lambda d: f["dg"](d, *core), lower, upper)
    params = f["params"](tokens, rho, *cs)
    lam = f["lam"](params, tokens, k_train, *cs)
    return PreciseSolution(tokens, params, lam, lower, upper, steps)


def _bracketed_newton(g, dg, lower: mpmath.mpf, upper: mpmath.mpf) -> tuple[mpmath.mpf, int]:
    """Root of g in [lower, upper] by Newton in x = ln D, falling back to bisection whenever a step leaves the bracket.

    g > 0 at the lower end and < 0 at the upper end (widened by a hair when rho = 0 collapses the bracket).
    """
    a, b = mpmath.log(lower), mpmath.log(upper)
    hair = mpmath.mpf(2) ** -20
    while g(mpmath.exp(a)) <= 0:
        a -= hair
    while g(mpmath.exp(b)) >= 0:
        b += hair
    tol = mpmath.mpf(10) ** (-(mpmath.mp.dps - 3))
    x, width = a, b - a
    for count in range(1, MAX_NEWTON_STEPS):
        d = mpmath.exp(x)
        value = g(d)
        if value > 0:
            a = x
        else:
            b = x
        slope = dg(d) * d
        candidate = x - value / slope if slope else (a + b) / 2
        if not a <= candidate <= b:
            candidate = (a + b) / 2
        if abs(candidate - x) <= tol * max(1, abs(x)) or value == 0:
            return mpmath.exp(candidate), count
        if count % 2 == 0 and b - a > 1:  # a wide bracket: Newton crawls (g is exponential in x), so bisect
            if b - a > width / 2:        # unless the last two steps halved it
                candidate = (a + b) / 2
            width = b - a
        x = candidate
    raise ArithmeticError("bracketed Newton on Eq. 12 did not converge")  # pragma: no cover


# --- checks -----------------------------------------------------------------------------------
def kkt_residuals(params, tokens, lam, loss, k_train, k_inf, coeffs: tuple) -> tuple[list, list]:
    """Absolute and relative residuals of the three equations of Eq. 10 (relative: over the larger side)."""
    f = _functions()
    point = (params, tokens, lam, to_mp(loss), to_mp(k_train), to_mp(k_inf), *(to_mp(c) for c in coeffs))
    absolute, relative = [], []
    for lhs_f, rhs_f in f["kkt"]:
        lhs, rhs = lhs_f(*point), rhs_f(*point)
        absolute.append(abs(lhs - rhs))
        scale = max(abs(lhs), abs(rhs))
        relative.append(abs(lhs - rhs) / scale if scale else abs(lhs - rhs))
    return absolute, relative


def second_order(sol: PreciseSolution, loss, k_train, k_inf, coeffs: tuple) -> dict:
    """Bordered-Hessian determinant sign at (N*, D*, lambda*) and the objective along the constraint on both sides."""
    f = _functions()
    cs = tuple(to_mp(c) for c in coeffs)
    loss, k_train, k_inf = to_mp(loss), to_mp(k_train), to_mp(k_inf)
    det = f["det"](sol.params, sol.tokens, sol.lam, loss, k_train, k_inf, *cs)

    def cost(d):
        return f["objective"](f["n_on_constraint"](d, loss, *cs), d, k_train, k_inf)

    centre = cost(sol.tokens)
    left, right = cost(sol.tokens * (1 - SIDE_STEP)), cost(sol.tokens * (1 + SIDE_STEP))
    sides = bool(left > centre and right > centre)
    return {
        "bordered_hessian_sign": int(mpmath.sign(det)),
        "objective_rises_both_sides": sides,
        "ok": bool(det < 0 and sides),
    }


def agreeing_digits(approx: float, exact: mpmath.mpf, dps: int) -> float:
    """Significant digits on which a float agrees with the precise value: -log10(relative error), capped at dps."""
    error = abs(to_mp(approx) - exact) / abs(exact)
    if error == 0:
        return float(dps)
    return round(max(0.0, min(float(dps), float(-mpmath.log10(error)))), 2)


def verify_optimum(loss, k_train, k_inf, params, tokens, coefficients=None, dps: int = DEFAULT_DPS,
                   min_digits: float = DEFAULT_MIN_DIGITS) -> dict:
    """Verify one float optimum (N, D) of ``k_train*N*D + k_inf*N`` s.t. L = loss; returns the JSON object.

    ``kkt_residual`` is the largest absolute residual of Eq. 10 at the high-precision solution (units
    of the equation: FLOPs or dollars per parameter / per token, and loss); ``kkt_residual_relative``
    divides each residual by the larger side of its equation and is what ``ok`` tests.
    """
    if not MIN_DPS <= int(dps) <= MAX_DPS:
        from symscale.base.errors import InputError

        raise InputError(f"--dps must be in [{MIN_DPS}, {MAX_DPS}], got {dps}")
    coeffs = _coefficient_tuple(coefficients)
    with mpmath.workdps(int(dps) + GUARD):
        sol = solve_precise(loss, k_train, k_inf, coeffs, dps)
        absolute, relative = kkt_residuals(sol.params, sol.tokens, sol.lam, loss, k_train, k_inf, coeffs)
        lam_float = _functions()["lam"](to_mp(params), to_mp(tokens), to_mp(k_train), *map(to_mp, coeffs))
        _, float_relative = kkt_residuals(to_mp(params), to_mp(tokens), lam_float, loss, k_train, k_inf, coeffs)
        second = second_order(sol, loss, k_train, k_inf, coeffs)
        digits = {"params": agreeing_digits(params, sol.params, dps),
                  "tokens": agreeing_digits(tokens, sol.tokens, dps)}
        slack = mpmath.mpf(10) ** -int(dps)  # rho = 0 collapses the bracket onto D*: allow rounding
        in_bracket = bool(sol.lower * (1 - slack) <= sol.tokens <= sol.upper * (1 + slack))
        result = {
            "dps": int(dps),
            "digits": digits,
            "kkt_residual": float(max(absolute)),
            "kkt_residual_relative": float(max(relative)),
            "kkt_residuals": {name: float(r) for name, r in zip(("eq10a", "eq10b", "eq10c"), absolute)},
            "float_kkt_residual_relative": float(max(float_relative)),
            "second_order": second,
            "in_bracket": in_bracket,
            "params_precise": mpmath.nstr(sol.params, int(dps)),
            "tokens_precise": mpmath.nstr(sol.tokens, int(dps)),
        }
    failures = _failures(result, dps, min_digits)
    result["ok"] = not failures
    result["failures"] = failures
    return result


def _failures(result: dict, dps: int, min_digits: float) -> list[str]:
    """The checks a verification result does not pass, as short sentences."""
    failures = []
    for key in ("params", "tokens"):
        if result["digits"][key] < min_digits:
            failures.append(f"{key}: only {result['digits'][key]:g} agreeing digits (< {min_digits:g})")
    if not result["kkt_residual_relative"] <= 10.0 ** (1 - int(dps)):
        failures.append(f"KKT relative residual {result['kkt_residual_relative']:.2e} above 1e{1 - int(dps)}")
    if not result["second_order"]["ok"]:
        failures.append("second-order check: not a constrained minimum")
    if not result["in_bracket"]:
        failures.append("D* outside the closed-form bracket")
    return failures


def _coefficient_tuple(coefficients) -> tuple:
    """(alpha, beta, A, B, E) from a tuple, a Coefficients, a preset name or a file path."""
    if isinstance(coefficients, tuple):
        return coefficients
    coefficients = resolve(coefficients)
    return tuple(getattr(coefficients, key) for key in NAMES)


def _scalar(value) -> float:
    """One float out of a scalar or a one-element array."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.size != 1:
        raise ValueError(f"verify one scenario at a time (got {array.size}); use verify_batch for arrays")
    return float(array.reshape(()))


def verify_compute_solution(solution, coefficients: Coefficients | str | None = None, dps: int = DEFAULT_DPS,
                            min_digits: float = DEFAULT_MIN_DIGITS) -> dict:
    """Verify a ``solve_compute_optimal`` result (one scenario) against the high-precision optimum."""
    from symscale.base.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, TRAIN_FLOPS_PER_PARAM_TOKEN

    demand = _scalar(solution.inference_tokens)
    return verify_optimum(
        _scalar(solution.loss), TRAIN_FLOPS_PER_PARAM_TOKEN, INFERENCE_FLOPS_PER_PARAM_TOKEN * to_mp(demand),
        _scalar(solution.params), _scalar(solution.tokens), coefficients, dps, min_digits,
    )


def verify_batch(loss, inference_tokens, coefficients=None, dps: int = DEFAULT_DPS,
                 min_digits: float = DEFAULT_MIN_DIGITS, settings=None) -> list[dict]:
    """Solve scenarios with the float solver (vectorised) and verify each at high precision.

    ``coefficients`` is one spec for all rows or a list with one Coefficients per row. With cost
    ``settings`` (a CostSettings) the second argument is lifetime requests and the objective is dollars.
    """
    import numpy as np

    loss = np.atleast_1d(np.asarray(loss, dtype=float))
    demand = np.atleast_1d(np.asarray(inference_tokens, dtype=float))
    loss, demand = np.broadcast_arrays(loss, demand)
    per_row = coefficients if isinstance(coefficients, list) else [resolve(coefficients)] * loss.size
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(per_row):
        groups.setdefault(_coefficient_tuple(c), []).append(i)
    results: list[dict] = [{}] * loss.size
    for cs, rows in groups.items():
        params, tokens, k_train, k_inf, tokens_used = _float_optima(loss[rows], demand[rows], Coefficients(*cs),
                                                                    settings)
        for j, i in enumerate(rows):
            check = verify_optimum(loss[i], k_train[j], k_inf[j], float(params[j]), float(tokens[j]), cs, dps,
                                   min_digits)
            row = {"loss": float(loss[i]), "inference_tokens": float(tokens_used[j])}
            if settings is not None:
                row["requests"] = float(demand[i])
            results[i] = {**row, "params": float(params[j]), "tokens": float(tokens[j]),
                          "coefficients": dict(zip(NAMES, cs)), "verification": check}
    return results


def _float_optima(loss, demand, spec, settings) -> tuple:
    """(params, tokens, k_train, k_inf, inference tokens) of the float solver for one coefficient group."""
    import numpy as np

    if settings is None:
        from symscale.solvers.solve import solve_compute_optimal

        solved = solve_compute_optimal(loss, demand, spec)
        k_inf = [2 * to_mp(float(d)) for d in demand]
        return solved.params, solved.tokens, [6] * len(loss), k_inf, demand
    from dataclasses import replace

    from symscale.solvers.costs import solve_cost_optimal

    priced = replace(settings, requests=np.asarray(demand, float))
    solved = solve_cost_optimal(loss, priced, spec)
    k_train, k_inf = (np.broadcast_to(np.asarray(w, float), loss.shape) for w in priced.weights())
    tokens_used = np.broadcast_to(np.asarray(priced.inference_tokens, float), loss.shape)
    return (np.ravel(solved.optimal.params), np.ravel(solved.optimal.tokens), [float(w) for w in k_train],
            [float(w) for w in k_inf], tokens_used)


def summarise(results: list[dict]) -> dict:
    """Counts and extremes over a batch of verifications."""
    checks = [r["verification"] for r in results]
    return {
        "scenarios": len(checks),
        "verified": sum(c["ok"] for c in checks),
        "failed": sum(not c["ok"] for c in checks),
        "min_digits_params": min(c["digits"]["params"] for c in checks),
        "min_digits_tokens": min(c["digits"]["tokens"] for c in checks),
        "max_kkt_residual_relative": max((c["kkt_residual_relative"] for c in checks   # None: optimum on a kink
                                          if c.get("kkt_residual_relative") is not None), default=None),
        "all_minima": all(c["second_order"]["ok"] for c in checks),
    }


def render_verification(result: dict) -> str:
    """A text block for ``solve --verify``."""
    second = result["second_order"]
    lines = [
        f"Verification (mpmath, {result['dps']} digits, "
        f"{'the law ' + result['law'] + chr(39) + 's KKT system' if 'law' in result else 'Eq. 12'} "
        "re-solved from the symbolic model):",
        f"  N* = {result['params_precise']}",
        f"  D* = {result['tokens_precise']}",
        f"  agreeing significant digits: params {result['digits']['params']:g}, tokens {result['digits']['tokens']:g}",
        f"  KKT residual (Eq. 10) at the precise optimum: {result['kkt_residual']:.2e} absolute, "
        f"{result['kkt_residual_relative']:.2e} relative",
        f"  KKT residual of the float solution: {result['float_kkt_residual_relative']:.2e} relative",
        f"  second order: bordered Hessian determinant {'< 0' if second['bordered_hessian_sign'] < 0 else '>= 0'}, "
        f"objective {'rises' if second['objective_rises_both_sides'] else 'does NOT rise'} on both sides "
        f"along the constraint",
        f"  result: {'verified' if result['ok'] else 'FAILED: ' + '; '.join(result['failures'])}",
    ]
    return "\n".join(lines)


def digits_text(value: float) -> str:
    """Digits for a table cell."""
    return f"{value:.1f}" if math.isfinite(value) else "-"
