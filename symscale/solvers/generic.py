"""The generic lifetime solver: any law, along its iso-loss curve, vectorised over scenarios.

With x = ln D, the iso-loss curve gives N(x) (L(N, e^x) = loss, solved by safeguarded Newton in
ln N). The log of the objective along it, ln N(x) + ln(e^x + rho) + ln k_train, is stationary where
F2 = ln a_N - ln a_D + x - ln(e^x + rho) vanishes (see :mod:`symscale.problems.generic`). A scan over
the feasible interval brackets every sign change of F2 from - to + (a local minimum); Newton on
(F1, F2) in (ln N, ln D) refines each, with bisection on the bracket as the safeguard; the lowest
objective among the minima is returned, and scenarios with several minima are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symscale.base.errors import InputError
from symscale.kernels.generic import kernels
from symscale.laws.law import Law

LN_BIG = 640.0                      # ln 1e278: "N or D -> infinity" without overflowing typical powers
LN_SMALL = 0.0                      # ln 1: one parameter, one token
SCAN_POINTS = 64
SCAN_SPAN = 90.0                    # e-folds of D scanned above the smallest feasible D
CHUNK = 1 << 14                     # scenarios per block of the bracketing stage (its 64-point rows cache-sized)
CURVE_CHUNK = 2048                  # curves per block of the scan (64 points each: cache-sized temporaries)
UNREACHABLE, NO_OPTIMUM = 1, 2


@dataclass(frozen=True)
class GenericResult:
    """The optimum per scenario, and what the scan saw."""

    params: np.ndarray
    tokens: np.ndarray
    minima: np.ndarray          # number of local minima found on the scan
    second_order: np.ndarray    # dF2/d ln D along the curve at the optimum (> 0 at a minimum)
    failure: np.ndarray         # 0 solved, UNREACHABLE, NO_OPTIMUM (none inside float range); NaN answers there


def _bisect(fn, lo: np.ndarray, hi: np.ndarray, iterations: int = 80) -> np.ndarray:
    """Vectorised bisection for a decreasing fn with fn(lo) > 0 > fn(hi)."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        positive = fn(mid) > 0
        lo = np.where(positive, mid, lo)
        hi = np.where(positive, hi, mid)
    return 0.5 * (lo + hi)


def _solve_ln_params(k, ln_d, loss, coeffs, guess=None):
    """ln N on the iso-loss curve at ln D (NaN where no N reaches loss), by Newton kept inside a bracket.

    Newton runs on G(y) = ln(L(e^y, D) - L_inf) - ln(loss - L_inf), L_inf = L(N -> inf, D): for laws
    whose parameter term is a power of N (Chinchilla's, Kaplan's) G is linear or nearly so in y. Each
    element iterates until it converges on its own, so its answer does not depend on the batch.
    """
    args = np.broadcast_arrays(np.asarray(ln_d, float), np.asarray(loss, float), *(np.asarray(c) for c in coeffs))
    shape = args[0].shape
    x, target, cs = args[0].ravel(), args[1].ravel(), [a.ravel() for a in args[2:]]
    d = np.exp(x)
    floor = k.loss(np.exp(LN_BIG), d, *cs)
    ok = (k.loss(np.exp(LN_SMALL), d, *cs) > target) & (floor < target)
    y = np.full(x.shape, np.nan)
    active = np.flatnonzero(ok)
    yy = np.full(active.size, 20.0) if guess is None else np.clip(np.ravel(guess)[active], LN_SMALL, LN_BIG)
    lo, hi = np.full(active.size, LN_SMALL), np.full(active.size, LN_BIG)
    dd, tt, ff = d[active], target[active], floor[active]
    cc = [c[active] for c in cs]
    gap = np.log(tt - ff)
    for _ in range(200):
        n = np.exp(yy)
        value = k.loss(n, dd, *cc)
        a_n, _ = k.elasticities(n, dd, *cc)
        above = value > tt
        lo, hi = np.where(above, yy, lo), np.where(above, hi, yy)
        excess = value - ff
        new = yy + (np.log(excess) - gap) * excess / a_n   # Newton on G: dG/dy = -a_N / excess
        outside = ~((new >= lo) & (new <= hi)) | ~np.isfinite(new)
        new = np.where(outside, 0.5 * (lo + hi), new)
        done = ((np.abs(new - yy) <= 4e-15 * (1 + np.abs(yy))) | (hi - lo <= 4e-15 * (1 + np.abs(yy)))
                | (np.abs(value - tt) <= 2.3e-16 * tt))          # at rounding level: as exact as L allows
        new = np.where(np.abs(value - tt) <= 2.3e-16 * tt, yy, new)
        y[active[done]] = new[done]
        keep = ~done
        if not keep.any():
            break
        active, yy, lo, hi, dd, tt, ff, gap = (v[keep] for v in (active, new, lo, hi, dd, tt, ff, gap))
        cc = [c[keep] for c in cc]
    else:
        y[active] = yy
    return y.reshape(shape)


