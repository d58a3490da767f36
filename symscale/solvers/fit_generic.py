"""Fit any law to training runs: multistart damped Newton over a start grid, lmfit polish, errors, bootstrap.

The objective is sum_i Huber_delta(ln L(N_i, D_i; c) - ln L_i) (the paper's Eq. 4 for any law), in the
parametrisation of :mod:`symscale.problems.fit_generic` (scales as ln c, exponents as they are). Every start
of the grid moves at once: a few cheap Gauss-Newton (IRLS) iterations screen the grid, then a saddle-free
Newton method with Levenberg-Marquardt damping and Armijo backtracking refines the survivors, iterates
kept inside the bounds. lmfit (scipy least_squares, loss='huber', f_scale=delta: exactly this objective)
polishes the best point. The Chinchilla law keeps its own fit (:mod:`symscale.solvers.fit`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from symscale.base.errors import InputError
from symscale.base.parallel import parallel_map
from symscale.base.runs import Runs
from symscale.laws.law import Law
from symscale.problems.fit_generic import fit_kernels, fit_range, parameter_name, parametrisation
from symscale.solvers.fit import check_bootstrap, check_delta
from symscale.solvers.fit_controls import loss_functions
from symscale.solvers.fit_search import DELTA, SCREEN, FitError, _damped_step, _eigen

MAX_STARTS = 20_000
"""At most this many starts in the grid product (Chinchilla's own grid has 4,500)."""
MAX_ITER = 300
"""Newton iterations per start or replicate before it counts as not converged (as in symscale.solvers.fit)."""
STDERR_METHOD = ("sandwich (Huber M-estimator): H^-1 S H^-1 * n/(n-p) in the fitted parameters, H = exact "
                 "Hessian, S = sum psi(r_i)^2 g_i g_i^T; delta method for coefficients fitted as ln c")
LMFIT_STDERR_METHOD = ("lmfit least_squares: inv(J^T J) * sum(r^2)/(n-p) with scipy's Huber-modified Jacobian, "
                       "a Gaussian least-squares approximation shown for comparison")



@dataclass(frozen=True)
class Span:
    """A start grid LO:HI:COUNT: COUNT points from LO to HI, geometric for a coefficient fitted as ln c."""

    lo: float
    hi: float
    count: int

    def __str__(self) -> str:
        return f"{self.lo:g}:{self.hi:g}:{self.count}"


# ----------------------------------------------------------------------------- what is fitted


@dataclass(frozen=True)
class Setup:
    """A law, how each coefficient is fitted, the bounds of the fitted parameters and the start grid."""

    law: Law
    log_scale: tuple[bool, ...]
    lower: np.ndarray   # bounds of the fitted parameters theta (ln c where log_scale)
    upper: np.ndarray
    starts: np.ndarray  # (S, p) in theta
    open_bounds: np.ndarray  # (p, 2): lower/upper bound is the law's open domain edge (not a --bound)
    objective: str = "huber"  # the per-run loss of the log residual (symscale.solvers.fit_controls)
    penalty: float = 1.0      # --overestimate-penalty of the asymmetric objective

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(parameter_name(n, s) for n, s in zip(self.law.names, self.log_scale))

    def to_values(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Coefficient values from fitted parameters (last axis)."""
        theta = np.asarray(theta, dtype=float)
        return {n: (np.exp(theta[..., k]) if s else theta[..., k])
                for k, (n, s) in enumerate(zip(self.law.names, self.log_scale))}


def _unknown(law: Law, given: dict, option: str) -> None:
    bad = [name for name in given if name not in law.names]
    if bad:
        raise InputError(f"{option} {bad[0]}: the law {law.name} has no coefficient {bad[0]!r} "
                         f"(it has {', '.join(law.names)})")


def _check_bounds(law: Law, bounds: dict) -> None:
    for name, (lo, hi) in bounds.items():
        c = law.coefficient(name)
        if not lo < hi:
            raise InputError(f"--bound {name}={lo:g}:{hi:g}: the lower bound must be below the upper")
        if law.name != "custom" and (lo < c.lower or hi > c.upper):
            raise InputError(f"--bound {name}={lo:g}:{hi:g} reaches outside the domain ({c.lower:g}, {c.upper:g}) "
                             f"of {name} in the law {law.name}")


def _grid(law: Law, name: str, log: bool, spec, where: str) -> np.ndarray:
    """One coefficient's start values: a value, LO:HI:COUNT (geometric when fitted as ln c), or the law's own."""
    if isinstance(spec, Span):
        if log and spec.lo <= 0:
            raise InputError(f"--start {name}={spec}: {name} is fitted on a log scale, so LO must be > 0")
        values = (np.geomspace if log else np.linspace)(spec.lo, spec.hi, spec.count)
    else:
        values = np.atleast_1d(np.asarray(spec, dtype=float))
    if log and np.any(values <= 0):
        raise InputError(f"{where} {name}: {name} is fitted on a log scale (kept positive); start values must be > 0, "
                         f"got {values.min():g}")
    return np.log(values) if log else values


def _default_starts(law: Law, name: str) -> tuple[float, ...]:
    """A registered law's start grid for a coefficient, else the values of its presets."""
    grid = law.coefficient(name).start
    if grid:
        return tuple(grid)
    return tuple(sorted({float(p["values"][name]) for p in law.presets.values() if name in p["values"]}))


def setup(law: Law, starts: dict | None = None, bounds: dict | None = None, objective: str = "huber",
          penalty: float = 1.0) -> Setup:
    """Check --start and --bound against the law and build the start grid (at most MAX_STARTS points)."""
    starts, bounds = dict(starts or {}), dict(bounds or {})
    _unknown(law, starts, "--start")
    _unknown(law, bounds, "--bound")
    _check_bounds(law, bounds)
    log_scale = parametrisation(law, bounds)
    ranges = [fit_range(law, n, bounds) for n in law.names]
    lower = np.array([(math.log(lo) if lo > 0 else -np.inf) if s else lo for (lo, _), s in zip(ranges, log_scale)])
    upper = np.array([(math.log(hi) if hi < np.inf else np.inf) if s else hi for (_, hi), s in zip(ranges, log_scale)])
    axes, missing = [], []
    for k, (name, log) in enumerate(zip(law.names, log_scale)):
        spec = starts.get(name, _default_starts(law, name))
        if spec == ():
            missing.append(name)
            continue
        values = _grid(law, name, log, spec, "--start" if name in starts else f"start grid of {law.name}:")
        if name not in starts:  # the law's own grid is brought inside a --bound
            values = np.unique(np.clip(values, lower[k], upper[k]))
        outside = values[(values < lower[k]) | (values > upper[k])]
        if outside.size:
            shown = math.exp(outside[0]) if log else outside[0]
            raise InputError(f"--start {name}: {shown:g} lies outside the fitting range "
                             f"[{ranges[k][0]:g}, {ranges[k][1]:g}] of {name}")
        axes.append(values)
    if missing:
        raise InputError(f"law {law.name}: no start value for {', '.join(missing)}; give --start NAME=VALUE or "
                         f"--start NAME=LO:HI:COUNT for each, e.g. --start {missing[0]}=1:1e4:5")
    count = math.prod(len(a) for a in axes)
    if count > MAX_STARTS:
        sizes = " x ".join(str(len(a)) for a in axes)
        raise InputError(f"--start grids give {sizes} = {count} starts, more than the {MAX_STARTS} allowed; "
                         "use fewer points per coefficient")
    grid = np.array(list(product(*axes)), dtype=float).reshape(count, len(axes))
    edges = np.array([[name not in bounds and np.isfinite(lo), name not in bounds and np.isfinite(hi)]
                      for name, lo, hi in zip(law.names, lower, upper)])
    return Setup(law, log_scale, lower, upper, grid, edges, objective, penalty)


# ----------------------------------------------------------------------------- objective and derivatives


@dataclass
class _Local:
    f: np.ndarray
    g: np.ndarray
    h_exact: np.ndarray | None
    h_irls: np.ndarray


class Objective:
    """The Huber objective of one law on one set of runs, batched over points theta (S, p)."""

    def __init__(self, s: Setup, runs: Runs, delta: float = DELTA):
        self.setup, self.delta = s, delta
        self.kernels = fit_kernels(s.law, s.log_scale)
        self.rho, self.d1, self.d2 = loss_functions(s.objective, delta, s.penalty)
        self.data = (runs.params, runs.tokens, np.log(runs.loss))
        self.p = len(s.law.names)
        self.pairs = [(i, j) for i in range(self.p) for j in range(i, self.p)]

    def _outputs(self, theta: np.ndarray, second: bool) -> list[np.ndarray]:
        """[r, dr/dtheta (, d2r)] at points theta (S, p), each (S, n)."""
        with np.errstate(all="ignore"):
            out = (self.kernels.second if second else self.kernels.first)(*self._columns(theta), *self.data)
        return [self._full(o, len(theta)) for o in out]

    def _columns(self, theta: np.ndarray) -> list[np.ndarray]:
        return [theta[:, k : k + 1] for k in range(self.p)]

    def _full(self, value, count: int) -> np.ndarray:
        shape = (count, len(self.data[0]))
        value = np.asarray(value, dtype=float)
        return value if value.shape == shape else np.broadcast_to(value, shape)

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """r (S, n) at points theta (S, p)."""
        theta = np.atleast_2d(theta)
        with np.errstate(all="ignore"):
            return self._full(self.kernels.residual(*self._columns(theta), *self.data), len(theta))

    def inside(self, theta: np.ndarray) -> np.ndarray:
        """Points inside the bounds; an edge of an open domain (an exponent at 0) is outside."""
        s = self.setup
        low = (theta > s.lower) | ((theta == s.lower) & ~s.open_bounds[:, 0])
        high = (theta < s.upper) | ((theta == s.upper) & ~s.open_bounds[:, 1])
        return np.all(low & high, axis=-1)

    def values(self, theta: np.ndarray, w) -> np.ndarray:
        """Objective (S,); +inf outside the bounds or where the law is not finite."""
        r = self.residuals(theta)
        f = np.sum(w * self.rho(r), axis=-1)
        return np.where(self.inside(theta) & np.isfinite(f), f, np.inf)

    def local(self, theta: np.ndarray, w, second: bool = True) -> _Local:
        """Objective, gradient, generalised Hessian and IRLS-majoriser Hessian (the Chinchilla fit's scheme)."""
        out = self._outputs(theta, second)
        r, p = out[0], self.p
        grad_r = np.stack(out[1 : 1 + p], axis=-1)
        psi = w * self.d1(r)
        f = np.sum(w * self.rho(r), axis=-1)
        g = np.einsum("sn,snk->sk", psi, grad_r)
        grad_t = np.swapaxes(grad_r, 1, 2)
        irls = self.d1(r) / np.where(r == 0, 1.0, r)
        h_irls = np.matmul(grad_t * (w * irls)[:, None, :], grad_r)
        if not second:
            return _Local(f, g, None, h_irls)
        h_exact = np.matmul(grad_t * (w * self.d2(r))[:, None, :], grad_r)
        extra = np.zeros_like(h_exact)
        for (i, j), h_r in zip(self.pairs, out[1 + p :]):
            extra[:, i, j] = extra[:, j, i] = np.sum(psi * h_r, axis=-1)
        return _Local(f, g, h_exact + extra, h_irls + extra)


# ----------------------------------------------------------------------------- batched Newton


@dataclass
class NewtonResult:
    theta: np.ndarray
    objective: np.ndarray
    decrement: np.ndarray
    converged: np.ndarray


def start_chunk(obj: Objective, exact: bool = True) -> int:
    """Starts per chunk so that one chunk's per-run arrays take at most FIT_MEMORY (or a quarter of what is free).

    Per (start, run) pair a Newton iteration holds the residual, its p first and p(p+1)/2 second derivatives,
    the stacked gradients and their weighted transpose, and a few Huber terms (the Chinchilla fit's budget).
    """
    from symscale.base.limits import memory_budget
    from symscale.solvers.fit_search import FIT_MEMORY

    p = obj.p
    per_pair = 8 * (1 + p + (p * (p + 1) // 2 if exact else 0) + 2 * p + 8)
    budget = min(FIT_MEMORY, memory_budget() / 4)
    return max(1, int(budget // (max(len(obj.data[0]), 1) * per_pair)))


def newton(obj: Objective, theta0: np.ndarray, weights=None, max_iter: int = MAX_ITER, rtol: float = 1e-15,
           exact: bool = True) -> NewtonResult:
    """Minimise from every row of theta0, in chunks of ``start_chunk`` rows (per-row weights optional).

    Rows never interact, so chunks change no answer; they bound the memory to O(runs x chunk).
    """
    theta0 = np.asarray(theta0, dtype=float)
    chunk = start_chunk(obj, exact)
    if len(theta0) <= chunk:
        return _newton(obj, theta0, weights, max_iter, rtol, exact)
    rows = weights is not None and np.ndim(weights) == 2
    parts = [_newton(obj, theta0[b:b + chunk], weights[b:b + chunk] if rows else weights, max_iter, rtol, exact)
             for b in range(0, len(theta0), chunk)]
    return NewtonResult(*(np.concatenate([getattr(part, key) for part in parts])
                          for key in ("theta", "objective", "decrement", "converged")))


def start_values(obj: Objective, starts: np.ndarray) -> np.ndarray:
    """The objective at every start (unit weights), in chunks of ``start_chunk`` starts."""
    chunk = start_chunk(obj, exact=False)
    return np.concatenate([obj.values(starts[b:b + chunk], 1.0) for b in range(0, len(starts), chunk)] or [[]])


def _newton(obj: Objective, theta0: np.ndarray, weights=None, max_iter: int = MAX_ITER, rtol: float = 1e-15,
            exact: bool = True) -> NewtonResult:
    """Minimise from every row of theta0 at once (per-row weights optional); rows never interact.

    Each iteration tries the saddle-free Newton step (generalised Hessian, |eigenvalues|) with up to six
    halvings, then the IRLS-majoriser step with Levenberg-Marquardt damping that adapts per row; a step
    is projected onto the bounds and must pass the Armijo test, and coordinates held at a bound by the
    gradient are left out of the step (projected Newton). A row stops when its Newton decrement is below
    rtol * objective or no step lowers the objective (converged), or after max_iter iterations (not).
    """
    theta = np.array(theta0, dtype=float, copy=True)
    count, n = len(theta), len(obj.data[0])
    w_all = np.broadcast_to(np.ones(n) if weights is None else np.asarray(weights, float), (count, n))
    f_all, dec_all, nu = np.full(count, np.inf), np.full(count, np.inf), np.full(count, 1e-8)
    converged = np.zeros(count, dtype=bool)
    active = np.arange(count)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            if active.size == 0:
                break
            w = w_all[active]
            loc = obj.local(theta[active], w, second=exact)
            broken = ~np.all(np.isfinite(loc.h_irls), axis=(1, 2)) | ~np.all(np.isfinite(loc.g), axis=1)
            if exact:
                broken |= ~np.all(np.isfinite(loc.h_exact), axis=(1, 2))
            if broken.any():  # derivatives not finite (the law degenerates there): that start stops, not converged
                active, w = active[~broken], w[~broken]
                if active.size == 0:
                    break
                loc = _Local(loc.f[~broken], loc.g[~broken], None if loc.h_exact is None else loc.h_exact[~broken],
                             loc.h_irls[~broken])
            fixed = held(obj.setup, theta[active], loc.g)
            loc.g = np.where(fixed, 0.0, loc.g)
            loc.h_irls = _decouple(loc.h_irls, fixed)
            main = _eigen(_decouple(loc.h_exact, fixed) if exact else loc.h_irls)
            step = _damped_step(loc.g, *main, np.zeros(len(active)))
            dec = -np.einsum("sk,sk->s", loc.g, step)
            f_all[active], dec_all[active] = loc.f, dec
            done = (dec <= rtol * np.abs(loc.f)) | ~np.isfinite(dec)
            moved = np.zeros(len(active), dtype=bool)
            todo = np.flatnonzero(~done)
            if exact:
                for t in 0.5 ** np.arange(6):
                    left = todo[~moved[todo]]
                    moved[left] = _try(obj, theta, active[left], t * step[left], loc.g[left], loc.f[left], w[left],
                                       f_all)
            rest = todo[~moved[todo]]
            if rest.size:
                fallback = _eigen(loc.h_irls[rest]) if exact else tuple(part[rest] for part in main)
                moved[rest] = _damped(obj, theta, active[rest], loc.g[rest], fallback, loc.f[rest], nu, w[rest],
                                      f_all)
            stop = done | ~moved
            converged[active[stop]] = np.isfinite(f_all[active[stop]]) & np.isfinite(dec_all[active[stop]])
            active = active[~stop]
    return NewtonResult(theta, f_all, dec_all, converged)


def held(s: Setup, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Coordinates at a bound whose gradient pushes outward (held there: projected Newton)."""
    tol = 1e-12 * (1 + np.abs(theta))
    return ((theta <= s.lower + tol) & (g > 0)) | ((theta >= s.upper - tol) & (g < 0))


def _decouple(h: np.ndarray | None, fixed: np.ndarray) -> np.ndarray | None:
    """Hessians with the held coordinates' rows and columns replaced by a unit-scale diagonal (their step is 0)."""
    if h is None or not fixed.any():
        return h
    keep = ~fixed
    out = h * keep[:, :, None] * keep[:, None, :]
    scale = np.max(np.abs(np.diagonal(h, axis1=1, axis2=2)), axis=-1) + 1.0
    rows, cols = np.nonzero(fixed)
    out[rows, cols, cols] = scale[rows]
    return out


def _try(obj, theta, idx, step, g, f, w, f_all) -> np.ndarray:
    """Take the steps, projected onto the bounds, that pass the Armijo test; which did."""
    trial = np.clip(theta[idx] + step, obj.setup.lower, obj.setup.upper)
    f_new = obj.values(trial, w)
    taken = trial - theta[idx]
    ok = np.isfinite(f_new) & (f_new <= f + 1e-4 * np.einsum("sk,sk->s", g, taken)) & (f_new < f)
    theta[idx[ok]] = trial[ok]
    f_all[idx[ok]] = f_new[ok]
    return ok


def _damped(obj, theta, idx, g, eig, f, nu, w, f_all, tries: int = 24) -> np.ndarray:
    """Raise each row's damping until a step passes; update theta, f and the damping in place."""
    size, vec, top = eig
    accepted = np.zeros(len(idx), dtype=bool)
    pending = np.arange(len(idx))
    damp = nu[idx].copy()
    for _ in range(tries):
        if pending.size == 0:
            break
        step = _damped_step(g[pending], size[pending], vec[pending], top[pending], damp[pending])
        ok = _try(obj, theta, idx[pending], step, g[pending], f[pending], w[pending], f_all)
        accepted[pending[ok]] = True
        pending = pending[~ok]
        damp[pending] = np.maximum(damp[pending] * 10.0, 1e-12)
    nu[idx] = np.where(accepted, damp / 10.0, damp)
    return accepted


@dataclass
class Search:
    """The multistart outcome."""

    theta: np.ndarray
    objective: float
    n_starts: int
    n_finite: int
    n_refined: int
    n_best_basin: int
    n_converged: int
    refined: NewtonResult | None = None    # the Newton refinement of the survivors
    searched_runs: int | None = None       # the runs the start search ran on, when a sample of them


def search(obj: Objective, runs: Runs) -> Search:
    """multistart on every run; above SEARCH_RUNS runs, on a sample of them spread over compute, and its
    FINAL_STARTS best points then refined by Newton on every run (as the Chinchilla fit searches)."""
    from symscale.solvers.fit_search import FINAL_STARTS, SEARCH_RUNS, search_sample

    if len(runs) <= SEARCH_RUNS:
        return multistart(obj)
    sample = search_sample(runs)
    coarse = multistart(Objective(obj.setup, runs.subset(sample), obj.delta))
    finite = np.isfinite(coarse.refined.objective)
    order = np.argsort(np.where(finite, coarse.refined.objective, np.inf), kind="stable")[:FINAL_STARTS]
    result = newton(obj, coarse.refined.theta[order])
    finite = np.isfinite(result.objective)
    if not finite.any():
        raise FitError("no start reached a finite objective")
    best = int(np.argmin(np.where(finite, result.objective, np.inf)))
    return Search(result.theta[best].copy(), float(result.objective[best]), coarse.n_starts, coarse.n_finite,
                  coarse.n_refined, coarse.n_best_basin, coarse.n_converged, result, len(sample))


def multistart(obj: Objective) -> Search:
    """Screen the start grid with cheap IRLS iterations (successive halving), refine survivors by Newton."""
    starts = obj.setup.starts
    f0 = start_values(obj, starts)
    theta = starts[np.isfinite(f0)]
    if len(theta) == 0:
        raise FitError(f"no start of the grid gives a finite objective for the law {obj.setup.law.name}; "
                       "give other --start values")
    n_finite = len(theta)
    for iterations, keep in SCREEN:
        if len(theta) <= keep:
            continue
        result = newton(obj, theta, max_iter=iterations, exact=False)
        order = np.argsort(np.where(np.isfinite(result.objective), result.objective, np.inf), kind="stable")
        theta = result.theta[order[:keep]]
    result = newton(obj, theta)
    finite = np.isfinite(result.objective)
    if not finite.any():
        raise FitError("no start reached a finite objective")
    best = int(np.argmin(np.where(finite, result.objective, np.inf)))
    point, f_best = result.theta[best].copy(), float(result.objective[best])
    close = (result.objective <= f_best * (1 + 1e-9) + 1e-300) & (
        np.max(np.abs(result.theta - point) / (1 + np.abs(point)), axis=-1) <= 1e-4)
    return Search(point, f_best, len(starts), n_finite, len(theta), int(close.sum()), int(result.converged.sum()),
                  result)


# ----------------------------------------------------------------------------- lmfit polish and errors


def polish(obj: Objective, theta: np.ndarray):
    """Refine with lmfit (least_squares, Huber loss with f_scale = delta: exactly the objective), within bounds."""
    import lmfit

    keys = [f"p{k}" for k in range(obj.p)]
    params = lmfit.Parameters()
    for key, value, lo, hi in zip(keys, theta, obj.setup.lower, obj.setup.upper):
        params.add(key, value=float(np.clip(value, lo, hi)), min=float(lo), max=float(hi))

    def point(p) -> np.ndarray:
        return np.array([[p[key].value for key in keys]])

    def resid(p) -> np.ndarray:  # where a trial point makes the law non-finite, a huge residual rejects it
        return np.nan_to_num(obj.residuals(point(p))[0], nan=1e6, posinf=1e6, neginf=-1e6)

    def jac(p) -> np.ndarray:
        out = obj._outputs(point(p), False)
        return np.nan_to_num(np.stack([o[0] for o in out[1:]], axis=-1), nan=0.0, posinf=0.0, neginf=0.0)

    minimizer = lmfit.Minimizer(resid, params)
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # lmfit warns on a singular covariance
        warnings.simplefilter("ignore")
        result = minimizer.minimize(method="least_squares", Dfun=jac, loss="huber", f_scale=obj.delta, x_scale="jac",
                                    ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=2000)
    return result, np.array([result.params[key].value for key in keys])


def _lmfit_cov(result, p: int) -> np.ndarray | None:
    keys = [f"p{k}" for k in range(p)]
    params = result.params
    if not getattr(result, "errorbars", False) or any(params[k].stderr is None for k in keys):
        return None
    se = np.array([params[k].stderr for k in keys])
    corr = np.array([[1.0 if i == j else (params[a].correl or {}).get(b, 0.0) for j, b in enumerate(keys)]
                     for i, a in enumerate(keys)])
    return corr * np.outer(se, se)


def sandwich(obj: Objective, theta: np.ndarray) -> np.ndarray | None:
    """M-estimator covariance of theta: H^-1 (sum psi_i^2 g_i g_i^T) H^-1 * n/(n-p); None unless H is positive."""
    loc = obj.local(theta[None], 1.0)
    out = obj._outputs(theta[None], False)
    grads = np.stack([o[0] for o in out[1:]], axis=-1)
    psi = obj.d1(out[0][0])
    n = len(psi)
    meat = np.einsum("n,nk,nl->kl", psi**2, grads, grads) * n / max(n - obj.p, 1)
    h = loc.h_exact[0]
    if not np.all(np.isfinite(h)) or np.any(np.linalg.eigvalsh(h) <= 0):
        return None
    bread = np.linalg.inv(h)
    return bread @ meat @ bread


def coefficient_stderr(s: Setup, theta: np.ndarray, cov: np.ndarray | None) -> dict[str, float | None]:
    """Standard errors of the coefficients (delta method for ln c: se(c) = c se(ln c))."""
    if cov is None:
        return {name: None for name in s.law.names}
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {name: float(math.exp(theta[k]) * se[k] if log else se[k])
            for k, (name, log) in enumerate(zip(s.law.names, s.log_scale))}


# ----------------------------------------------------------------------------- the fit


@dataclass
class LawFit:
    """Everything ``symscale fit --law`` reports."""

    setup: Setup
    values: dict[str, float]
    theta: np.ndarray
    objective: float
    residuals: np.ndarray
    gradient_norm: float
    newton_decrement: float
    search: Search
    on_bound: dict[str, str]
    stderr: dict
    lmfit_stderr: dict
    polish_improved: bool
    delta: float
    n_runs: int
    source: str
    seconds: float = 0.0
    correlations: dict | None = field(default=None, repr=False)

    def summary(self) -> dict:
        """The JSON-ready result."""
        law, res = self.setup.law, self.residuals
        return {
            "law": {"name": law.name, "expression": law.formula},
            "coefficients": dict(self.values),
            "fitted_as": {n: ("log" if s else "linear") for n, s in zip(law.names, self.setup.log_scale)},
            "stderr": self.stderr, "stderr_method": STDERR_METHOD,
            "lmfit_stderr": self.lmfit_stderr, "lmfit_stderr_method": LMFIT_STDERR_METHOD,
            "correlations": self.correlations,
            "on_bound": self.on_bound,
            "objective": self.objective, "delta": self.delta, "n_runs": self.n_runs,
            "objective_function": self.setup.objective,
            "theta": dict(zip(self.setup.names, map(float, self.theta))),
            "residuals": {"min": float(res.min()), "max": float(res.max()), "rms": float(np.sqrt(np.mean(res**2))),
                          "mean_abs": float(np.mean(np.abs(res))),
                          "inside_delta": int(np.sum(np.abs(res) <= self.delta))},
            "convergence": {"gradient_norm": self.gradient_norm, "newton_decrement": self.newton_decrement,
                            "polish_improved": self.polish_improved},
            "starts": {"n": self.search.n_starts, "finite": self.search.n_finite, "refined": self.search.n_refined,
                       "best_basin": self.search.n_best_basin, "converged": self.search.n_converged,
                       **({"searched_runs": self.search.searched_runs} if self.search.searched_runs else {})},
            "seconds": self.seconds,
        }


def _bound_report(s: Setup, theta: np.ndarray, g: np.ndarray) -> dict[str, str]:
    """Coefficients held at a bound of the fitting range at the optimum (name -> description)."""
    fixed = held(s, theta[None], g[None])[0]
    found = {}
    for k in np.flatnonzero(fixed):
        name, value = s.law.names[k], math.exp(theta[k]) if s.log_scale[k] else theta[k]
        side = "lower" if g[k] > 0 else "upper"
        found[name] = f"{name} = {value:.6g} is at its {side} bound"
    return found


def _free_decrement(loc: _Local, free: np.ndarray) -> float:
    """Predicted remaining decrease over the parameters not held at a bound (saddle-free Newton step)."""
    g, h = loc.g[0][free], loc.h_exact[0][np.ix_(free, free)]
    if g.size == 0:
        return 0.0
    size, vec, top = _eigen(h[None])
    step = _damped_step(g[None], size, vec, top, np.zeros(1))[0]
    return float(max(-g @ step, 0.0))


def fit_law(runs: Runs, s: Setup, delta: float = DELTA, use_lmfit: bool = True) -> LawFit:
    """Fit the law of ``s`` to ``runs``: multistart Newton, lmfit polish, convergence check, standard errors."""
    began = time.perf_counter()
    check_delta(delta)
    if len(runs) <= len(s.law.names):
        raise InputError(f"{len(runs)} runs cannot determine the {len(s.law.names)} coefficients of the law "
                         f"{s.law.name}; give more runs")
    obj = Objective(s, runs, delta)
    found = search(obj, runs)
    theta, f_best, improved, lm_cov = found.theta, found.objective, False, None
    if use_lmfit and s.objective == "huber":  # lmfit's loss='huber' is exactly this objective; not the others
        result, candidate = polish(obj, theta)
        f_candidate = float(obj.values(candidate[None], 1.0)[0])
        if f_candidate < f_best:
            theta, f_best, improved = candidate, f_candidate, True
        lm_cov = _lmfit_cov(result, obj.p)
    loc = obj.local(theta[None], 1.0)
    on_bound = _bound_report(s, theta, loc.g[0])
    free = np.array([name not in on_bound for name in s.law.names])
    dec = _free_decrement(loc, free)
    if not (np.isfinite(f_best) and dec <= 1e-8 * f_best + 1e-20):
        raise FitError(f"the fit of the law {s.law.name} did not converge (objective {f_best:.6g}, predicted "
                       f"remaining decrease {dec:.3g}); try other --start values or --bound")
    values = {k: float(v) for k, v in s.to_values(theta).items()}
    _check_domain(s.law, values)
    _check_decreasing(obj, theta)
    cov = None if on_bound else sandwich(obj, theta)
    return LawFit(
        setup=s, values=values, theta=theta, objective=f_best, residuals=obj.residuals(theta[None])[0],
        gradient_norm=float(np.linalg.norm(loc.g[0][free])), newton_decrement=dec, search=found,
        on_bound=on_bound, stderr=coefficient_stderr(s, theta, cov),
        lmfit_stderr=coefficient_stderr(s, theta, None if on_bound else lm_cov), polish_improved=improved,
        delta=delta, n_runs=len(runs),
        source=f"symscale fit of the law {s.law.name} to {len(runs)} runs from {runs.source or 'memory'} "
               + (f"(Huber delta={delta:g})" if s.objective == "huber" else f"({s.objective} objective)"),
        seconds=time.perf_counter() - began, correlations=_correlations(s, cov),
    )


def _correlations(s: Setup, cov: np.ndarray | None) -> dict | None:
    if cov is None:
        return None
    se = np.sqrt(np.diag(cov))
    corr = cov / np.outer(se, se)
    return {p: {q: float(corr[i, j]) for j, q in enumerate(s.names)} for i, p in enumerate(s.names)}


def _check_domain(law: Law, values: dict) -> None:
    """FitError when the optimum leaves a coefficient's domain (the law does not describe the runs there)."""
    for c in law.coefficients:
        if not (c.lower < values[c.name] < c.upper) or not math.isfinite(values[c.name]):
            raise FitError(f"the best fit has {c.name} = {values[c.name]:.6g}, outside its domain "
                           f"({c.lower:g}, {c.upper:g}) in the law {law.name}; the law does not describe these runs")


def _check_decreasing(obj: Objective, theta: np.ndarray) -> None:
    """FitError when the fitted law rises with N or with D at one of the runs (it would not describe them)."""
    n, d, _ = obj.data
    with np.errstate(all="ignore"):
        a_n, a_d = (np.broadcast_to(a, n.shape) for a in obj.kernels.elasticities(*theta, n, d))
    for label, a in (("N", a_n), ("D", a_d)):
        bad = ~(np.isfinite(a) & (a > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FitError(f"the best fit of the law {obj.setup.law.name} does not decrease in {label} at the run "
                           f"N = {n[i]:.4g}, D = {d[i]:.4g} (-d ln L/d ln {label} = {float(a[i]):.3g}), so it does not "
                           "describe these runs as a scaling law")


# ----------------------------------------------------------------------------- bootstrap


@dataclass
class LawBootstrap:
    """Bootstrap replicates of a law's coefficients and their summaries."""

    samples: dict[str, np.ndarray]
    converged: np.ndarray
    n: int
    seed: int | None
    stderr: dict[str, float]
    ci95: dict[str, list[float]]

    @property
    def over(self) -> str:
        """Which replicates the summaries use: the converged ones, or all when fewer than two converged."""
        return "converged" if self.converged.sum() >= 2 else "all"

    def summary(self) -> dict:
        over = ("the converged replicates" if self.over == "converged"
                else "all replicates, since fewer than two converged")
        return {
            "n": self.n, "n_converged": int(self.converged.sum()), "seed": self.seed,
            "stderr": self.stderr, "ci95": self.ci95, "summarised_over": self.over,
            "method": "runs resampled with replacement (the Chinchilla fit's draws for the same seed); each "
                      f"replicate refit by batched Newton from the best point (at most {MAX_ITER} steps), chunks "
                      f"spread over every core; standard errors and percentile intervals over {over}; the --output "
                      "file marks the replicates that did not converge, and commands reading it leave them out",
        }


def bootstrap_law(runs: Runs, fitted: LawFit, n: int, seed: int | None = None,
                  progress: Callable[[int], None] | None = None, chunk: int = 100,
                  workers: int | None = None) -> LawBootstrap:
    """Resample runs n times with replacement and refit each from the best point (same draws as
    symscale.solvers.fit)."""
    check_bootstrap(n, len(runs), seed)
    rng = np.random.default_rng(seed)
    size = len(runs)
    counts = rng.multinomial(size, np.full(size, 1.0 / size), size=n).astype(float)
    tasks = [(fitted.setup, runs, fitted.delta, fitted.theta, counts[b : b + chunk]) for b in range(0, n, chunk)]
    thetas, flags = [], []
    for theta, ok in parallel_map(_refit_chunk, tasks, workers):
        thetas.append(theta)
        flags.append(ok)
        if progress:
            progress(len(theta))
    th, converged = np.concatenate(thetas), np.concatenate(flags).astype(bool)
    samples = fitted.setup.to_values(th)
    use = converged if converged.sum() >= 2 else np.ones_like(converged)
    stderr = {k: float(np.std(v[use], ddof=1)) for k, v in samples.items()}
    ci95 = {k: [float(q) for q in np.percentile(v[use], [2.5, 97.5])] for k, v in samples.items()}
    return LawBootstrap(samples, converged, n, seed, stderr, ci95)


def _refit_chunk(args: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Refit one chunk of bootstrap weightings from the best point (runs in a worker process)."""
    s, runs, delta, theta, weights = args
    obj = Objective(s, runs, delta)
    result = newton(obj, np.tile(np.asarray(theta, float), (len(weights), 1)), weights=weights)
    return result.theta, result.converged & np.isfinite(result.objective)