def _feasible_ln_tokens(k, loss, coeffs) -> tuple[np.ndarray, np.ndarray]:
    """The smallest ln D at which some N reaches loss (L(N -> inf, D) < loss) per curve, and whether any does."""
    big_n = np.exp(LN_BIG)

    def excess(x):
        return k.loss(big_n, np.exp(x), *coeffs) - loss

    lo, hi = np.full(np.shape(loss), LN_SMALL), np.full(np.shape(loss), LN_BIG)
    reachable = excess(hi) < 0
    start_ok = excess(lo) < 0
    x_min = _bisect(excess, lo.copy(), hi.copy())
    return np.where(start_ok, LN_SMALL, x_min), reachable


def _floor(k, coeffs) -> float:
    """The law's limit for large N and D (for messages)."""
    return float(k.loss(np.exp(LN_BIG), np.exp(LN_BIG), *coeffs))


def _stationarity(k, y, x, loss, rho, coeffs):
    out = k.system(np.exp(y), np.exp(x), loss, rho, *coeffs)
    return [np.asarray(o, dtype=float) for o in out]


def _refine(k, y0, x0, a, b, loss, rho, coeffs):
    """Newton on (F1, F2) in (ln N, ln D) from (y0, x0), x kept in [a, b]; bisection on F2 where it fails."""
    y, x = y0.copy(), x0.copy()
    converged = np.zeros(x.shape, bool)
    for _ in range(60):
        f1, f2, j11, j12, j21, j22 = np.broadcast_arrays(*_stationarity(k, y, x, loss, rho, coeffs))
        det = j11 * j22 - j12 * j21
        dy = (-f1 * j22 + f2 * j12) / det
        dx = (-f2 * j11 + f1 * j21) / det
        step = np.maximum(np.abs(dy), np.abs(dx))
        scale = np.where(step > 1.0, 1.0 / np.where(step > 0, step, 1.0), 1.0)
        dy, dx = np.nan_to_num(dy * scale), np.nan_to_num(dx * scale)
        x_new = np.clip(x + dx, a, b)
        done = (np.abs(dx) <= 4e-15 * (1 + np.abs(x))) & (np.abs(dy) <= 4e-15 * (1 + np.abs(y)))
        y, x = np.where(converged, y, y + dy), np.where(converged, x, x_new)
        converged |= done
        if np.all(converged):
            break
    f1, f2, *_ = np.broadcast_arrays(*_stationarity(k, y, x, loss, rho, coeffs))
    good = converged & np.isfinite(x) & np.isfinite(y) & (np.abs(f1) <= 1e-11 * np.abs(loss)) & (np.abs(f2) <= 1e-9)
    if not np.all(good):
        bad = ~good
        sub = [np.broadcast_to(c, x.shape)[bad] for c in (loss, rho, *coeffs)]
        xb = _bisect_stationary(k, a[bad], b[bad], sub[0], sub[1], tuple(sub[2:]))
        x[bad] = xb
        y[bad] = _solve_ln_params(k, xb, sub[0], tuple(sub[2:]))
    return y, x


def _bisect_stationary(k, a, b, loss, rho, coeffs):
    """Bisection on F2 (increasing through its root) between a and b, N re-solved at each midpoint."""
    for _ in range(80):
        mid = 0.5 * (a + b)
        y = _solve_ln_params(k, mid, loss, coeffs)
        f2 = _stationarity(k, y, mid, loss, rho, coeffs)[1]
        negative = f2 < 0
        a, b = np.where(negative, mid, a), np.where(negative, b, mid)
    return 0.5 * (a + b)


def solve_law(law: Law, values: dict, loss, k_train, k_inf, *, strict: bool = True) -> GenericResult:
    """Minimise k_train*N*D + k_inf*N on L(N, D) = loss for any law (vectorised, broadcast).

    ``strict`` raises an InputError for the first scenario without an answer (loss not above the law's
    floor, or no optimum within floating-point range); otherwise such scenarios get NaN and a failure code.
    """
    k = kernels(law)
    arrays = np.broadcast_arrays(np.asarray(loss, float), np.asarray(k_inf, float) / np.asarray(k_train, float),
                                 *(np.asarray(values[name], float) for name in law.names))
    shape = arrays[0].shape
    flat = [a.ravel() for a in arrays]
    out = [np.empty(flat[0].size) for _ in range(5)]
    with np.errstate(all="ignore"):
        curves, inverse = _unique_curves(flat[0], flat[2:])
        parts = [_scan_curves(k, curves[i:i + CURVE_CHUNK]) for i in range(0, len(curves), CURVE_CHUNK)]
        scan = _Scan(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("x", "y", "r", "q", "reachable")))
        for start in range(0, flat[0].size, CHUNK):
            part = slice(start, start + CHUNK)
            result = _solve_scenarios(k, law, scan, inverse[part], *(a[part] for a in flat))
            for target, value in zip(out, result):
                target[part] = value
    result = GenericResult(*(o.reshape(shape) for o in out))
    if strict and np.any(result.failure):
        _raise_failure(k, law, result, arrays)
    return result


def _raise_failure(k, law: Law, result: GenericResult, arrays: list) -> None:
    """The InputError for the first scenario the solver could not answer."""
    i = int(np.flatnonzero(result.failure.ravel())[0])
    loss, rho, *cs = (a.ravel()[i] for a in arrays)
    if result.failure.ravel()[i] == UNREACHABLE:
        raise InputError(f"unreachable: loss {loss:g} is not above the floor of the law {law.name} (about "
                         f"{_floor(k, cs):.6g}, its limit for large N and D); ask for a larger loss")
    raise InputError(f"law {law.name}: no optimum within floating-point range for loss {loss:g} at inference "
                     f"weight rho = {rho:g} tokens (the objective keeps falling toward the edge of the range "
                     "scanned: D up to e^90 times the smallest feasible D)")


@dataclass(frozen=True)
class _Scan:
    """The iso-loss curves sampled on a grid of ln D.

    F2 = r - ln(1 + rho*e^-x) with r = ln a_N - ln a_D, so F2 >= 0 exactly where rho <= q = expm1(r)*e^x
    (q = -inf where r <= 0): the sign of F2 for any demand is one comparison with q.
    """

    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    q: np.ndarray
    reachable: np.ndarray


def _scan_curves(k, curves: np.ndarray) -> _Scan:
    """Sample each distinct curve (loss, coefficients) over its feasible range of ln D (NaN if unreachable)."""
    c_loss, c_coeffs = curves[:, 0], tuple(curves[:, 1 + i] for i in range(curves.shape[1] - 1))
    x_min, reachable = _feasible_ln_tokens(k, c_loss, c_coeffs)
    t = np.geomspace(1e-7, SCAN_SPAN, SCAN_POINTS)
    grid_x = np.minimum(np.where(reachable, x_min, np.nan)[:, None] + t[None, :], LN_BIG)
    grid_y = _solve_ln_params(k, grid_x, c_loss[:, None], tuple(c[:, None] for c in c_coeffs))
    a_n, a_d = k.elasticities(np.exp(grid_y), np.exp(grid_x), *(c[:, None] for c in c_coeffs))
    r = np.log(a_n) - np.log(a_d)
    q = np.where(r > 0, np.expm1(r) * np.exp(grid_x), -np.inf)
    q = np.where(np.isfinite(r), q, np.nan)
    return _Scan(grid_x, grid_y, r, q, reachable)


def _unique_curves(loss: np.ndarray, coeffs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (loss, coefficients) rows and the index of each scenario's row."""
    if all(c.size == 0 or np.all(c == c.flat[0]) for c in coeffs):
        values, inverse = np.unique(loss, return_inverse=True)
        rows = np.column_stack([values, *(np.full(values.size, c.flat[0] if c.size else np.nan) for c in coeffs)])
        return rows, inverse.ravel()
    rows, inverse = np.unique(np.stack([loss, *coeffs], axis=1), axis=0, return_inverse=True)
    return rows, inverse.ravel()


def _solve_scenarios(k, law, scan: _Scan, inverse, loss, rho, *coeffs):
    """Bracket every local minimum of each scenario on its curve's scan, refine them, keep the lowest."""
    q = scan.q[inverse]
    positive = rho[:, None] <= q                                            # F2 >= 0 on the grid (NaN q: no)
    if np.isnan(rho).any():
        negative = ~positive & ~np.isnan(q)
    else:
        negative = rho[:, None] > q                                         # F2 < 0 on the grid (NaN q: no)
    rising = positive[:, 1:] & negative[:, :-1]
    minima = rising.sum(axis=1)
    failure = np.where(~scan.reachable[inverse], UNREACHABLE, np.where(minima == 0, NO_OPTIMUM, 0))
    best_y, best_x = np.full(loss.shape, np.nan), np.full(loss.shape, np.nan)
    best_obj = np.full(loss.shape, np.inf)
    first = np.argmax(rising, axis=1)
    solvable = np.flatnonzero(failure == 0)
    candidates = [(solvable, first[solvable])]
    several = np.flatnonzero(minima > 1)
    if several.size:                                                        # rare: every other crossing too
        rows, cols = np.nonzero(rising[several])
        keep = cols != first[several[rows]]
        candidates.append((several[rows[keep]], cols[keep]))
    for rows, cols in candidates:
        curve = inverse[rows]
        a, b = scan.x[curve, cols], scan.x[curve, cols + 1]
        fa = scan.r[curve, cols] - np.log1p(rho[rows] * np.exp(-a))
        fb = scan.r[curve, cols + 1] - np.log1p(rho[rows] * np.exp(-b))
        w = np.clip(fa / (fa - fb), 0.0, 1.0)
        x0 = a + w * (b - a)
        y0 = scan.y[curve, cols] * (1 - w) + scan.y[curve, cols + 1] * w
        sub = [v[rows] for v in (loss, rho, *coeffs)]
        y, x = _refine(k, y0, x0, a, b, sub[0], sub[1], tuple(sub[2:]))
        objective = y + np.logaddexp(x, np.log(sub[1]))
        better = objective < best_obj[rows]
        best_obj[rows] = np.where(better, objective, best_obj[rows])
        best_y[rows] = np.where(better, y, best_y[rows])
        best_x[rows] = np.where(better, x, best_x[rows])
    along = np.asarray(k.along_curve(np.exp(best_y), np.exp(best_x), loss, rho, *coeffs), float)
    params, tokens = np.exp(best_y), np.exp(best_x)
    beyond = (failure == 0) & ~(np.isfinite(params) & np.isfinite(tokens) & (params > 0) & (tokens > 0))
    failure = np.where(beyond, NO_OPTIMUM, failure)
    params, tokens = np.where(failure == 0, params, np.nan), np.where(failure == 0, tokens, np.nan)
    return params, tokens, minima.astype(float), np.broadcast_to(along, loss.shape), failure.astype(float)


# --- the iso-loss curve at a fixed model size ----------------------------------------------------
_TOL = 4e-15
"""Relative tolerance of safe_newton and the bisections below."""


def safe_newton(fn, lo, hi, x0, iterations: int = 200):
    """Root of an increasing fn (value, slope) in [lo, hi]: Newton, bisection where it leaves the bracket."""
    x = np.clip(x0, lo, hi)
    for _ in range(iterations):
        value, slope = fn(x)
        above = value > 0
        lo, hi = np.where(above, lo, x), np.where(above, x, hi)
        with np.errstate(all="ignore"):
            new = x - value / slope
        outside = ~np.isfinite(new) | (new <= lo) | (new >= hi)
        new = np.where(outside, 0.5 * (lo + hi), new)
        done = (np.abs(new - x) <= _TOL * (1 + np.abs(x))) | (hi - lo <= _TOL * (1 + np.abs(x))) | (value == 0)
        x = np.where(value == 0, x, new)
        if np.all(done):
            break
    return x


def ln_tokens_at(law: Law, cs, params, loss) -> np.ndarray:
    """ln D with L(params, D) = loss (NaN where no D reaches it): Newton on ln(L - L(N, inf)), bracketed."""
    k = kernels(law)
    params, loss, *cs = np.broadcast_arrays(np.asarray(params, float), np.asarray(loss, float), *cs)
    with np.errstate(all="ignore"):
        floor = k.loss(params, np.exp(LN_BIG), *cs)
        ok = (floor < loss) & (k.loss(params, np.exp(LN_SMALL), *cs) > loss)
        gap = np.log(loss - floor)

        def fn(x):
            value = k.loss(params, np.exp(x), *cs)
            _, a_d = k.elasticities(params, np.exp(x), *cs)
            excess = value - floor
            return gap - np.log(excess), a_d / excess    # increasing in x: the loss falls with data

        lo, hi = np.full(params.shape, LN_SMALL), np.full(params.shape, LN_BIG)
        x = safe_newton(fn, lo, hi, np.full(params.shape, 20.0))
    return np.where(ok, x, np.nan)


def critical_params(law: Law, cs, loss) -> np.ndarray:
    """The smallest N that reaches ``loss`` with unlimited data: L(N, D -> inf) = loss, by bisection in ln N.

    D -> inf is taken as D = e^640, the solver's edge of the float range (as for the feasible interval)."""
    k = kernels(law)
    loss, *cs = np.broadcast_arrays(np.asarray(loss, float), *cs)
    lo, hi = np.full(loss.shape, LN_SMALL), np.full(loss.shape, LN_BIG)
    with np.errstate(all="ignore"):
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            above = k.loss(np.exp(mid), np.exp(LN_BIG), *cs) > loss
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
            if np.all(hi - lo <= _TOL * (1 + np.abs(mid))):
                break
    return np.exp(0.5 * (lo + hi))
